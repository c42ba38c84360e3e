"""Stage runners for parallel corpora over files: parse, label (rules + optional
similarity), dedup, construct. The Dagster assets and `curate bitext` call these."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable

import numpy as np
import polars as pl
import xxhash

from curation_platform.bitext_filters import label_pairs
from curation_platform.bitext_readers import BitextCorpus, read_bitext
from curation_platform.embeddings import EmbeddingClient, margin_scores
from curation_platform.langid import LanguageIdentifier
from curation_platform.minhash import MinHashConfig, deduplicate, normalized_hash
from curation_platform.records import issues_frame
from curation_platform.settings import config_hash
from curation_platform.storage import publish_dir, write_json, write_parquet, write_text


def embedder_from_config(cfg: dict, cache_path: str | Path | None, base_url: str | None = None) -> EmbeddingClient | None:
    ecfg = cfg.get("bitext", {}).get("embeddings", {})
    url = base_url or ecfg.get("base_url")
    if not url:
        return None
    return EmbeddingClient(url, ecfg.get("model", "multilingual-e5-small"), api_key_env=ecfg.get("api_key_env", "CURATION_EMBEDDINGS_API_KEY"),
                           batch_size=int(ecfg.get("batch_size", 64)), cache_path=cache_path)


def similarity(df: pl.DataFrame, embedder: EmbeddingClient, cfg: dict, progress: Callable[[int, int], None] | None = None) -> dict[str, list]:
    """Cosine and ratio margin per pair; neighbourhoods within the same language pair."""
    ecfg = cfg.get("bitext", {}).get("embeddings", {})
    sims = np.full(df.height, np.nan)
    margins = np.full(df.height, np.nan)
    idx_all = np.arange(df.height)
    for (sl, tl), group in df.with_columns(pl.Series("_i", idx_all)).group_by(["src_lang", "tgt_lang"], maintain_order=True):
        idx = group["_i"].to_numpy()
        s = embedder.embed(group["src_text"].to_list(), progress)
        t = embedder.embed(group["tgt_text"].to_list(), progress)
        cos, mar = margin_scores(s, t, k=int(ecfg.get("k", 4)), batch=int(ecfg.get("margin_block", 2048)))
        sims[idx], margins[idx] = cos, mar
    return {"sim": [None if np.isnan(v) else round(float(v), 5) for v in sims], "margin": [None if np.isnan(v) else round(float(v), 5) for v in margins]}


def parse_bitext_file(path: str | Path, out_file: str | Path, quarantine_file: str | Path, provenance_dir: str | Path | None = None) -> dict:
    corpus: BitextCorpus = read_bitext(path)
    df = corpus.frame().unique(subset="pair_id", keep="first", maintain_order=True)
    write_parquet(df, out_file)
    write_parquet(issues_frame(corpus.issues), quarantine_file)
    if provenance_dir and corpus.provenance:
        for name, text in corpus.provenance.items():
            write_text(text, Path(provenance_dir) / Path(name).name)
    pairs = df.group_by("src_lang", "tgt_lang").len().to_dicts() if df.height else []
    return {"pairs": df.height, "issues": len(corpus.issues), "issue_examples": [str(i) for i in corpus.issues[:5]],
            "language_pairs": {f"{r['src_lang']}-{r['tgt_lang']}": r["len"] for r in pairs}, "provenance_files": sorted(corpus.provenance)}


def label_bitext_frame(df: pl.DataFrame, cfg: dict, identifier: LanguageIdentifier, embedder: EmbeddingClient | None = None,
                       progress: Callable[[int, int], None] | None = None) -> pl.DataFrame:
    sims = similarity(df, embedder, cfg, progress) if embedder is not None and df.height else None
    return label_pairs(df, cfg, identifier, sims)


def label_bitext_file(in_file: str | Path, out_file: str | Path, cfg: dict, identifier: LanguageIdentifier, embedder: EmbeddingClient | None = None) -> dict:
    df = pl.read_parquet(in_file)
    out = label_bitext_frame(df, cfg, identifier, embedder)
    write_parquet(out, out_file)
    reasons = out.filter(~pl.col("keep")).group_by("drop_reason").len().sort("len", descending=True)
    per_pair = out.group_by("src_lang", "tgt_lang").agg(pl.len().alias("in"), pl.col("keep").sum().alias("kept")).sort("src_lang", "tgt_lang")
    return {"rows_in": df.height, "pairs": out.height, "kept": int(out["keep"].sum()) if out.height else 0, "similarity": embedder is not None,
            "drop_reasons": {r["drop_reason"]: r["len"] for r in reasons.iter_rows(named=True)},
            "per_pair": {f"{r['src_lang']}-{r['tgt_lang']}": {"in": r["in"], "kept": r["kept"]} for r in per_pair.iter_rows(named=True)}}


def dedup_pairs(df: pl.DataFrame, cfg: dict) -> tuple[pl.DataFrame, dict]:
    """Exact pair dedup, one-to-many limits per side, then MinHash on `src ||| tgt`.
    Returns pair_id, cluster_id, dup_count, keep, dedup_reason in input order."""
    dcfg = cfg.get("bitext", {}).get("dedup", {})
    max_t, max_s = int(dcfg.get("max_targets_per_source", 3)), int(dcfg.get("max_sources_per_target", 3))
    work = df.select("pair_id", "src_text", "tgt_text").with_columns(
        pl.Series("h_src", [normalized_hash(t) for t in df["src_text"].to_list()], dtype=pl.UInt64),
        pl.Series("h_tgt", [normalized_hash(t) for t in df["tgt_text"].to_list()], dtype=pl.UInt64),
    ).with_row_index("_i")
    # rank of each distinct target under its source (and vice versa), in input order
    distinct = work.unique(subset=["h_src", "h_tgt"], keep="first", maintain_order=True)
    distinct = distinct.with_columns(
        pl.col("_i").rank("ordinal").over("h_src").alias("rank_src"),
        pl.col("_i").rank("ordinal").over("h_tgt").alias("rank_tgt"),
    )
    over = set(distinct.filter((pl.col("rank_src") > max_t) | (pl.col("rank_tgt") > max_s))["_i"].to_list())
    texts = pl.DataFrame({"id": work["pair_id"], "text": [f"{s} ||| {t}" for s, t in zip(work["src_text"].to_list(), work["tgt_text"].to_list())]})
    clusters, stats = deduplicate(texts, MinHashConfig.from_dict(cfg.get("dedup")))
    reasons, keeps = [], []
    for i, (keep, dup_type) in enumerate(zip(clusters["keep"].to_list(), clusters["dup_type"].to_list())):
        if not keep:
            reasons.append("exact_pair" if dup_type == "exact" else "near_duplicate_pair")
            keeps.append(False)
        elif i in over:
            reasons.append("one_to_many")
            keeps.append(False)
        else:
            reasons.append(None)
            keeps.append(True)
    out = clusters.select("id", "cluster_id", "dup_count").rename({"id": "pair_id"}).with_columns(
        pl.Series("keep", keeps, dtype=pl.Boolean), pl.Series("dedup_reason", reasons, dtype=pl.String))
    stats["one_to_many"] = len(over)
    return out, stats


def dedup_bitext(labelled_files: list[Path], out_file: str | Path, cfg: dict) -> dict:
    if not labelled_files:
        raise FileNotFoundError("no labelled parallel shards to deduplicate")
    kept = pl.concat([pl.read_parquet(f, columns=["pair_id", "src_text", "tgt_text", "keep"]) for f in labelled_files]).filter(pl.col("keep"))
    kept = kept.unique(subset="pair_id", keep="first", maintain_order=True)
    out, stats = dedup_pairs(kept, cfg)
    write_parquet(out, out_file)
    stats["reasons"] = {r["dedup_reason"]: r["len"] for r in out.filter(~pl.col("keep")).group_by("dedup_reason").len().iter_rows(named=True)}
    return stats


RELEASE_PAIR_COLUMNS = ["pair_id", "src_lang", "tgt_lang", "src_text", "tgt_text", "source", "locator", "license", "score", "sim", "margin"]


def construct_bitext(labelled_files: list[Path], dedup_file: str | Path, release_root: str | Path, cfg: dict) -> dict:
    """release_root/builds/<id>/<src>-<tgt>/{pairs.parquet, corpus.<src>-<tgt>.<src>, .<tgt>} + manifest + card."""
    release_root = Path(release_root)
    labelled = pl.concat([pl.read_parquet(f) for f in labelled_files], how="diagonal_relaxed").unique(subset="pair_id", keep="first", maintain_order=True)
    dd = pl.read_parquet(dedup_file).select("pair_id", pl.col("keep").alias("dedup_keep"), "dedup_reason", "dup_count")
    frame = labelled.join(dd, on="pair_id", how="left").with_columns(
        (pl.col("keep") & pl.col("dedup_keep").fill_null(False)).alias("final_keep"),
        pl.coalesce(pl.col("drop_reason"), pl.col("dedup_reason")).alias("final_reason"),
    )
    kept = frame.filter(pl.col("final_keep")).sort("pair_id")
    build_id = xxhash.xxh64(("\n".join(kept["pair_id"].to_list()) + config_hash(cfg.get("bitext", {}))).encode()).hexdigest()[:16]
    staging = release_root / "builds" / f".{build_id}.staging"
    if staging.exists():
        shutil.rmtree(staging)
    pairs = {}
    for (sl, tl), part in kept.group_by(["src_lang", "tgt_lang"], maintain_order=True):
        name = f"{sl}-{tl}"
        write_parquet(part.select([c for c in RELEASE_PAIR_COLUMNS if c in part.columns]), staging / name / "pairs.parquet")
        write_text("".join(t.replace("\n", " ") + "\n" for t in part["src_text"].to_list()), staging / name / f"corpus.{name}.{sl}")
        write_text("".join(t.replace("\n", " ") + "\n" for t in part["tgt_text"].to_list()), staging / name / f"corpus.{name}.{tl}")
        pairs[name] = {"pairs": part.height, "src_chars": int(part["src_text"].str.len_chars().sum()), "tgt_chars": int(part["tgt_text"].str.len_chars().sum())}
    reasons = frame.filter(~pl.col("final_keep")).group_by("final_reason").len().sort("len", descending=True)
    manifest = {"build_id": build_id, "pairs_in": frame.height, "pairs_released": kept.height, "language_pairs": pairs,
                "drop_reasons": {r["final_reason"]: r["len"] for r in reasons.iter_rows(named=True)},
                "similarity_scored": bool(frame["margin"].is_not_null().any()) if "margin" in frame.columns else False}
    write_json(manifest, staging / "manifest.json")
    card = [f"# Parallel corpus release `{build_id}`", "", f"{kept.height} of {frame.height} sentence pairs released.", "",
            "| language pair | pairs | source chars | target chars |", "|---|---:|---:|---:|"]
    card += [f"| {k} | {v['pairs']} | {v['src_chars']} | {v['tgt_chars']} |" for k, v in sorted(pairs.items())]
    card += ["", "## Why pairs were dropped", "", "| reason | pairs |", "|---|---:|"]
    card += [f"| {k} | {v} |" for k, v in manifest["drop_reasons"].items()]
    card += ["", "Files per pair: `pairs.parquet` (with signals `sim`, `margin`) and a Moses export `corpus.<src>-<tgt>.<lang>`.", ""]
    write_text("\n".join(card), staging / "README.md")
    final = publish_dir(staging, release_root / "builds" / build_id, release_root / "current", Path("builds") / build_id)
    manifest["path"] = str(final)
    return manifest
