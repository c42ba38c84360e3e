"""construct: per-language release shards, manifest.json and a data card."""


from dagster import AssetCheckResult, AssetCheckSpec, AssetExecutionContext, AutomationCondition, MaterializeResult, MetadataValue, asset
from dagster_duckdb import DuckDBResource

from curation_platform import catalogue, plots
from curation_platform.assets.metadata import chart, pii_table
from curation_platform.pipeline import construct_corpus
from curation_platform.resources import CurationResource


@asset(
    group_name="web_crawl", kinds={"parquet", "duckdb"}, deps=["deduplicate"], pool="duckdb",
    automation_condition=AutomationCondition.eager(),
    check_specs=[AssetCheckSpec("released_rows_match_manifest", asset="construct")],
)
def construct(context: AssetExecutionContext, curation: CurationResource, duckdb: DuckDBResource) -> MaterializeResult:
    """Training-ready per-language shards (HF datasets layout) under release/current."""
    layout, cfg = curation.layout, curation.config()
    # the monolingual spine: every web-crawl shard and every (redacted) business source
    files = sorted(layout.stage_dir("web_crawl", "labelled").glob("*.parquet")) + sorted(layout.stage_dir("business", "labelled").glob("*.parquet"))
    manifest, summary = construct_corpus(files, layout.dedup_file(), layout.release_dir(), cfg)
    rows = summary.to_dicts()
    with duckdb.get_connection() as con:
        catalogue.record_stats(con, "construct", "web_crawl", "all", {r["lang"]: {"in": r["docs_in"], "kept": r["kept_final"]} for r in rows})
        views = catalogue.register_views(con, layout.root / "lake", layout.release_dir() / "current")
    released = sum(f["rows"] for f in manifest["files"])
    context.log.info(f"release {manifest['build_id']}: {released} documents in {len(manifest['languages'])} languages")
    return MaterializeResult(
        metadata={"path": manifest["path"], "build_id": manifest["build_id"], "documents": released,
                  "languages": len(manifest["languages"]), "duckdb_views": ", ".join(views),
                  "pii_redacted": pii_table(manifest["pii_redacted"]),
                  "per_language": MetadataValue.md(plots.markdown_table(rows, ["lang", "docs_in", "kept_policy", "kept_final", "retention", "chars"])),
                  "retention": chart(plots.retention_chart(rows), "retention per language")},
        check_results=[AssetCheckResult(check_name="released_rows_match_manifest", passed=released == manifest["docs_released"],
                                        description=f"files hold {released} rows, manifest says {manifest['docs_released']}")],
    )
