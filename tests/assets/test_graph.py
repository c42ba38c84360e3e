"""The whole asset graph in a real Dagster instance (temp DAGSTER_HOME): the inbox
sensor is ticked, partition runs are launched, the release is built; then a rerun
must change nothing."""

from __future__ import annotations

import json
import os
from pathlib import Path

import duckdb
import polars as pl
import pytest
from dagster import AssetKey, DagsterInstance, DagsterRunStatus, RunsFilter

from curation_platform.assets.demo_run import run_demo
from tests.conftest import scoped_env


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo_root")
    with scoped_env():
        yield root, run_demo(root, log=lambda m: None)


def _instance(root: Path) -> DagsterInstance:
    os.environ["DAGSTER_HOME"] = str(root / "dagster_home")
    return DagsterInstance.get()


def test_every_shard_became_a_partition_run_and_all_runs_succeeded(demo):
    root, result = demo
    assert sorted(result["partitions"]) == ["demo-docs.jsonl", "demo-pages.warc.gz", "demo-text.warc.wet.gz"]
    with _instance(root) as instance:
        runs = instance.get_runs(RunsFilter())
        by_job = {}
        for r in runs:
            by_job[r.job_name] = by_job.get(r.job_name, 0) + 1
        assert by_job["ingest_web_crawl"] == 3 and by_job["build_release"] == 1  # three partitions + one release
        assert all(r.status == DagsterRunStatus.SUCCESS for r in runs)
        assert set(instance.get_dynamic_partitions("web_crawl_shards")) == set(result["partitions"])
        for key in ("web_crawl", "standardize", "label"):
            assert instance.get_materialized_partitions(AssetKey(key)) == set(result["partitions"])


def test_metadata_and_checks_are_recorded(demo):
    root, _ = demo
    with _instance(root) as instance:
        label = instance.get_latest_materialization_event(AssetKey("label")).asset_materialization
        assert "per_language" in label.metadata and "drop_reasons" in label.metadata
        assert label.metadata["drop_chart"].value.startswith("![drops](data:image/png;base64,")
        construct = instance.get_latest_materialization_event(AssetKey("construct")).asset_materialization
        assert construct.metadata["retention"].value.startswith("![retention per language](data:image/png;base64,")
        assert construct.metadata["documents"].value > 20
        dedup = instance.get_latest_materialization_event(AssetKey("deduplicate")).asset_materialization
        assert dedup.metadata["exact_duplicates"].value >= 3
        assert dedup.metadata["near_duplicate_pairs"].value >= 3
        from dagster import AssetCheckKey

        for asset, check in [("standardize", "rows_conserved"), ("label", "kept_plus_dropped_equals_input"),
                             ("deduplicate", "one_survivor_per_cluster"), ("construct", "released_rows_match_manifest"),
                             ("web_crawl", "schema"), ("standardize", "schema"), ("label", "schema"), ("deduplicate", "schema")]:
            rec = instance.event_log_storage.get_latest_asset_check_execution_by_key([AssetCheckKey(AssetKey(asset), check)])
            evaluation = rec[AssetCheckKey(AssetKey(asset), check)].event.dagster_event.event_specific_data
            assert evaluation.passed, (asset, check)


