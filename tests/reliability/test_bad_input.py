"""Bad input that the per-stage tests do not cover: a 10 MB single-line document, a WARC
record with broken headers and a legacy-encoded page without any charset declaration, in
one shard with ordinary documents. Each is handled (dropped with a named rule, reported
with file and record, or decoded) and the rest of the shard goes through the spine."""

from __future__ import annotations

import json

import polars as pl

from curation_platform.pipeline import label_shard, parse_shard, standardize_shard
from curation_platform.settings import load_config


def test_huge_single_line_document_is_labelled_and_dropped_by_name(tmp_path, flores):
    lines = flores("ind_Latn")
    huge = " ".join(lines * 80)[: 10_000_000]
    assert len(huge.encode()) >= 9_900_000 and "\n" not in huge
    src = tmp_path / "big.jsonl"
    recs = [{"url": "https://x.example/huge", "text": huge}] + [{"url": f"https://x.example/{i}", "text": " ".join(lines[i * 5 : i * 5 + 5])} for i in range(10)]
    src.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in recs) + "\n", encoding="utf-8")
    cfg = load_config()
    parse_shard(src, tmp_path / "p.parquet", tmp_path / "q.parquet")
    standardize_shard(tmp_path / "p.parquet", tmp_path / "s.parquet", cfg)
    stats = label_shard(tmp_path / "s.parquet", tmp_path / "l.parquet", cfg)
    df = pl.read_parquet(tmp_path / "l.parquet")
    assert stats["docs"] == 11
    big = df.filter(pl.col("locator") == "https://x.example/huge")
    assert big["drop_reason"][0] == "max_words" and big["lang"][0] == "ind_Latn"
    assert big["signals"].struct.field("n_words")[0] > 1_000_000
    assert df.filter(pl.col("locator") != "https://x.example/huge")["keep"].sum() >= 9


def _warc_record(headers: str, body: bytes) -> bytes:
    return headers.encode() + b"\r\n" + body + b"\r\n\r\n"


def test_broken_headers_and_undeclared_legacy_encoding(tmp_path, data_dir):
    """A record whose Content-Length is not a number is reported with its position; a
    Thai page in TIS-620 with no charset anywhere is decoded to the right text."""
    thai = (data_dir / "flores200" / "devtest" / "tha_Thai.devtest").read_text("utf-8").splitlines()[:6]
    html = ("<html><body><p>" + "</p><p>".join(thai) + "</p></body></html>").encode("cp874")
    http = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n" + html
    good = _warc_record(f"WARC/1.0\r\nWARC-Type: response\r\nWARC-Target-URI: https://th.example/\r\nWARC-Record-ID: <urn:uuid:1>\r\n"
                        f"WARC-Date: 2024-01-01T00:00:00Z\r\nContent-Type: application/http; msgtype=response\r\nContent-Length: {len(http)}\r\n", http)
    broken = _warc_record("WARC/1.0\r\nWARC-Type: response\r\nWARC-Target-URI: https://bad.example/\r\nContent-Length: lots\r\n", b"xx")
    path = tmp_path / "mixed.warc"
    path.write_bytes(good + broken)
    stats = parse_shard(path, tmp_path / "p.parquet", tmp_path / "q.parquet")
    cfg = load_config()
    standardize_shard(tmp_path / "p.parquet", tmp_path / "s.parquet", cfg)
    docs = pl.read_parquet(tmp_path / "s.parquet")
    assert docs.height == 1 and thai[0][:20] in docs["text"][0]
    q = pl.read_parquet(tmp_path / "q.parquet")
    assert stats["issues"] == q.height == 2 and q["file"].str.ends_with("mixed.warc").all()
    assert q["record"].to_list() == ["record#2", "after record #2"]
    assert "without parseable HTTP headers" in q["error"][0] and "framing error" in q["error"][1]
