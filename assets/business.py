"""The business corpus: one partition per declared source (files or SQL); mapping,
governance, PII redaction and opt-out happen here, then the same standardize + label as
every corpus. Downstream (deduplicate, construct, the mixture) reads only redacted text."""

from pathlib import Path

from dagster import AssetExecutionContext, Failure, MaterializeResult, MetadataValue, asset

from curation_platform.assets.metadata import counts_table, language_table
from curation_platform.assets.partitions import business_sources
from curation_platform.business import SourceError, load_optout, load_sources, process_source
from curation_platform.resources import CurationResource, LangIdResource
from curation_platform.storage import purge_ids

CORPUS = "business"


def sources_file(curation: CurationResource, cfg: dict) -> Path:
    return Path(cfg.get("business", {}).get("sources_file") or curation.layout.inbox(CORPUS) / "sources.yaml")


def optout_file(curation: CurationResource, cfg: dict) -> Path:
    return Path(cfg.get("business", {}).get("optout_file") or curation.layout.inbox(CORPUS) / "optout.txt")


@asset(group_name=CORPUS, kinds={"parquet", "duckdb"}, partitions_def=business_sources)
def business(context: AssetExecutionContext, curation: CurationResource, langid: LangIdResource) -> MaterializeResult:
    """One declared source: mapped, consent-checked, opt-outs removed, PII redacted, standardized, labelled."""
    layout, cfg = curation.layout, curation.config()
    name = context.partition_key
    try:
        sources = {s.name: s for s in load_sources(sources_file(curation, cfg))}
    except SourceError as exc:
        raise Failure(str(exc)) from exc
    if name not in sources:
        raise Failure(f"source {name!r} is no longer declared in {sources_file(curation, cfg)}")
    optout = load_optout(optout_file(curation, cfg))
    paths = {"raw": layout.stage_file(CORPUS, "raw", name), "parsed": layout.stage_file(CORPUS, "parsed", name),
             "quarantine": layout.quarantine(CORPUS) / f"{name}.parquet", "labelled": layout.stage_file(CORPUS, "labelled", name)}
    try:
        stats = process_source(sources[name], paths, cfg, langid.identifier(cfg), optout)
    except SourceError as exc:
        raise Failure(str(exc)) from exc
    # opted-out records also leave every older release build and mixture (rollback copies)
    purged = purge_ids([layout.release_dir() / "builds", layout.mixture_dir], set(stats["opted_out_ids"]))
    if purged:
        context.log.info(f"opt-out: removed {sum(purged.values())} rows from {len(purged)} release/mixture files")
    for line in stats["quarantine_examples"]:
        context.log.warning(f"quarantined {line}")
    context.log.info(f"{name}: {stats['rows_ok']} rows, {stats['quarantined']} quarantined, {stats['opted_out']} opted out, PII {stats['pii']}")
    return MaterializeResult(metadata={
        "rows": stats["rows_ok"], "kept": stats["kept"], "quarantined": stats["quarantined"], "opted_out": stats["opted_out"], "purged_downstream_rows": sum(purged.values()),
        "pii_redacted": counts_table(stats["pii"], "type", "spans") if stats["pii"] else "none",
        "pii_total": sum(stats["pii"].values()), "domains": counts_table(stats["domains"], "domain", "docs") if stats["domains"] else "none",
        "per_language": language_table(stats["per_language"]) if stats["per_language"] else "none",
        "quarantine_examples": MetadataValue.md("\n".join(f"- {x}" for x in stats["quarantine_examples"]) or "_none_"),
        "labelled": str(paths["labelled"]),
    })
