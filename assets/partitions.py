from dagster import DynamicPartitionsDefinition

# One partition per shard file dropped in the web-crawl inbox (registered by a sensor).
web_crawl_shards = DynamicPartitionsDefinition(name="web_crawl_shards")

# One partition per parallel corpus dropped in the parallel inbox (a TSV, TMX, OPUS zip or Moses pair).
parallel_corpora = DynamicPartitionsDefinition(name="parallel_corpora")

# One partition per business source declared in the sources YAML.
business_sources = DynamicPartitionsDefinition(name="business_sources")
