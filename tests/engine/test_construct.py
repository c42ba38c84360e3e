"""Construct reads the corpus's text once, `construct.read_rows` rows at a time, spilling
each language's kept rows to disk: however it is sliced, the release is the same, byte
for byte, and no spill is left behind."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import polars as pl

from curation_platform.label import label_frame
from curation_platform.pipeline import construct_corpus, dedup_corpus
from curation_platform.settings import load_config
from curation_platform.standardize import standardize_frame
from curation_platform.storage import write_parquet

LANGS = ("ind_Latn", "jav_Latn", "tha_Thai", "khm_Khmr", "eng_Latn", "tgl_Latn", "vie_Latn")


def _release_files(root: Path) -> dict[str, str]:
    cur = root / "current"
    return {str(p.relative_to(cur)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(cur.rglob("*.parquet"))}


def test_the_release_does_not_depend_on_how_the_corpus_is_sliced(flores, tmp_path: Path):
    cfg = load_config()
    texts, ids, shards = [], [], []
    for code in LANGS:
        lines = flores(code)
        for i in range(25):
            texts.append(" ".join(lines[i * 6 : i * 6 + 6]))
            ids.append(f"{code}-{i}")
    texts += texts[:20]  # exact copies across shards: dedup keeps one
    ids += [f"copy-{i}" for i in range(20)]
    df = label_frame(standardize_frame(pl.DataFrame({"id": ids, "text": texts}), cfg["standardize"]), cfg)
    for i, part in enumerate((df[::2], df[1::2])):  # two shards, each with every language
        shards.append(write_parquet(part, tmp_path / f"lab-{i}.parquet"))
    dedup_corpus(shards, tmp_path / "dedup.parquet", cfg)
    out = {}
    for budget in (7, 60, 10**9):  # slices that split languages and shards, and one slice
        cfg["construct"]["read_rows"] = budget
        manifest, _ = construct_corpus(shards, tmp_path / "dedup.parquet", tmp_path / f"rel-{budget}", cfg)
        out[budget] = (_release_files(tmp_path / f"rel-{budget}"), {k: v for k, v in manifest.items() if k not in ("build_id", "config_hash", "path")})
    assert out[7] == out[60] == out[10**9]
    files, manifest = out[7]
    assert len({k.split("/")[0] for k in files}) >= 6 and manifest["docs_released"] >= 150
    assert json.dumps(manifest["drop_reasons"]).count("duplicate") >= 1
    assert not [p for p in (tmp_path / "rel-7" / "builds").iterdir() if p.name.startswith(".")]  # no spill or staging left
