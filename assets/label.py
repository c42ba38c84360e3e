"""label: language, script and quality signals per document, then the policy decision."""


from dagster import AssetCheckSpec, AssetExecutionContext, MaterializeResult, asset
from dagster_duckdb import DuckDBResource

from curation_platform import catalogue, plots
from curation_platform.assets.metadata import chart, check_result, counts_table, drop_rate_check, language_table, schema_check
from curation_platform.assets.partitions import web_crawl_shards
from curation_platform.pipeline import label_shard
from curation_platform.records import LABELLED_COLUMNS
from curation_platform.resources import CurationResource, LangIdResource
from curation_platform.validation import check_conservation


@asset(
    partitions_def=web_crawl_shards, group_name="web_crawl", kinds={"parquet", "fasttext", "duckdb"}, deps=["standardize"],
    pool="duckdb",
    check_specs=[AssetCheckSpec("kept_plus_dropped_equals_input", asset="label", blocking=True), AssetCheckSpec("schema", asset="label", blocking=True),
                 AssetCheckSpec("drop_rate_per_language", asset="label", description="warns when one rule drops most of one language's documents")],
)
def label(context: AssetExecutionContext, curation: CurationResource, langid: LangIdResource, duckdb: DuckDBResource) -> MaterializeResult:
    """Labels are data, filters are decisions: every row stays, with keep and drop_reason."""
    layout, key, cfg = curation.layout, context.partition_key, curation.config()
    src, out = layout.stage_file("web_crawl", "standardized", key), layout.stage_file("web_crawl", "labelled", key)
    stats = label_shard(src, out, cfg, langid.identifier(cfg))
    dropped = stats["docs"] - stats["kept"]
    report = check_conservation(stats["rows_in"], stats["docs"], stats["kept"], dropped)
    with duckdb.get_connection() as con:
        catalogue.record_stats(con, "label", "web_crawl", key, stats["per_language"])
    context.log.info(f"{key}: kept {stats['kept']} of {stats['docs']} documents")
    return MaterializeResult(
        metadata={"path": str(out), "documents": stats["docs"], "kept": stats["kept"], "dropped": dropped,
                  "per_language": language_table(stats["per_language"]), "drop_reasons": counts_table(stats["drop_reasons"], "reason"),
                  "variation": counts_table(stats["variation"], "label"),
                  "drop_chart": chart(plots.bar_chart(stats["drop_reasons"] or {"none": 0}, "Dropped documents by reason", "documents"), "drops")},
        check_results=[check_result("kept_plus_dropped_equals_input", report), schema_check(out, LABELLED_COLUMNS), drop_rate_check(out, cfg)],
    )
