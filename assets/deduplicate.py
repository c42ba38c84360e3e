"""deduplicate: exact + MinHash near-duplicate clusters across every shard seen so far."""


import polars as pl
from dagster import AssetCheckSpec, AssetExecutionContext, AutomationCondition, MaterializeResult, asset
from dagster_duckdb import DuckDBResource

from curation_platform import catalogue, plots
from curation_platform.assets.metadata import chart, check_result, language_table, schema_check
from curation_platform.dedup import dedup_corpus
from curation_platform.resources import CurationResource
from curation_platform.records import DEDUP_COLUMNS
from curation_platform.validation import check_one_survivor


@asset(
    group_name="web_crawl", kinds={"parquet", "datasketch", "duckdb"}, deps=["label"], pool="duckdb",
    automation_condition=AutomationCondition.eager(),
    check_specs=[AssetCheckSpec("one_survivor_per_cluster", asset="deduplicate", blocking=True), AssetCheckSpec("schema", asset="deduplicate", blocking=True)],
)
def deduplicate(context: AssetExecutionContext, curation: CurationResource, duckdb: DuckDBResource) -> MaterializeResult:
    """One survivor per duplicate cluster (cluster_id, dup_count); only policy-kept rows compete."""
    layout, cfg = curation.layout, curation.config()
    # the monolingual spine: every web-crawl shard and every (redacted) business source
    files = sorted(layout.stage_dir("web_crawl", "labelled").glob("*.parquet")) + sorted(layout.stage_dir("business", "labelled").glob("*.parquet"))
    # Kept parallel pairs join the index as reference texts (read when present, not a
    # declared dependency: the web release must not wait for a parallel corpus).
    refs = sorted(layout.stage_dir("parallel", "labelled").glob("*.parquet"))
    context.log.info(f"deduplicating {len(files)} labelled shards against {len(refs)} parallel shards")
    stats = dedup_corpus(files, layout.dedup_file(), cfg, reference_files=refs, index_dir=layout.dedup_keys_dir())
    report = check_one_survivor(pl.read_parquet(layout.dedup_file()))
    with duckdb.get_connection() as con:
        catalogue.record_stats(con, "deduplicate", "web_crawl", "all", stats["per_language"])
    return MaterializeResult(
        metadata={"path": str(layout.dedup_file()), "shards": len(files), "documents": stats["docs"],
                  "exact_duplicates": stats["exact_duplicates"], "near_duplicate_pairs": stats["verified_pairs"],
                  "clusters": stats["clusters"], "removed": stats["removed"],
                  "parallel_reference_texts": stats["reference_texts"], "duplicates_of_parallel": stats["duplicates_of_reference"], "config_hash": stats["config_hash"],
                  "per_language": language_table(stats["per_language"]),
                  "cluster_sizes": chart(plots.histogram(stats["cluster_sizes"], "Duplicate cluster sizes", "documents per cluster"), "cluster sizes")},
        check_results=[check_result("one_survivor_per_cluster", report), schema_check(layout.dedup_file(), DEDUP_COLUMNS)],
    )
