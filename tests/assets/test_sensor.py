"""The inbox sensor against a real instance: new files become partitions and run
requests keyed by content hash; a second tick asks for nothing; a changed file is
ingested again; unsupported files are named in the skip reason."""

from __future__ import annotations

import json

from dagster import DagsterInstance, SensorResult, SkipReason, build_sensor_context

from curation_platform.assets.automation import web_crawl_inbox_sensor
from curation_platform.storage import file_digest
from curation_platform.assets.web_crawl import web_crawl
from curation_platform.resources import CurationResource


def test_sensor_registers_new_shard_and_requests_its_run(tmp_path, data_dir):
    root = tmp_path / "root"
    inbox = root / "inbox" / "web_crawl"
    inbox.mkdir(parents=True)
    shard = inbox / "cc sample.warc.gz"
    shard.write_bytes((data_dir / "warc/resiliparse/warcfile.warc.gz").read_bytes())
    (inbox / "notes.txt").write_text("not a shard")
    resources = {"curation": CurationResource(data_root=str(root))}
    (tmp_path / "home").mkdir()
    with DagsterInstance.local_temp(str(tmp_path / "home")) as instance:
        ctx = build_sensor_context(instance=instance, resources=resources)
        result = web_crawl_inbox_sensor(ctx)
        assert isinstance(result, SensorResult)
        digest = file_digest(shard)
        assert [(r.partition_key, r.run_key) for r in result.run_requests] == [("cc_sample.warc.gz", f"cc_sample.warc.gz:{digest}")]
        assert result.run_requests[0].tags["shard_file"] == "cc sample.warc.gz"
        assert list(result.dynamic_partitions_requests[0].partition_keys) == ["cc_sample.warc.gz"]
        cursor = json.loads(result.cursor)
        assert cursor["cc sample.warc.gz"][2] == digest and cursor["notes.txt"][2] is None

        # Second tick with the new cursor: nothing new.
        again = web_crawl_inbox_sensor(build_sensor_context(instance=instance, resources=resources, cursor=result.cursor))
        assert isinstance(again, SkipReason) or not getattr(again, "run_requests", None)

        # Changed content under the same name: ingested again, with a new run key.
        shard.write_bytes((data_dir / "warc/whirlwind/whirlwind.warc.gz").read_bytes())
        changed = web_crawl_inbox_sensor(build_sensor_context(instance=instance, resources=resources, cursor=result.cursor))
        assert [r.run_key for r in changed.run_requests] == [f"cc_sample.warc.gz:{file_digest(shard)}"]


def test_bad_shard_is_materialized_with_skips_in_metadata(tmp_path, data_dir):
    from dagster import materialize

    root = tmp_path / "root"
    inbox = root / "inbox" / "web_crawl"
    inbox.mkdir(parents=True)
    (inbox / "cut.warc.gz").write_bytes((data_dir / "warc/resiliparse/warcfile.warc.gz").read_bytes()[:70000])
    (tmp_path / "home").mkdir()
    with DagsterInstance.local_temp(str(tmp_path / "home")) as instance:
        instance.add_dynamic_partitions("web_crawl_shards", ["cut.warc.gz"])
        res = materialize([web_crawl], partition_key="cut.warc.gz", instance=instance, resources={"curation": CurationResource(data_root=str(root))})
        assert res.success
        md = res.asset_materializations_for_node("web_crawl")[0].metadata
        assert md["documents"].value == 7 and md["skipped_records"].value == 1
        assert "truncated gzip" in md["skipped_examples"].value and "cut.warc.gz" in md["skipped_examples"].value
