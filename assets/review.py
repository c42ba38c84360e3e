"""The human review loop: review_sample (out) -> inbox/review (verdicts in, by sensor) -> review_results."""

import json

import polars as pl
from dagster import (AssetCheckResult, AssetCheckSeverity, AssetCheckSpec, AssetExecutionContext, Config, MaterializeResult,
                     MetadataValue, asset)
from dagster_duckdb import DuckDBResource

from curation_platform import plots, review
from curation_platform.assets.metadata import chart
from curation_platform.resources import CurationResource
from curation_platform.settings import config_hash

GROUP = "review"


class ReviewResultsConfig(Config):
    files: list[str] = []  # inbox/review file names to ingest; empty = every file there


@asset(group_name=GROUP, kinds={"csv", "json", "duckdb"}, deps=["label", "business", "synthetic_label"], pool="duckdb")
def review_sample(context: AssetExecutionContext, curation: CurationResource, duckdb: DuckDBResource) -> MaterializeResult:
    """A stratified sample of the pipeline's decisions (corpus x language x kept / each drop
    reason) with the signals behind them: CSV, JSONL and a Label Studio import file."""
    layout, cfg = curation.layout, curation.config()
    rcfg = cfg.get("review", {})
    frames = review.frames_from({c: layout.stage_dir(c, "labelled").glob("*.parquet") for c in rcfg.get("corpora", ["web_crawl"])})
    sample = review.review_sample(frames, int(rcfg.get("per_stratum", 20)), int(rcfg.get("max_chars", 2000)), int(rcfg.get("seed", 0)))
    sample_hash = config_hash({"items": sorted(sample["item_id"].to_list())})
    out_dir = layout.root / "review" / "samples" / sample_hash
    files = review.export_sample(sample, out_dir)
    with duckdb.get_connection() as con:
        new = review.store_sample(con, sample, sample_hash)
    strata = sample.group_by("corpus", "lang", "decision").len().sort("corpus", "lang", "decision")
    context.log.info(f"review sample {sample_hash}: {sample.height} items in {strata.height} strata ({new} new) -> {out_dir}")
    return MaterializeResult(metadata={
        "sample_hash": sample_hash, "items": sample.height, "new_items": new, "strata": strata.height, "path": str(out_dir),
        "label_studio_import": str(files["label_studio"]), "inbox": str(layout.inbox("review")),
        "strata_table": MetadataValue.md(plots.markdown_table(strata.rename({"len": "items"}).to_dicts())) if strata.height else "none",
    })


@asset(group_name=GROUP, kinds={"duckdb", "python"}, deps=[review_sample], pool="duckdb",
       check_specs=[AssetCheckSpec("filter_precision", asset="review_results",
                                   description="every reviewed drop rule meets review.precision_floor in every language")])
def review_results(context: AssetExecutionContext, config: ReviewResultsConfig, curation: CurationResource, duckdb: DuckDBResource):
    """Measured precision of the filters (share of drops reviewers confirm) and of the keeps,
    per language and rule, with inter-reviewer kappa; flagged rules get a threshold
    proposal beside the policy, corrected languages become LID training text."""
    layout, cfg = curation.layout, curation.config()
    inbox = layout.inbox("review")
    files = [inbox / f for f in config.files] if config.files else sorted(
        p for p in inbox.glob("*") if p.is_file() and p.name.lower().endswith(review.REVIEW_SUFFIXES) and not p.name.startswith("."))
    with duckdb.get_connection() as con:
        ingest = review.ingest_verdict_files(con, files, layout.quarantine("review"))
        res = review.summarise(con, cfg, layout.root / "review")
    for err in ingest["errors"]:
        context.log.warning(f"quarantined: {err}")
    table, flags, ag = res["table"], res["flags"], res["agreement"]
    floor = cfg.get("review", {}).get("precision_floor", 0.8)
    for f in flags.iter_rows(named=True):
        context.log.warning(f"rule {f['decision']} in {f['lang']}: precision {f['precision']} < {floor} on {f['decided']} reviewed drops")
    drops = table.filter(pl.col("decision") != review.KEPT)
    chart_data = {f"{r['lang']} {r['decision']}": r["precision"] for r in drops.iter_rows(named=True) if r["precision"] is not None}
    yield MaterializeResult(metadata={
        "verdicts_added": ingest["verdicts_added"], "verdicts": res["verdicts"], "quarantined": len(ingest["errors"]),
        "files": MetadataValue.json(ingest["files"]), "kappa": ag["kappa"] if ag["kappa"] is not None else "n/a",
        "kappa_kind": ag["kappa_kind"] or "n/a", "raw_agreement": ag["raw_agreement"] if ag["raw_agreement"] is not None else "n/a",
        "items_with_several_reviewers": ag["items_multi"],
        "precision": MetadataValue.md(plots.markdown_table(table.to_dicts())) if table.height else "no verdicts yet",
        "flagged_rules": MetadataValue.md(plots.markdown_table(flags.to_dicts())) if flags.height else "none",
        "proposals": MetadataValue.json(res["proposals"]), "proposal_file": str(layout.root / "review" / "policy_proposal.yaml"),
        "langid_corrections": MetadataValue.json(res["corrections"]),
        "precision_chart": chart(plots.bar_chart(chart_data or {"no reviewed drops": 0}, f"Filter precision (floor {floor})", "share of drops confirmed"), "precision"),
    })
    yield AssetCheckResult(
        check_name="filter_precision", passed=flags.height == 0, severity=AssetCheckSeverity.WARN,
        description="rules below the precision floor: " + ", ".join(f"{r['lang']}:{r['decision']} ({r['precision']})" for r in flags.iter_rows(named=True))
        if flags.height else "every reviewed rule meets the floor",
        metadata={"flagged": flags.height, "floor": floor, "flagged_rules": json.dumps([f"{r['lang']}:{r['decision']}" for r in flags.iter_rows(named=True)])},
    )
