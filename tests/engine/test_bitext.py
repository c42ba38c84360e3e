"""Parallel corpora on real pairs: readers, pair rules and planted noise (no Dagster)."""

from __future__ import annotations

import gzip
import zipfile

import polars as pl
import pytest

from curation_platform.bitext import dedup_pairs, label_bitext_frame, parse_bitext_file
from curation_platform.bitext.noise import plant_noise, score_filter
from curation_platform.bitext.readers import BitextError, pair_from_name, read_bitext
from curation_platform.label import identifier_from_config
from curation_platform.settings import load_config

CFG = load_config()


@pytest.fixture(scope="module")
def ident():
    return identifier_from_config(CFG)


def _tsv_pairs(data_dir, rel: str, n: int | None = None) -> list[tuple[str, str]]:
    rows = [ln.split("\t") for ln in (data_dir / "parallel" / rel).read_text("utf-8").splitlines()]
    return [(r[0], r[1]) for r in rows if len(r) >= 2][:n]


def test_shared_tsv_corpora_parse_with_flores_pairs(data_dir):
    seen = {}
    for path in sorted((data_dir / "parallel").glob("*/*.tsv")):
        if path.name in ("DOCUMENT_IDS.tsv", "LANGUAGES.tsv"):
            continue
        c = read_bitext(path)
        assert c.pairs and not c.issues, path
        seen[path.name] = (c.pairs[0]["src_lang"], c.pairs[0]["tgt_lang"], len(c.pairs))
    assert seen["eng-jav.v2021-08-07.tsv"] == ("eng_Latn", "jav_Latn", 262)
    assert seen["en-km.tsv"][:2] == ("eng_Latn", "khm_Khmr") and seen["eng-fil.tsv"][:2] == ("eng_Latn", "tgl_Latn")
    assert seen["eng-msa.tsv"][:2] == ("eng_Latn", "zsm_Latn") and seen["ceb-eng.v2021-08-07.tsv"][:2] == ("ceb_Latn", "eng_Latn")
    assert pair_from_name("corpus.en-id.en") == ("eng_Latn", "ind_Latn")


def test_moses_gz_tmx_and_opus_zip(data_dir, tmp_path):
    pairs = _tsv_pairs(data_dir, "tico19/en-id.tsv", 50)
    for lang, idx in (("en", 0), ("id", 1)):
        with gzip.open(tmp_path / f"tico.en-id.{lang}.gz", "wt", encoding="utf-8") as fh:
            fh.write("\n".join(p[idx] for p in pairs) + "\n")
    moses = read_bitext(tmp_path / "tico.en-id.en.gz")
    assert len(moses.pairs) == 50 and moses.pairs[3]["tgt_text"] == pairs[3][1] and moses.pairs[0]["tgt_lang"] == "ind_Latn"
    # misaligned Moses files: a clear error naming both files and counts
    (tmp_path / "bad.en-id.en").write_text("a\nb\nc\n")
    (tmp_path / "bad.en-id.id").write_text("a\nb\n")
    with pytest.raises(BitextError, match=r"bad\.en-id\.en has 3 lines.*bad\.en-id\.id has 2"):
        read_bitext(tmp_path / "bad.en-id.en")
    # TMX, and a broken TMX keeps the units before the break and names the line
    tus = "".join(f'<tu><tuv xml:lang="en"><seg>{s}</seg></tuv><tuv xml:lang="id"><seg>{t}</seg></tuv></tu>\n' for s, t in pairs[:10])
    (tmp_path / "x.tmx").write_text(f'<?xml version="1.0"?><tmx version="1.4"><body>\n{tus}</body></tmx>', encoding="utf-8")
    tmx = read_bitext(tmp_path / "x.tmx")
    assert len(tmx.pairs) == 10 and tmx.pairs[0]["src_lang"] == "eng_Latn" and not tmx.issues
    (tmp_path / "broken.tmx").write_text(f'<?xml version="1.0"?><tmx><body>\n{tus}<tu><tuv xml:lang="en"><seg>oops</tuv>', encoding="utf-8")
    broken = read_bitext(tmp_path / "broken.tmx")
    assert len(broken.pairs) == 10 and "broken XML" in broken.issues[0].error and broken.issues[0].record.startswith("line ")
    # OPUS-style zip: README/LICENSE kept as provenance, licence on every pair
    with zipfile.ZipFile(tmp_path / "TICO.en-id.zip", "w") as zf:
        zf.writestr("README", "TICO-19 test data")
        zf.writestr("LICENSE", "CC0 1.0\nfull text ...")
        zf.writestr("TICO.en-id.en", "\n".join(p[0] for p in pairs) + "\n")
        zf.writestr("TICO.en-id.id", "\n".join(p[1] for p in pairs) + "\n")
    z = read_bitext(tmp_path / "TICO.en-id.zip")
    assert len(z.pairs) == 50 and set(z.provenance) == {"README", "LICENSE"} and z.pairs[0]["license"] == "CC0 1.0"
    stats = parse_bitext_file(tmp_path / "TICO.en-id.zip", tmp_path / "o.parquet", tmp_path / "q.parquet", tmp_path / "prov")
    assert stats["pairs"] == 50 and (tmp_path / "prov" / "LICENSE").read_text().startswith("CC0")


