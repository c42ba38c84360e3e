"""Stage runners for parallel corpora over files: parse, label (rules + optional
similarity), dedup, construct. The Dagster assets and `curate bitext` call these."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np
import polars as pl
import xxhash

from curation_platform.bitext.filters import label_pairs
from curation_platform.bitext.readers import BitextCorpus, read_bitext
from curation_platform.embeddings import EmbeddingClient, margin_scores
from curation_platform.langid import LanguageIdentifier
from curation_platform.minhash import MinHashConfig, deduplicate, normalized_hash
from curation_platform.pii import pii_card_lines, redact_release
from curation_platform.records import issues_frame
from curation_platform.settings import config_hash
from curation_platform.storage import publish_dir, write_json, write_parquet, write_text
from curation_platform.workers import ordered_map, resolve_workers


def embedder_from_config(cfg: dict, cache_path: str | Path | None, base_url: str | None = None) -> EmbeddingClient | None:
    ecfg = cfg.get("bitext", {}).get("embeddings", {})
    url = base_url or ecfg.get("base_url")
    if not url:
        return None
    return EmbeddingClient(url, ecfg.get("model", "multilingual-e5-small"), api_key_env=ecfg.get("api_key_env", "CURATION_EMBEDDINGS_API_KEY"),
                           batch_size=int(ecfg.get("batch_size", 64)), cache_path=cache_path)


def similarity(df: pl.DataFrame, embedder: EmbeddingClient, cfg: dict, progress: Callable[[int, int], None] | None = None) -> dict:
    """Cosine and ratio margin per pair (neighbourhoods within the same language pair), and
    per language pair a margin threshold calibrated on the corpus's own negatives: the same
    sentences with the targets shifted by a random offset. Where aligned and shifted
    margins do not separate (AUC below `min_auc`), the similarity rule is off for that pair,
    and `calibration` says so: a multilingual encoder that has never seen a language scores
    its aligned pairs like random ones, and a global threshold then drops clean pairs at random."""
    ecfg = cfg.get("bitext", {}).get("embeddings", {})
    scfg = cfg.get("bitext", {}).get("similarity", {}) or {}
    sims = np.full(df.height, np.nan)
    margins = np.full(df.height, np.nan)
    thresholds = np.full(df.height, np.nan)
    idx_all = np.arange(df.height)
    calibration: dict[str, dict] = {}
    for (sl, tl), group in df.with_columns(pl.Series("_i", idx_all)).group_by(["src_lang", "tgt_lang"], maintain_order=True):
        idx = group["_i"].to_numpy()
        s = embedder.embed(group["src_text"].to_list(), progress)
        t = embedder.embed(group["tgt_text"].to_list(), progress)
        k, block = int(ecfg.get("k", 4)), int(ecfg.get("margin_block", 2048))
        cos, mar = margin_scores(s, t, k=k, batch=block)
        sims[idx], margins[idx] = cos, mar
        cal = calibrate_margin(s, t, mar, k=k, block=block, quantile=float(scfg.get("negative_quantile", 0.95)),
                               min_auc=float(scfg.get("min_auc", 0.8)), min_pairs=int(scfg.get("min_pairs", 50)), seed=int(scfg.get("seed", 0)),
                               max_drop=float(scfg.get("max_drop", 0.1)))
        calibration[f"{sl}-{tl}"] = cal
        if cal["on"]:
            thresholds[idx] = cal["threshold"]
    as_list = lambda a: [None if np.isnan(v) else round(float(v), 5) for v in a]  # noqa: E731
    return {"sim": as_list(sims), "margin": as_list(margins), "min_margin": as_list(thresholds), "calibration": calibration}


def calibrate_margin(s: np.ndarray, t: np.ndarray, margins: np.ndarray, *, k: int = 4, block: int = 2048, quantile: float = 0.95,
                     min_auc: float = 0.8, min_pairs: int = 50, seed: int = 0, max_drop: float = 0.1) -> dict:
    """{auc, threshold, on, pairs}: the AUC of aligned against shifted-target margins and the
    `quantile` of the shifted ones (the margin a misaligned pair of this corpus reaches)."""
    n = len(margins)
    if n < min_pairs:
        return {"pairs": n, "auc": None, "threshold": None, "on": False, "why": f"fewer than {min_pairs} pairs to calibrate on"}
    shift = int(np.random.default_rng(seed).integers(1, n))
    _, neg = margin_scores(s, t[np.roll(np.arange(n), shift)], k=k, batch=block)
    ranks = np.argsort(np.argsort(np.concatenate([margins, neg]))) + 1
    auc = float((ranks[:n].sum() - n * (n + 1) / 2) / (n * n))
    threshold = float(np.quantile(neg, quantile))
    # the rule alone never drops more than `max_drop` of the corpus: where aligned and shifted
    # margins overlap (short sentences, a language the encoder half knows) the threshold is capped
    cap = float(np.quantile(margins, max_drop))
    capped = cap < threshold
    threshold = min(threshold, cap)
    on = auc >= min_auc
    return {"pairs": n, "auc": round(auc, 4), "threshold": round(threshold, 5), "on": on, "capped": capped,
            "why": None if on else f"aligned and shifted margins do not separate (AUC {auc:.3f} < {min_auc})"}


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


def _bitext_state(cfg: dict):
    from curation_platform.label import identifier_from_config, load_models

    identifier = identifier_from_config(cfg)
    load_models(identifier)  # in the fork server, once for every worker
    return cfg, identifier


def _label_pairs_job(state, job: tuple[pl.DataFrame, dict | None]) -> pl.DataFrame:
    cfg, identifier = state
    return label_pairs(job[0], cfg, identifier, job[1])


def _slice_sims(sims: dict | None, start: int, size: int) -> dict | None:
    if sims is None:
        return None
    return {k: (v[start : start + size] if isinstance(v, list) else v) for k, v in sims.items()}


def label_bitext_frame(df: pl.DataFrame, cfg: dict, identifier: LanguageIdentifier, embedder: EmbeddingClient | None = None,
                       progress: Callable[[int, int], None] | None = None, workers: int = 1) -> pl.DataFrame:
    """Similarity over the whole corpus (its margins and their calibration need every pair of
    a language pair), then the pair rules in batches over `workers` processes: the rows
    are independent, so the output is the same for any number of workers."""
    sims = similarity(df, embedder, cfg, progress) if embedder is not None and df.height else None
    spec = getattr(identifier, "spec", None)
    size = int(cfg.get("bitext", {}).get("batch", 4096))
    if workers <= 1 or spec is None or df.height <= size:
        return label_pairs(df, cfg, identifier, sims)
    jobs = ((df.slice(i, size), _slice_sims(sims, i, size)) for i in range(0, df.height, size))
    return pl.concat(list(ordered_map(_label_pairs_job, jobs, workers, _bitext_state, ({**cfg, "langid": spec},))))


def label_bitext_batches(frames: Iterable[pl.DataFrame], cfg: dict, identifier: LanguageIdentifier, workers: int = 1) -> Iterator[pl.DataFrame]:
    """The pair rules (no similarity) over a stream of pair frames, in order, over `workers`
    processes: `label_bitext_frame` without an embedder, for a corpus that is never held
    whole. The rows are independent, so the output is the same for any batching."""
    spec = getattr(identifier, "spec", None)
    if workers > 1 and spec is not None:
        yield from ordered_map(_label_pairs_job, ((f, None) for f in frames), workers, _bitext_state, ({**cfg, "langid": spec},))
        return
    for f in frames:
        yield label_pairs(f, cfg, identifier)


def label_bitext_file(in_file: str | Path, out_file: str | Path, cfg: dict, identifier: LanguageIdentifier, embedder: EmbeddingClient | None = None,
                      workers: int | str | None = None) -> dict:
    df = pl.read_parquet(in_file)
    out = label_bitext_frame(df, cfg, identifier, embedder, workers=resolve_workers(cfg.get("workers") if workers is None else workers))
    write_parquet(out, out_file)
    reasons = out.filter(~pl.col("keep")).group_by("drop_reason").len().sort("len", descending=True)
    per_pair = out.group_by("src_lang", "tgt_lang").agg(pl.len().alias("in"), pl.col("keep").sum().alias("kept")).sort("src_lang", "tgt_lang")
    return {"rows_in": df.height, "pairs": out.height, "kept": int(out["keep"].sum()) if out.height else 0, "similarity": embedder is not None,
            "similarity_calibration": similarity_calibration(out),
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


def similarity_calibration(frame: pl.DataFrame) -> dict[str, dict]:
    """{src-tgt: calibration} from labelled pairs (the `margin_calibration` column); the last shard's wins."""
    if "margin_calibration" not in frame.columns:
        return {}
    rows = frame.select("src_lang", "tgt_lang", "margin_calibration").drop_nulls().unique(subset=["src_lang", "tgt_lang"], keep="last", maintain_order=True)
    return {f"{r['src_lang']}-{r['tgt_lang']}": json.loads(r["margin_calibration"]) for r in rows.iter_rows(named=True)}


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
    pairs, pii = {}, {}
    for (sl, tl), part in kept.group_by(["src_lang", "tgt_lang"], maintain_order=True):
        name = f"{sl}-{tl}"
        counts: Counter = Counter()
        for col in ("src_text", "tgt_text"):
            clean, c = redact_release(part[col].to_list(), ["parallel"] * part.height, cfg)
            part = part.with_columns(pl.Series(col, clean, dtype=pl.String))
            counts.update(c)
        if counts:
            pii[name] = dict(sorted(counts.items()))
        write_parquet(part.select([c for c in RELEASE_PAIR_COLUMNS if c in part.columns]), staging / name / "pairs.parquet")
        write_text("".join(t.replace("\n", " ") + "\n" for t in part["src_text"].to_list()), staging / name / f"corpus.{name}.{sl}")
        write_text("".join(t.replace("\n", " ") + "\n" for t in part["tgt_text"].to_list()), staging / name / f"corpus.{name}.{tl}")
        pairs[name] = {"pairs": part.height, "src_chars": int(part["src_text"].str.len_chars().sum()), "tgt_chars": int(part["tgt_text"].str.len_chars().sum())}
    reasons = frame.filter(~pl.col("final_keep")).group_by("final_reason").len().sort("len", descending=True)
    manifest = {"build_id": build_id, "pairs_in": frame.height, "pairs_released": kept.height, "language_pairs": pairs,
                "drop_reasons": {r["final_reason"]: r["len"] for r in reasons.iter_rows(named=True)},
                "similarity_scored": bool(frame["margin"].is_not_null().any()) if "margin" in frame.columns else False,
                "similarity_calibration": similarity_calibration(frame), "pii_redacted": pii}
    write_json(manifest, staging / "manifest.json")
    card = [f"# Parallel corpus release `{build_id}`", "", f"{kept.height} of {frame.height} sentence pairs released.", "",
            "| language pair | pairs | source chars | target chars |", "|---|---:|---:|---:|"]
    card += [f"| {k} | {v['pairs']} | {v['src_chars']} | {v['tgt_chars']} |" for k, v in sorted(pairs.items())]
    card += ["", "## Why pairs were dropped", "", "| reason | pairs |", "|---|---:|"]
    card += [f"| {k} | {v} |" for k, v in manifest["drop_reasons"].items()]
    if manifest["similarity_calibration"]:
        card += ["", "## Similarity, calibrated per language pair", "",
                 "The margin threshold of a pair is the 95th percentile of its own shifted-target negatives; where aligned and "
                 "shifted margins do not separate, the similarity rule is off for that pair.", "",
                 "| language pair | AUC aligned vs shifted | margin threshold | similarity rule |", "|---|---:|---:|---|"]
        card += [f"| {k} | {c.get('auc')} | {c.get('threshold')} | {'on' if c.get('on') else 'off: ' + str(c.get('why'))} |"
                 for k, c in sorted(manifest["similarity_calibration"].items())]
    card += ["", "## PII redacted", ""] + pii_card_lines(pii, "language pair")
    card += ["", "Files per pair: `pairs.parquet` (with signals `sim`, `margin`) and a Moses export `corpus.<src>-<tgt>.<lang>`.", ""]
    write_text("\n".join(card), staging / "README.md")
    final = publish_dir(staging, release_root / "builds" / build_id, release_root / "current", Path("builds") / build_id)
    manifest["path"] = str(final)
    return manifest
