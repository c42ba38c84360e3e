"""The label stage as taggers + a compiled policy: a tagger of your own through config
alone, the policy's first failing rule on whole frames, and the same output for any
number of workers."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from curation_platform import taggers
from curation_platform.label import LabelStage, identifier_from_config, label_frame, reapply_policy
from curation_platform.pipeline import construct_corpus, dedup_corpus, label_shard
from curation_platform.policy import apply_policy, decide, rule_table
from curation_platform.settings import load_config
from curation_platform.standardize import standardize_frame
from curation_platform.storage import write_parquet

PLUGIN = "tests.plugins.ShoutingTagger"


def _docs(flores, n_per: int = 30) -> pl.DataFrame:
    texts, ids = [], []
    for code in ("ind_Latn", "jav_Latn", "tha_Thai", "khm_Khmr", "eng_Latn"):
        lines = flores(code)
        for i in range(n_per):
            texts.append(" ".join(lines[i * 6 : i * 6 + 6]))
            ids.append(f"{code}-{i}")
    # shouted copies of English paragraphs: the plugin's rule must drop them
    eng = flores("eng_Latn")
    for i in range(10):
        texts.append(" ".join(eng[500 + i * 6 : 506 + i * 6]).upper())
        ids.append(f"shout-{i}")
    return pl.DataFrame({"id": ids, "text": texts})


def test_registry_names_versions_and_default_order():
    assert taggers.REGISTRY["quality"] is taggers.REGISTRY["quality@1"]
    assert list(taggers.DEFAULT_TAGGERS) == load_config()["label"]["taggers"]
    with pytest.raises(ValueError, match="unknown tagger 'nonsense'"):
        taggers.resolve("nonsense")
    with pytest.raises(ValueError, match="cannot import"):
        taggers.resolve("no_such_pkg.Tagger")


def test_plugin_tagger_reaches_policy_and_release(flores, tmp_path: Path):
    cfg = load_config()
    cfg["label"]["taggers"] = [*cfg["label"]["taggers"], {"use": PLUGIN, "release": True}]
    cfg["policy"]["default"]["max_shouting"] = 0.5
    assert rule_table(cfg["policy"])["max_shouting"] == ("shouting", "max")
    df = standardize_frame(_docs(flores), cfg["standardize"])
    out = label_frame(df, cfg)
    assert "shouting" in out.columns and out["shouting"].dtype == pl.Float64
    shouted = out.filter(pl.col("id").str.starts_with("shout-"))
    assert shouted["drop_reason"].to_list() == ["max_shouting"] * 10
    assert out.filter(~pl.col("id").str.starts_with("shout-"))["drop_reason"].ne_missing("max_shouting").all()
    # changing the threshold needs no relabelling: the compiled policy reads the stored column
    cfg["policy"]["default"]["max_shouting"] = 1.0
    assert (reapply_policy(out, cfg).filter(pl.col("id").str.starts_with("shout-"))["drop_reason"] != "max_shouting").all()
    cfg["policy"]["default"]["max_shouting"] = 0.5
    # ... and it travels into the release
    lab = write_parquet(out, tmp_path / "lab.parquet")
    dedup_corpus([lab], tmp_path / "dedup.parquet", cfg)
    manifest, _ = construct_corpus([lab], tmp_path / "dedup.parquet", tmp_path / "release", cfg)
    released = pl.read_parquet(sorted((tmp_path / "release" / "current").rglob("*.parquet")))
    assert "shouting" in released.columns and released.height == manifest["docs_released"] > 100
    assert released["shouting"].max() <= 0.5


def test_tagger_subset_keeps_one_schema(flores):
    """Without the quality taggers the signals struct keeps every field (null), so shards
    labelled with different tagger lists still concatenate."""
    cfg = load_config()
    cfg["label"]["taggers"] = ["langid", "hint", "script"]
    df = _docs(flores, 4)
    out = label_frame(df, cfg)
    assert out.schema["signals"] == taggers.SIGNALS_DTYPE
    assert out["signals"].struct.field("n_words").null_count() == out.height
    assert out["drop_reason"].to_list() == ["empty_text"] * out.height  # no length measured: nothing to vouch for


def test_compiled_policy_per_language_and_first_failing_rule():
    pol = {"default": {"min_lang_score": 0.5, "min_words": 50, "max_dup_line_frac": 0.3},
           "languages": {"*_Thai": {"min_words": 150}, "jav_Latn": {"min_words": None}}}
    frame = pl.DataFrame({
        "lang": ["ind_Latn", "tha_Thai", "jav_Latn", "ind_Latn", "und", "ind_Latn"],
        "lang_score": [0.9, 0.9, 0.9, 0.4, 0.9, 0.9],
        "signals": [{"n_chars": 400.0, "n_words": 60.0, "dup_line_frac": 0.5}, {"n_chars": 400.0, "n_words": 100.0, "dup_line_frac": 0.0},
                    {"n_chars": 50.0, "n_words": 5.0, "dup_line_frac": 0.0}, {"n_chars": 400.0, "n_words": 60.0, "dup_line_frac": 0.0},
                    {"n_chars": 400.0, "n_words": 60.0, "dup_line_frac": 0.0}, {"n_chars": 0.0, "n_words": 0.0, "dup_line_frac": 0.0}],
    })
    out = apply_policy(frame, pol)
    assert out["drop_reason"].to_list() == ["max_dup_line_frac", "min_words", None, "min_lang_score", "lang_und", "empty_text"]
    assert out["keep"].to_list() == [False, False, True, False, False, False]
    # one document at a time: the same compiled rules
    for row, want in zip(frame.iter_rows(named=True), out["drop_reason"].to_list()):
        assert decide(row["lang"], row["lang_score"], row["signals"], pol)[1] == want


def _shard(flores, tmp_path: Path) -> Path:
    texts = []
    for code in ("ind_Latn", "sun_Latn", "tgl_Latn", "mya_Mymr", "lao_Laoo", "vie_Latn"):
        lines = flores(code)
        texts += [" ".join(lines[i : i + 5]) for i in range(0, 500, 5)]
    df = pl.DataFrame({"id": [f"d{i:04d}" for i in range(len(texts))], "text": texts})
    return write_parquet(standardize_frame(df, load_config()["standardize"]), tmp_path / "std.parquet")


def test_workers_give_identical_bytes(flores, tmp_path: Path):
    """600 documents in batches of 150 over 1 and 2 spawned workers: the same file, byte for byte."""
    cfg = load_config()
    cfg["langid"]["batch_size"] = 150
    src = _shard(flores, tmp_path)
    one = label_shard(src, tmp_path / "w1.parquet", cfg, workers=1)
    two = label_shard(src, tmp_path / "w2.parquet", cfg, identifier_from_config(cfg), workers=2)
    assert (tmp_path / "w1.parquet").read_bytes() == (tmp_path / "w2.parquet").read_bytes()
    assert one == two and one["docs"] == 600 and one["kept"] > 500
    # and the same rows as one call on the whole frame
    whole = LabelStage(cfg)(pl.read_parquet(src))
    assert whole.equals(pl.read_parquet(tmp_path / "w1.parquet"))


def test_empty_shard_labels_to_empty_file(tmp_path: Path):
    cfg = load_config()
    empty = write_parquet(pl.DataFrame(schema={"id": pl.String, "text": pl.String}), tmp_path / "empty.parquet")
    stats = label_shard(empty, tmp_path / "out.parquet", cfg, workers=2)
    out = pl.read_parquet(tmp_path / "out.parquet")
    assert stats["docs"] == 0 and out.height == 0 and {"lang", "signals", "keep", "drop_reason"} <= set(out.columns)
    assert json.dumps(stats)  # summary stays serialisable