def test_rules_on_planted_noise_ntrex(data_dir, ident):
    """Rules alone (no embeddings): everything but misalignment is caught."""
    pairs = _tsv_pairs(data_dir, "ntrex128/eng-ind.tsv", 600)
    foreign = (data_dir / "flores200/devtest/vie_Latn.devtest").read_text("utf-8").splitlines()
    rows = plant_noise(pairs, foreign, rate=0.3)
    df = pl.DataFrame({"src_text": [r["src"] for r in rows], "tgt_text": [r["tgt"] for r in rows],
                       "src_lang": ["eng_Latn"] * len(rows), "tgt_lang": ["ind_Latn"] * len(rows)})
    out = label_bitext_frame(df, CFG, ident)
    res = score_filter(rows, out["keep"].to_list())
    print("\nrules only, NTREX eng-ind:", res)
    for t in ("swapped", "untranslated", "digit_mismatch", "wrong_language"):
        assert res["noise"][t]["recall"] >= 0.9, t
    assert res["noise"]["truncated"]["recall"] >= 0.85
    assert res["clean_keep"] >= 0.95
    assert out["sim"].null_count() == out.height  # no endpoint: similarity is missing, not faked
    assert out.filter(pl.Series([r["noise"] == "untranslated" for r in rows]))["drop_reason"].is_in(["max_copy_similarity", "tgt_lang_mismatch"]).all()


def test_pair_dedup_exact_near_and_one_to_many():
    src = ["The market opens at 7 in the morning.", "The market opens at 7 in the morning.", "The market opens at 7 in the morning!",
           "Rice prices rose again this week.", "Rice prices rose again this week.", "Rice prices rose again this week.", "Rice prices rose again this week."]
    tgt = ["Pasar buka jam 7 pagi.", "Pasar buka jam 7 pagi.", "Pasar buka jam 7 pagi!",
           "Harga beras naik lagi minggu ini.", "Harga beras kembali naik pekan ini.", "Minggu ini harga beras naik lagi.", "Beras makin mahal minggu ini."]
    df = pl.DataFrame({"pair_id": [f"p{i}" for i in range(7)], "src_text": src, "tgt_text": tgt})
    out, stats = dedup_pairs(df, {**CFG, "bitext": {"dedup": {"max_targets_per_source": 3, "max_sources_per_target": 3}}})
    reasons = dict(zip(out["pair_id"].to_list(), out["dedup_reason"].to_list()))
    assert reasons["p0"] is None and reasons["p1"] == "exact_pair" and reasons["p2"] == "exact_pair"  # punctuation-only change
    assert reasons["p6"] == "one_to_many" and [reasons[f"p{i}"] for i in (3, 4, 5)] == [None, None, None]


def test_numbers_spelled_out_or_as_months_are_not_a_mismatch():
    from curation_platform.bitext.filters import pair_signals

    def mismatch(src: str, tgt: str) -> float:
        return pair_signals(src, tgt, "eng_Latn", "ind_Latn")["digit_mismatch"]

    assert mismatch("for ten years", "selama 10 tahun") == 0.0
    assert mismatch("In June, 650 pigs", "Pada bulan 6, 650 babi") == 0.0
    assert mismatch("It costs 1,250 dollars", "Harganya 1.250 dolar") == 0.0
    assert mismatch("a 650 pound pig", "babi 651 pon") == 1.0
    assert mismatch("a pig", "babi 2024 pon") == 1.0


