"""Stage runners over files: read a shard, call the stage, write the result atomically,
return a small summary. Assets and the `curate` CLI both call these, so the Dagster
graph and the command line produce the same files."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import polars as pl

from curation_platform.construct import build_release
from curation_platform.dedup import dedup_corpus, dedup_frames, key_index, parquet_rows, reference_sides  # noqa: F401  (the runners, in one place)
from curation_platform.label import label_batches
from curation_platform.langid import LanguageIdentifier
from curation_platform.readers import read_shard
from curation_platform.records import Document, ParseIssue, documents_frame, issues_frame
from curation_platform.standardize import standardize_frame
from curation_platform.storage import ParquetSink, scan_labelled, write_parquet
from curation_platform.workers import resolve_workers

Progress = Callable[[str], None]


def _noop(msg: str) -> None:
    pass


def per_language(df: pl.DataFrame) -> dict[str, dict[str, int]]:
    """{lang: {in, kept}} for metadata and stats tables."""
    if df.is_empty():
        return {}
    g = df.group_by("lang").agg(pl.len().alias("in"), pl.col("keep").sum().alias("kept")).sort("lang")
    return {r["lang"]: {"in": int(r["in"]), "kept": int(r["kept"])} for r in g.iter_rows(named=True)}


def parse_shard(path: str | Path, out_file: str | Path, quarantine_file: str | Path, *, corpus: str = "web_crawl", license: str | None = None, log: Progress = _noop) -> dict:
    """Read one inbox shard; documents to `out_file`, unreadable records to `quarantine_file`."""
    path = Path(path)
    docs: list[Document] = []
    issues: list[ParseIssue] = []
    for item in read_shard(path, license=license):
        if isinstance(item, ParseIssue):
            issues.append(item)
            log(f"skipped {item}")
        else:
            item.corpus = corpus
            docs.append(item)
    df = documents_frame(docs)
    # Two records with the same (source, locator) are one document: keep the first.
    df = df.unique(subset="id", keep="first", maintain_order=True)
    write_parquet(df, out_file)
    write_parquet(issues_frame(issues), quarantine_file)
    return {"docs": df.height, "issues": len(issues), "issue_examples": [str(i) for i in issues[:5]], "bytes": path.stat().st_size}


def standardize_shard(in_file: str | Path, out_file: str | Path, cfg: dict) -> dict:
    df = pl.read_parquet(in_file)
    out = standardize_frame(df, cfg.get("standardize", {}))
    write_parquet(out, out_file)
    changes = out.select(pl.col("std_changes").explode().drop_nulls().value_counts(sort=True)).unnest("std_changes") if out.height else None
    counts = {r["std_changes"]: int(r["count"]) for r in changes.iter_rows(named=True)} if changes is not None else {}
    return {"rows_in": df.height, "docs": out.height, "changes": counts, "chars_in": int(df["text"].str.len_chars().sum() or 0), "chars_out": int(out["text"].str.len_chars().sum() or 0)}


def label_shard(in_file: str | Path, out_file: str | Path, cfg: dict, identifier: LanguageIdentifier | None = None,
                workers: int | str | None = None) -> dict:
    """Label one standardized shard in batches over `workers` processes (default
    `label.workers`: every core); the output is the same for any number of workers."""
    df = pl.read_parquet(in_file)
    size = int(cfg.get("langid", {}).get("batch_size", 1024))
    n = resolve_workers(workers if workers is not None else cfg.get("workers"))
    with ParquetSink(out_file) as sink:
        for part in label_batches((df.slice(i, size) for i in range(0, max(df.height, 1), size)), cfg, identifier, n):
            sink.write(part)
    return label_summary(pl.read_parquet(out_file, columns=["lang", "keep", "drop_reason", "signals", "languages", "variant"]), df.height)


def label_summary(out: pl.DataFrame, rows_in: int) -> dict:
    """Counts of a labelled frame for metadata and logs."""
    reasons = out.filter(~pl.col("keep")).group_by("drop_reason").len().sort("len", descending=True)
    return {"rows_in": rows_in, "docs": out.height, "kept": int(out["keep"].sum()), "per_language": per_language(out),
            "drop_reasons": {r["drop_reason"]: int(r["len"]) for r in reasons.iter_rows(named=True)}, "variation": variation_summary(out)}


def variation_summary(out: pl.DataFrame, min_share: float = 0.2) -> dict[str, int]:
    """Counts a person checks after labelling: code-switched documents (at least
    `min_share` of characters outside their language), routed ones, script-rule
    labels, and each dialect/register tag."""
    if not out.height or "languages" not in out.columns:
        return {}
    sig = out["signals"].struct
    counts = {
        "code_switched": int((sig.field("code_switch_share").fill_null(0) >= min_share).sum()),
        "routed_to_target": int(sig.field("routed_from_label").fill_null(0).sum()),
        "lang_from_script": int(sig.field("lang_from_script").fill_null(0).sum()),
    }
    for tag, n in out["variant"].drop_nulls().value_counts().iter_rows():
        counts[f"variant:{tag}"] = int(n)
    return counts


def construct_corpus(labelled_files: list[str | Path], dedup_file: str | Path, release_root: str | Path, cfg: dict) -> tuple[dict, pl.DataFrame]:
    return build_release(scan_labelled(labelled_files), pl.scan_parquet(str(dedup_file)), release_root, cfg)