def test_release_is_per_language_parquet_with_manifest_and_card(demo):
    root, result = demo
    manifest = result["manifest"]
    release = Path(result["release"])
    assert {"ind_Latn", "tgl_Latn", "ceb_Latn", "vie_Latn", "tha_Thai", "khm_Khmr", "eng_Latn"} <= set(manifest["languages"])
    total = 0
    for f in manifest["files"]:
        df = pl.read_parquet(release / f["path"])
        assert df.height == f["rows"]
        assert set(df["lang"]) == {f["lang"]}
        assert {"id", "text", "lang", "locator", "source", "license", "dup_count"} <= set(df.columns)
        total += df.height
    assert total == manifest["docs_released"]
    card = (release / "README.md").read_text("utf-8")
    assert card.startswith("---\nlanguage:\n") and "\nconfigs:\n- config_name: " in card and "| ind_Latn |" in card and "duplicate" in card
    for section in ("## Sources", "## Filters applied", "## Known limitations", "task_categories:"):
        assert section in card, section
    assert "| `min_words` | 50 | " in card and "tha_Thai: 150" in card  # thresholds, with the per-script overrides that applied
    # Copies of a page (exact or edited, on other sites) are released once; the spam page never.
    from curation_platform.minhash import normalized_hash

    released = pl.concat([pl.read_parquet(release / f["path"]) for f in manifest["files"]])
    hashes = [normalized_hash(t) for t in released["text"]]
    assert len(set(hashes)) == len(hashes)
    assert released["dup_count"].max() >= 2
    assert manifest["drop_reasons"] and sum(v for k, v in manifest["drop_reasons"].items() if k.endswith(":duplicate")) >= 8
    assert not released["locator"].str.starts_with("https://spam.example/").any()
    # The page served in a legacy code page (cp874 Thai) was decoded and released.
    thai = released.filter(pl.col("lang") == "tha_Thai")
    assert thai.height >= 3 and all("\ufffd" not in t for t in thai["text"])


def test_rows_are_conserved_and_bad_records_quarantined(demo):
    root, result = demo
    parsed = sum(pl.read_parquet(p).height for p in (root / "lake/web_crawl/parsed").glob("*.parquet"))
    labelled = pl.concat([pl.read_parquet(p) for p in (root / "lake/web_crawl/labelled").glob("*.parquet")])
    assert labelled.height == parsed == result["manifest"]["docs_in"]
    assert labelled.filter(~pl.col("keep"))["drop_reason"].null_count() == 0
    q = pl.read_parquet(root / "quarantine/web_crawl/demo-docs.jsonl.parquet")
    assert q.height == 1 and q["record"][0].startswith("line ") and "malformed JSON" in q["error"][0]


def test_catalogue_has_views_and_stats(demo):
    root, _ = demo
    con = duckdb.connect(str(root / "catalogue.duckdb"), read_only=True)
    stages = dict(con.execute("SELECT stage, sum(rows_in) FROM stage_stats GROUP BY stage").fetchall())
    assert {"label", "deduplicate", "construct"} == set(stages)
    views = {r[0] for r in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
    assert {"web_crawl_parsed", "web_crawl_labelled", "release_current"} <= views
    n = con.execute("SELECT count(*) FROM release_current").fetchall()[0][0]
    con.close()
    assert n > 20


def test_sensor_tick_after_the_demo_requests_nothing(demo):
    """A fresh cursor (e.g. `dagster dev` after `make demo`) must not re-ingest shards
    whose recorded content hash is unchanged."""
    from dagster import SkipReason, build_sensor_context

    from curation_platform.assets.automation import web_crawl_inbox_sensor
    from curation_platform.resources import CurationResource

    root, _ = demo
    with _instance(root) as instance:
        result = web_crawl_inbox_sensor(build_sensor_context(instance=instance, resources={"curation": CurationResource(data_root=str(root))}))
        assert isinstance(result, SkipReason) and "already ingested" in result.skip_message


def test_rerun_is_idempotent(demo):
    root, result = demo
    before = {p: p.read_bytes() for p in Path(result["release"]).rglob("*.parquet")}
    con = duckdb.connect(str(root / "catalogue.duckdb"), read_only=True)
    stats_before = con.execute("SELECT count(*), sum(rows_in) FROM stage_stats").fetchall()
    con.close()
    again = run_demo(root, log=lambda m: None)
    assert again["manifest"]["build_id"] == result["manifest"]["build_id"]
    assert {p: p.read_bytes() for p in Path(again["release"]).rglob("*.parquet")} == before
    con = duckdb.connect(str(root / "catalogue.duckdb"), read_only=True)
    assert con.execute("SELECT count(*), sum(rows_in) FROM stage_stats").fetchall() == stats_before
    con.close()
    assert json.loads((Path(again["release"]) / "manifest.json").read_text())["docs_released"] == result["manifest"]["docs_released"]