def test_margin_threshold_is_calibrated_per_pair_and_off_where_margins_do_not_separate():
    """The corpus's own shifted-target negatives set the threshold; an encoder that does not
    know a language (aligned vectors no closer than random ones) switches the rule off."""
    import numpy as np

    from curation_platform.bitext import calibrate_margin
    from curation_platform.embeddings import margin_scores

    rng = np.random.default_rng(0)
    unit = lambda m: m / np.linalg.norm(m, axis=1, keepdims=True)  # noqa: E731
    s = unit(rng.normal(size=(300, 32)))
    known = unit(s + 0.3 * rng.normal(size=s.shape))
    unknown = unit(rng.normal(size=s.shape))
    on = calibrate_margin(s, known, margin_scores(s, known)[1])
    off = calibrate_margin(s, unknown, margin_scores(s, unknown)[1])
    assert on["on"] and on["auc"] > 0.95 and on["threshold"] is not None
    assert (margin_scores(s, known)[1] >= on["threshold"]).mean() >= 0.9  # clean pairs pass the calibrated threshold
    assert not off["on"] and off["auc"] < 0.65 and "do not separate" in off["why"]
    assert not calibrate_margin(s[:20], known[:20], margin_scores(s[:20], known[:20])[1])["on"]  # too few pairs to calibrate


def test_streamed_tsv_reads_what_the_whole_file_read_gives(tmp_path, flores):
    """`iter_tsv` (what `curate bitext` streams) yields the pairs and issues of `read_tsv`, in
    file order: blank lines, CRLF endings, a line without a tab, a bad score, gzip; a line
    that is not UTF-8 stops it naming that line, after the lines before it."""
    from curation_platform.bitext.readers import iter_tsv, read_tsv
    from curation_platform.records import ParseIssue

    eng, ind = flores("eng_Latn"), flores("ind_Latn")
    lines = [f"{e}\t{i}" for e, i in zip(eng[:40], ind[:40])]
    lines[3], lines[7], lines[9] = "no tab", f"{eng[7]}\t{ind[7]}\tnot-a-number", ""
    lines[11], lines[13] = f"{eng[11]}\t{ind[11]}\t0.75\r", f"{eng[13]}\t{ind[13]}\r"
    body = "\n".join(lines) + "\n\n"
    for name, write in (("p.tsv", lambda p: p.write_text(body, "utf-8")), ("p.tsv.gz", lambda p: p.write_bytes(gzip.compress(body.encode())))):
        path = tmp_path / name
        write(path)
        whole = read_tsv(path, "eng_Latn", "ind_Latn")
        streamed = list(iter_tsv(path, "eng_Latn", "ind_Latn"))
        assert [g for g in streamed if not isinstance(g, ParseIssue)] == whole.pairs and len(whole.pairs) == 37
        assert [str(g) for g in streamed if isinstance(g, ParseIssue)] == [str(i) for i in whole.issues] and len(whole.issues) == 2
        assert whole.pairs[8]["score"] == 0.75 and whole.pairs[10]["tgt_text"].endswith("\r")  # as the whole-file read kept it
    bad = tmp_path / "bad.tsv"
    bad.write_bytes(body.encode() + b"caf\xe9\tkafe\n")
    got = []
    with pytest.raises(BitextError, match=r"bad.tsv: line 42 is not UTF-8"):
        for g in iter_tsv(bad, "eng_Latn", "ind_Latn"):
            got.append(g)
    assert len(got) == 39


def test_bitext_batches_label_as_the_whole_frame(ident, flores):
    """The streamed rules (`label_bitext_batches`, any batch size, 1 or 2 workers) give the rows
    the whole-corpus labelling gives."""
    from curation_platform.bitext import label_bitext_batches
    from curation_platform.bitext.readers import BitextCorpus, _pair

    eng, ind, jav = flores("eng_Latn"), flores("ind_Latn"), flores("jav_Latn")
    pairs = [_pair("t.tsv", i, "eng_Latn", "ind_Latn", eng[i], (jav if i % 9 == 0 else ind)[(i + (i % 13 == 0)) % len(ind)], None, None)
             for i in range(300)]
    df = BitextCorpus(pairs=pairs).frame()
    whole = label_bitext_frame(df, CFG, ident)
    assert 0 < int((~whole["keep"]).sum()) < 300
    for size, workers in ((300, 1), (37, 1), (64, 2)):
        parts = list(label_bitext_batches((df.slice(i, size) for i in range(0, df.height, size)), CFG, ident, workers))
        assert pl.concat(parts).equals(whole), (size, workers)
