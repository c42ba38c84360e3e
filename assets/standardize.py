"""standardize: decoded, repaired, normalised text with boilerplate lines removed."""


from dagster import AssetCheckSpec, AssetExecutionContext, MaterializeResult, asset

from curation_platform.assets.metadata import check_result, counts_table, schema_check
from curation_platform.assets.partitions import web_crawl_shards
from curation_platform.pipeline import standardize_shard
from curation_platform.records import STANDARDIZED_COLUMNS
from curation_platform.resources import CurationResource
from curation_platform.validation import check_conservation


@asset(
    partitions_def=web_crawl_shards, group_name="web_crawl", kinds={"parquet", "python"}, deps=["web_crawl"],
    check_specs=[AssetCheckSpec("rows_conserved", asset="standardize", blocking=True), AssetCheckSpec("schema", asset="standardize", blocking=True)],
)
def standardize(context: AssetExecutionContext, curation: CurationResource) -> MaterializeResult:
    """Mojibake repair (ftfy), NFC, control characters, whitespace, boilerplate lines."""
    layout, key = curation.layout, context.partition_key
    src, out = layout.stage_file("web_crawl", "parsed", key), layout.stage_file("web_crawl", "standardized", key)
    stats = standardize_shard(src, out, curation.config())
    report = check_conservation(stats["rows_in"], stats["docs"])
    return MaterializeResult(
        metadata={"path": str(out), "documents": stats["docs"], "chars_in": stats["chars_in"], "chars_out": stats["chars_out"],
                  "changes": counts_table(stats["changes"], "change")},
        check_results=[check_result("rows_conserved", report), schema_check(out, STANDARDIZED_COLUMNS)],
    )
