"""web_crawl: parse shards dropped in the inbox (WARC, WET, JSONL) into documents."""


from dagster import AssetCheckSpec, AssetExecutionContext, MaterializeResult, MetadataValue, asset

from curation_platform.assets.metadata import counts_table, schema_check
from curation_platform.assets.partitions import web_crawl_shards
from curation_platform.pipeline import parse_shard
from curation_platform.records import PARSED_COLUMNS
from curation_platform.resources import CurationResource
from curation_platform.storage import file_digest, safe_key


def shard_path(curation: CurationResource, partition_key: str):
    """The inbox file behind a partition key (keys are safe_key(file name))."""
    inbox = curation.layout.inbox("web_crawl")
    for path in sorted(inbox.iterdir()):
        if path.is_file() and safe_key(path.name) == partition_key:
            return path
    raise FileNotFoundError(f"no inbox file for partition {partition_key!r} in {inbox}")


@asset(partitions_def=web_crawl_shards, group_name="web_crawl", kinds={"parquet", "python"},
       check_specs=[AssetCheckSpec("schema", asset="web_crawl", blocking=True)])
def web_crawl(context: AssetExecutionContext, curation: CurationResource) -> MaterializeResult:
    """Documents parsed from one web-crawl shard, with provenance; unreadable records quarantined."""
    layout, key = curation.layout, context.partition_key
    src = shard_path(curation, key)
    out = layout.stage_file("web_crawl", "parsed", key)
    stats = parse_shard(src, out, layout.quarantine("web_crawl") / f"{key}.parquet", log=context.log.warning)
    context.log.info(f"{src.name}: {stats['docs']} documents, {stats['issues']} records skipped")
    return MaterializeResult(check_results=[schema_check(out, PARSED_COLUMNS)], metadata={
        "source_file": str(src),
        "content_hash": file_digest(src),
        "path": str(out),
        "documents": stats["docs"],
        "skipped_records": stats["issues"],
        "skipped_examples": MetadataValue.md("\n".join(f"- {e}" for e in stats["issue_examples"]) or "_none_"),
        "bytes": stats["bytes"],
        "skip_reasons": counts_table({e.split("]: ", 1)[-1][:80]: 1 for e in stats["issue_examples"]}, "reason", "examples"),
    })
