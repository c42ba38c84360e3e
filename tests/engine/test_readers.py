"""Parse: real Common Crawl WARC/WET samples, and bad input named by file and record."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import polars as pl

from curation_platform.pipeline import parse_shard
from curation_platform.readers import read_shard
from curation_platform.records import Document, ParseIssue


def _split(items):
    docs = [i for i in items if isinstance(i, Document)]
    issues = [i for i in items if isinstance(i, ParseIssue)]
    return docs, issues


def test_common_crawl_warc_gives_documents_with_text_url_and_provenance(data_dir):
    docs, issues = _split(list(read_shard(data_dir / "warc/resiliparse/warcfile.warc.gz", license="CC-TOU")))
    assert issues == []
    assert len(docs) == 16  # 16 HTTP responses in the sample, all HTML
    assert all(d.locator.startswith("http") for d in docs)
    assert all(len(d.text) > 20 for d in docs)
    assert all(d.fetched_at and d.fetched_at.startswith("2020-08-08") for d in docs)
    assert {d.license for d in docs} == {"CC-TOU"}
    # Pages declared windows-1251 / GBK were decoded with their charset, not as UTF-8.
    encs = {d.encoding for d in docs}
    assert "cp1251" in encs and encs & {"gbk", "gb2312", "gb18030"}
    ru = next(d for d in docs if d.encoding == "cp1251")
    assert sum("\u0400" <= c <= "\u04ff" for c in ru.text) > 100
    # Ids are stable hashes of (source, locator): a second read gives the same ids.
    again, _ = _split(list(read_shard(data_dir / "warc/resiliparse/warcfile.warc.gz")))
    assert [d.id for d in docs] == [d.id for d in again]


def test_plain_gzip_warc_parity(data_dir):
    gz, _ = _split(list(read_shard(data_dir / "warc/resiliparse/warcfile.warc.gz")))
    plain, _ = _split(list(read_shard(data_dir / "warc/resiliparse/warcfile.warc")))
    assert [(d.locator, d.text) for d in gz] == [(d.locator, d.text) for d in plain]


def test_wet_and_warc_of_the_same_capture_agree(data_dir):
    wet, issues = _split(list(read_shard(data_dir / "warc/whirlwind/whirlwind.warc.wet.gz")))
    warc, _ = _split(list(read_shard(data_dir / "warc/whirlwind/whirlwind.warc.gz")))
    assert issues == [] and len(wet) == 1 and len(warc) == 1
    assert wet[0].locator == warc[0].locator == "https://an.wikipedia.org/wiki/Escopete"
    assert wet[0].lang_hint == "spa"  # WARC-Identified-Content-Language kept as a hint
    # Our main-content extraction keeps the article: most of its words are in CC's WET text.
    ours = set(warc[0].text.lower().split())
    theirs = set(wet[0].text.lower().split())
    assert len(ours & theirs) / len(ours) > 0.6


def test_clueweb_quirks_old_warc_version_parses(data_dir):
    docs, _ = _split(list(read_shard(data_dir / "warc/resiliparse/clueweb-quirk.warc.gz")))
    assert len(docs) >= 20
    assert sum(any("\u3040" <= c <= "\u30ff" or "\u4e00" <= c <= "\u9fff" for c in d.text) for d in docs) >= 10


def test_truncated_gzip_warc_keeps_good_records_and_names_the_break(data_dir, tmp_path):
    src = (data_dir / "warc/resiliparse/warcfile.warc.gz").read_bytes()
    bad = tmp_path / "cut.warc.gz"
    bad.write_bytes(src[:70000])
    docs, issues = _split(list(read_shard(bad)))
    assert len(docs) == 7
    assert len(issues) == 1
    assert "cut.warc.gz" in str(issues[0]) and "truncated gzip" in issues[0].error and "after record #7" in issues[0].record


def test_clipped_record_is_reported_with_its_record_id(data_dir):
    docs, issues = _split(list(read_shard(data_dir / "warc/resiliparse/clipped.warc.gz")))
    assert docs == []
    assert issues and issues[0].record.startswith("<urn:uuid:") and "truncated record" in issues[0].error


def test_empty_binary_and_unknown_files(tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    binary = tmp_path / "image.jsonl"
    binary.write_bytes(bytes(range(256)) * 40)
    notwarc = tmp_path / "fake.warc"
    notwarc.write_text("hello\n")
    other = tmp_path / "notes.pdf"
    other.write_bytes(b"%PDF-1.4")
    for path, words in [(empty, "empty file"), (binary, "binary content"), (notwarc, "not a WARC"), (other, "unsupported file type")]:
        docs, issues = _split(list(read_shard(path)))
        assert docs == [] and len(issues) == 1
        assert str(path) in str(issues[0]) and words in issues[0].error


def test_jsonl_malformed_line_is_named_and_the_rest_is_read(tmp_path):
    p = tmp_path / "shard.jsonl.gz"
    lines = [json.dumps({"url": f"https://x.example/{i}", "text": f"document number {i}"}) for i in range(5)]
    lines.insert(2, '{"url": "https://broken", "text": ')
    lines.insert(4, json.dumps({"url": "https://no-text"}))
    lines.insert(5, "[1, 2]")
    with gzip.open(p, "wt", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
    docs, issues = _split(list(read_shard(p)))
    assert [d.locator for d in docs] == [f"https://x.example/{i}" for i in range(5)]
    assert [i.record for i in issues] == ["line 3", "line 5", "line 6"]
    assert "malformed JSON" in issues[0].error and "no string field 'text'" in issues[1].error and "JSON object" in issues[2].error


def test_parse_shard_writes_documents_and_quarantine_atomically(data_dir, tmp_path):
    src = (data_dir / "warc/resiliparse/warcfile.warc.gz").read_bytes()
    bad = tmp_path / "cut.warc.gz"
    bad.write_bytes(src[:70000])
    out, quarantine = tmp_path / "out" / "cut.parquet", tmp_path / "q" / "cut.parquet"
    stats = parse_shard(bad, out, quarantine)
    assert stats["docs"] == 7 and stats["issues"] == 1
    assert pl.read_parquet(out).height == 7
    q = pl.read_parquet(quarantine)
    assert q.height == 1 and q["file"][0].endswith("cut.warc.gz")
    assert not [f for f in os.listdir(out.parent) if f.endswith(".tmp")]
    first = out.read_bytes()
    parse_shard(bad, out, quarantine)
    assert out.read_bytes() == first  # rerun: byte-identical output
    assert Path(out).stat().st_size > 0
