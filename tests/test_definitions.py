"""The one Definitions object: asset keys, lineage, jobs, sensors; the code location
validates with the Dagster CLI; the engine stays free of Dagster imports."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from dagster import AssetKey

from curation_platform.assets.definitions import defs

REPO = Path(__file__).resolve().parents[1]


def test_asset_keys_and_lineage():
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert keys == {"web_crawl", "standardize", "label", "deduplicate", "construct", "synthetic", "synthetic_label", "synthetic_dedup", "synthetic_release", "business", "train_langid", "train_quality_model",
                    "eval_results", "quality_gaps", "language_plan", "mixture_plan", "training_mixture", "proxy_eval",
                    "parallel", "parallel_label", "parallel_dedup", "parallel_construct", "review_sample", "review_results"}
    spine = ["web_crawl", "standardize", "label", "deduplicate", "construct"]
    loop = ["eval_results", "quality_gaps", "mixture_plan", "training_mixture", "proxy_eval"]
    bitext = ["parallel", "parallel_label", "parallel_dedup", "parallel_construct"]
    synth = ["mixture_plan", "synthetic", "synthetic_label", "synthetic_dedup", "synthetic_release", "training_mixture"]
    for chain in (spine, loop, bitext, synth):
        for up, down in zip(chain, chain[1:]):
            assert AssetKey(up) in graph.get(AssetKey(down)).parent_keys, f"{up} -> {down}"
    assert AssetKey("construct") in graph.get(AssetKey("mixture_plan")).parent_keys
    assert AssetKey("label") in graph.get(AssetKey("train_quality_model")).parent_keys
    assert {AssetKey("construct"), AssetKey("parallel_construct")} <= graph.get(AssetKey("language_plan")).parent_keys
    assert AssetKey("language_plan") in graph.get(AssetKey("mixture_plan")).parent_keys
    for job in ("ingest_web_crawl", "build_release", "replan", "build_mixture", "ingest_parallel", "build_parallel_release", "generate_synthetic", "ingest_business", "ingest_review"):
        assert defs.resolve_job_def(job)
    for sensor in ("web_crawl_inbox_sensor", "eval_inbox_sensor", "plan_change_sensor", "loop_failure_sensor", "parallel_inbox_sensor", "synthetic_request_sensor", "business_sources_sensor", "business_release_sensor", "review_inbox_sensor"):
        assert defs.resolve_sensor_def(sensor)
    assert {s.name for s in defs.schedules} == {"hourly_ingest_schedule", "nightly_release_schedule", "weekly_replan_schedule"}


def test_dagster_definitions_validate(tmp_path):
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path), "CURATION_DATA_ROOT": str(tmp_path / "data")}
    (tmp_path / "dagster.yaml").write_text((REPO / "dagster.yaml").read_text())
    exe = Path(sys.executable).parent / "dagster"
    out = subprocess.run([str(exe), "definitions", "validate", "-w", "workspace.yaml"], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Validation successful" in out.stdout + out.stderr


def test_packaged_instance_yaml_matches_repository_file():
    from curation_platform.assets.demo_run import INSTANCE_YAML

    assert (REPO / "dagster.yaml").read_text() == INSTANCE_YAML


def test_engine_never_imports_dagster():
    offenders = []
    for path in (REPO / "curation_platform").rglob("*.py"):
        if re.search(r"^\s*(import dagster|from dagster)", path.read_text("utf-8"), re.M):
            offenders.append(str(path.relative_to(REPO)))
    assert offenders == []
