"""The `curate` commands on plain files (the Interfaces table of DESIGN.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import polars as pl

CURATE = str(Path(sys.executable).parent / "curate")


def run(args, stdin: str | None = None):
    return subprocess.run([CURATE, *args], input=stdin, capture_output=True, text=True, timeout=300)


def test_langid_reads_stdin_lines(flores):
    lines = [flores("ind_Latn")[0], flores("tha_Thai")[0], flores("vie_Latn")[0], "!!! 123", ""]
    out = run(["langid"], "\n".join(lines) + "\n")
    assert out.returncode == 0, out.stderr
    rows = [r.split("\t") for r in out.stdout.splitlines()]
    assert len(rows) == 5
    assert [r[0] for r in rows] == ["ind_Latn", "tha_Thai", "vie_Latn", "und", "und"]
    assert 0.5 < float(rows[0][1]) <= 1.0


def test_label_and_dedup_on_jsonl(tmp_path, flores):
    lines = flores("tgl_Latn")
    recs = [{"id": f"t{i}", "text": "\n".join(lines[i * 8 : i * 8 + 8])} for i in range(10)]
    recs.append({"id": "dup", "text": recs[0]["text"]})
    recs.append({"id": "short", "text": lines[200]})
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in recs) + "\n{broken\n", encoding="utf-8")

    out = run(["label", str(src), str(tmp_path / "labelled.parquet")])
    assert out.returncode == 0, out.stderr
    assert f"{src}:13" in out.stderr  # the bad line is named
    df = pl.read_parquet(tmp_path / "labelled.parquet")
    assert df["id"].to_list() == [r["id"] for r in recs]
    assert {"lang", "lang_score", "script", "signals", "keep", "drop_reason"} <= set(df.columns)
    assert df.filter(pl.col("id") == "short")["drop_reason"][0] == "min_words"
    assert df.filter(pl.col("id") != "short")["keep"].all()
    assert set(df["lang"]) == {"tgl_Latn"}

    out = run(["dedup", str(src), str(tmp_path / "dedup.parquet")])
    assert out.returncode == 0, out.stderr
    d = pl.read_parquet(tmp_path / "dedup.parquet")
    assert d.columns[:4] == ["id", "cluster_id", "dup_count", "keep"]
    pair = d.filter(pl.col("id").is_in(["t0", "dup"]))
    assert pair["cluster_id"].n_unique() == 1 and pair["dup_count"].to_list() == [2, 2] and pair["keep"].sum() == 1
    assert d["keep"].sum() == len(recs) - 1

    strict = run(["dedup", "--strict", str(src), str(tmp_path / "x.parquet")])
    assert strict.returncode != 0 and f"{src}:13" in strict.stderr


def test_missing_input_is_a_clear_error(tmp_path):
    out = run(["label", str(tmp_path / "nope.jsonl"), str(tmp_path / "o.parquet")])
    assert out.returncode == 2 and "nope.jsonl" in out.stderr


def test_train_quality_from_labelled_parquet(tmp_path, flores):
    """`curate label` then `curate train-quality` with the heuristic teacher (no LLM here;
    the judges are tested against the real server in tests/engine/test_quality_model.py)."""
    from tests.engine.test_quality_model import corpus

    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(json.dumps({"id": r["id"], "text": r["text"]}, ensure_ascii=False) for r in corpus(flores, 30).iter_rows(named=True)) + "\n",
                   encoding="utf-8")
    assert run(["label", str(src), str(tmp_path / "lab.parquet")]).returncode == 0
    out = run(["train-quality", str(tmp_path / "lab.parquet"), "--out", str(tmp_path / "q"), "--teacher", "heuristic", "--per-language", "60"])
    assert out.returncode == 0, out.stderr
    assert "teacher: heuristic" in out.stdout and "applied by the label stage (apply: auto): no" in out.stdout
    meta = json.loads((tmp_path / "q" / "model.json").read_text())
    assert meta["classifier"]["accuracy"] >= 0.8 and meta["labelled"] >= 200
    bad = run(["train-quality", str(tmp_path / "nope.parquet"), "--out", str(tmp_path / "q2")])
    assert bad.returncode != 0 and "nope.parquet" in bad.stderr


def test_init_then_export_a_release_that_datasets_loads(tmp_path, flores):
    """`curate init` makes a data root; a release built in it exports to a folder that
    Hugging Face `datasets` loads per language, offline."""
    import os

    from curation_platform.pipeline import construct_corpus, dedup_corpus, label_shard, parse_shard, standardize_shard
    from curation_platform.settings import load_config
    from curation_platform.storage import Layout

    root = tmp_path / "root"
    out = run(["init", "--data-root", str(root)])
    assert out.returncode == 0, out.stderr
    assert (root / "dagster_home" / "dagster.yaml").is_file() and (root / "config.yaml").is_file()
    assert all((root / "inbox" / c).is_dir() for c in ("web_crawl", "parallel", "business"))
    assert "dagster dev" in out.stdout

    layout, cfg = Layout(root), load_config()
    src = tmp_path / "s.jsonl"
    recs = [{"url": f"https://x.example/{lang}/{i}", "text": " ".join(flores(lang)[i * 6 : i * 6 + 6])} for lang in ("jav_Latn", "tgl_Latn") for i in range(12)]
    src.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in recs) + "\n", encoding="utf-8")
    added = run(["add", str(src), "--data-root", str(root)])
    assert added.returncode == 0 and (layout.inbox() / "s.jsonl").read_bytes() == src.read_bytes()
    assert not [f for f in layout.inbox().iterdir() if f.name.startswith(".")]
    assert run(["add", str(tmp_path / "nope.jsonl"), "--data-root", str(root)]).returncode == 2
    src = layout.inbox() / "s.jsonl"
    p, s, lab = (layout.stage_file("web_crawl", st, "s") for st in ("parsed", "standardized", "labelled"))
    parse_shard(src, p, layout.quarantine("web_crawl") / "s.parquet")
    standardize_shard(p, s, cfg)
    label_shard(s, lab, cfg)
    dedup_corpus([lab], layout.dedup_file(), cfg)
    manifest, _ = construct_corpus([lab], layout.dedup_file(), layout.release_dir(), cfg)

    out = run(["export", "--data-root", str(root), "--out", str(tmp_path / "hf")])
    assert out.returncode == 0, out.stderr
    again = run(["export", "--data-root", str(root), "--out", str(tmp_path / "hf")])
    assert again.returncode == 2 and "not empty" in again.stderr
    missing = run(["export", "--data-root", str(tmp_path / "nothing"), "--out", str(tmp_path / "hf2")])
    assert missing.returncode == 2 and "no release or mixture folder" in missing.stderr

    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import datasets

    for lang in ("jav_Latn", "tgl_Latn"):
        ds = datasets.load_dataset(str(tmp_path / "hf"), lang, cache_dir=str(tmp_path / "hf_cache"))
        assert ds["train"].num_rows == manifest["languages"][lang]["docs"] >= 10
        assert set(ds["train"]["lang"]) == {lang}


def test_plan_languages_from_the_console_script(tmp_path):
    """Runs as the installed console script: lang2vec's own `lang2vec.py` script sits in
    the same bin folder and must not shadow its data."""
    out = run(["plan-languages", "--targets", "ace,jv,lo,shn", "--candidates", "en,id,th,jv,km", "--k", "2", "--out", str(tmp_path / "p.json"), "--json"])
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout.splitlines()[-1])
    assert len(summary["selected"]) == 2 and "tha_Thai" in summary["selected"]  # covers lao and shan
    assert summary["pivots"]["lao_Laoo"] == "tha_Thai"
    assert json.loads((tmp_path / "p.json").read_text())["targets"] == ["ace_Latn", "jav_Latn", "lao_Laoo", "shn_Mymr"]
    bad = run(["plan-languages", "--targets", "xx1", "--candidates", "en"])
    assert bad.returncode == 2 and "unknown language code 'xx1'" in bad.stderr


def test_workers_do_not_change_the_output(tmp_path, flores):
    """`curate label`, `dedup` and `bitext` stream batches over worker processes: 1 and 2
    workers write the same file, byte for byte (small batches so that 2 workers are used)."""
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("label: {batch: 120}\ndedup: {batch: 120}\nbitext: {batch: 120}\n", encoding="utf-8")
    recs = []
    for code in ("ind_Latn", "khm_Khmr", "tgl_Latn"):
        lines = flores(code)
        recs += [{"id": f"{code}-{i}", "text": " ".join(lines[i * 3 : i * 3 + 3])} for i in range(100)]
    recs += [{"id": f"copy-{i}", "text": recs[i * 7]["text"]} for i in range(20)]
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in recs) + "\n", encoding="utf-8")
    eng, ind = flores("eng_Latn"), flores("ind_Latn")
    tsv = tmp_path / "pairs.tsv"
    tsv.write_text("\n".join(f"{e}\t{i}" for e, i in zip(eng[:300], ind[:300])) + "\n", encoding="utf-8")
    for cmd, extra in (("label", []), ("dedup", []), ("bitext", ["--src", "eng", "--tgt", "ind"])):
        inp = tsv if cmd == "bitext" else src
        outs = []
        for w in (1, 2):
            out = tmp_path / f"{cmd}-{w}.parquet"
            res = run(["--config", str(cfg), cmd, str(inp), str(out), "--workers", str(w), *extra])
            assert res.returncode == 0, res.stderr
            outs.append(out.read_bytes())
        assert outs[0] == outs[1], cmd
    d = pl.read_parquet(tmp_path / "dedup-2.parquet")
    assert d.height == len(recs) and d["keep"].sum() == len(recs) - 20
    lab = pl.read_parquet(tmp_path / "label-2.parquet")
    assert lab["id"].to_list() == [r["id"] for r in recs] and lab["keep"].sum() > 250


def test_bitext_streams_names_bad_lines_and_writes_nothing_on_a_fatal_one(tmp_path, flores):
    """`curate bitext` (rules only) streams its TSV: a bad line is named and skipped, or fatal
    with --strict; a line that is not UTF-8 stops it naming the line; a stopped run leaves no
    output file (the parquet is published only when the whole input was read)."""
    eng, ind = flores("eng_Latn"), flores("ind_Latn")
    lines = [f"{e}\t{i}" for e, i in zip(eng[:200], ind[:200])]
    lines[50] = "no tab on this line"
    tsv = tmp_path / "pairs.tsv"
    tsv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("bitext: {batch: 64}\n", encoding="utf-8")
    out = tmp_path / "out.parquet"
    ok = run(["--config", str(cfg), "bitext", str(tsv), str(out), "--src", "eng", "--tgt", "ind", "--workers", "1"])
    assert ok.returncode == 0, ok.stderr
    assert f"skipped {tsv} [line 51]: expected src<TAB>tgt" in ok.stderr and "199 pairs" in ok.stderr
    got = pl.read_parquet(out)
    assert got.height == 199 and 51 not in got["line"].to_list() and got["line"].to_list()[:3] == [1, 2, 3]
    assert got["src_text"][0] == eng[0] and got["keep"].sum() > 150
    for args, bad, message in ((["--strict"], None, f"{tmp_path / 'in.tsv'} [line 51]"), ([], b"caf\xe9\tkafe\n", "line 201 is not UTF-8")):
        path = tmp_path / "in.tsv"
        path.write_bytes(tsv.read_bytes() + (bad or b""))
        dest = tmp_path / "stopped.parquet"
        res = run(["--config", str(cfg), "bitext", str(path), str(dest), "--src", "eng", "--tgt", "ind", "--workers", "2", *args])
        assert res.returncode != 0 and message in res.stderr, res.stderr
        assert not dest.exists() and not list(tmp_path.glob(".stopped*"))
