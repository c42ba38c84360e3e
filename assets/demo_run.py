"""Run the whole asset graph on the generated demo input in a real Dagster instance:
the inbox sensor is evaluated for real, each shard it requests is ingested as its own
partition run, then the release job runs. Used by `curate demo` and the tests."""

import os
from pathlib import Path
from typing import Callable

from dagster import DagsterInstance, build_sensor_context

from curation_platform.assets.definitions import build_definitions
from curation_platform.assets.partitions import web_crawl_shards
from curation_platform.demo import write_demo_inbox
from curation_platform.resources import CurationResource
from curation_platform.storage import Layout

# Same content as the repository's dagster.yaml (a test keeps them equal), for installs
# that run outside a checkout.
INSTANCE_YAML = """\
# Instance config. Copied into $DAGSTER_HOME (data/dagster_home) by `make dev` / `curate demo`.
# Storage is SQLite under $DAGSTER_HOME by default: no server needed on a laptop.
concurrency:
  runs:
    max_concurrent_runs: 4
  pools:
    # Assets that write the DuckDB catalogue declare pool="duckdb": one writer at a time.
    default_limit: 1
telemetry:
  enabled: false
"""


def prepare_home(root: Path) -> Path:
    """DAGSTER_HOME under the data root, with the project's instance config."""
    home = root / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    target = home / "dagster.yaml"
    local = Path("dagster.yaml")
    text = local.read_text("utf-8") if local.is_file() else INSTANCE_YAML
    if not target.is_file() or target.read_text("utf-8") != text:
        target.write_text(text, encoding="utf-8")
    return home


def ingest_inbox(root: Path, instance: DagsterInstance, defs, log: Callable[[str], None] = print) -> list[str]:
    """One sensor tick, carried out: register new partitions, run each requested ingest."""
    sensor = defs.resolve_sensor_def("web_crawl_inbox_sensor")
    ctx = build_sensor_context(instance=instance, resources={"curation": CurationResource(data_root=str(root))})
    result = sensor(ctx)
    for req in getattr(result, "dynamic_partitions_requests", None) or []:
        instance.add_dynamic_partitions(web_crawl_shards.name, list(req.partition_keys))
    job = defs.resolve_job_def("ingest_web_crawl")
    keys = []
    for run in getattr(result, "run_requests", None) or []:
        log(f"ingest {run.partition_key} ...")
        res = job.execute_in_process(instance=instance, partition_key=run.partition_key, tags=run.tags)
        if not res.success:
            raise RuntimeError(f"ingest of {run.partition_key} failed")
        keys.append(run.partition_key)
    return keys


def run_demo(data_root: str | Path, log: Callable[[str], None] = print) -> dict:
    root = Path(data_root).resolve()
    layout = Layout(root).ensure()
    os.environ["DAGSTER_HOME"] = str(prepare_home(root))
    os.environ["CURATION_DATA_ROOT"] = str(root)
    files = write_demo_inbox(layout.inbox("web_crawl"))
    log(f"demo input: {', '.join(p.name for p in files)} in {layout.inbox('web_crawl')}")
    defs = build_definitions(str(root))
    with DagsterInstance.get() as instance:
        keys = ingest_inbox(root, instance, defs, log)
        log("deduplicate + construct ...")
        res = defs.resolve_job_def("build_release").execute_in_process(instance=instance)
        if not res.success:
            raise RuntimeError("release job failed")
    manifest_path = layout.release_dir() / "current" / "manifest.json"
    import json

    return {"partitions": keys, "manifest": json.loads(manifest_path.read_text("utf-8")), "release": str((layout.release_dir() / "current").resolve()), "root": str(root)}
