from dagster import DynamicPartitionsDefinition

# One partition per shard file dropped in the web-crawl inbox (registered by a sensor).
web_crawl_shards = DynamicPartitionsDefinition(name="web_crawl_shards")
