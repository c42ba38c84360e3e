"""Scale-out through an existing distributed engine: the ingest job of the real Definitions
runs on Celery (dagster-celery executor) with a real Celery worker process started here and
stopped by its PID, Celery's filesystem broker and result backend (no server to install),
a real on-disk Dagster instance and a data root that the run and the worker share."""

from __future__ import annotations

import importlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import polars as pl
import pytest
from dagster import AssetKey, DagsterEventType, DagsterInstance, execute_job, reconstructable


def _shard(path, lines, offset):
    recs = [{"url": f"https://example.org/{offset + i}", "text": "\n".join(lines[offset + i * 6 : offset + i * 6 + 6])} for i in range(20)]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in recs) + "\n", encoding="utf-8")


@pytest.fixture()
def celery_env(tmp_path, monkeypatch):
    """Config + environment for the celery executor, and a worker process on the same broker."""
    root, home, broker = tmp_path / "data", tmp_path / "dagster_home", tmp_path / "broker"
    for d in (root / "inbox" / "web_crawl", home, broker / "queue", broker / "processed", broker / "results", broker / "control"):
        d.mkdir(parents=True)
    shutil.copy(os.path.join(os.path.dirname(__file__), "..", "..", "dagster.yaml"), home / "dagster.yaml")
    cfg = tmp_path / "config.yaml"
    cfg.write_text(json.dumps({"execution": {"executor": "celery", "celery": {
        "broker": "filesystem://", "backend": f"file://{broker / 'results'}",
        "config_source": {"broker_transport_options": {"data_folder_in": str(broker / "queue"), "data_folder_out": str(broker / "queue"),
                                                       "processed_folder": str(broker / "processed"), "store_processed": True,
                                                       "control_folder": str(broker / "control")}}}}}))
    env = {"CURATION_CONFIG": str(cfg), "CURATION_DATA_ROOT": str(root), "DAGSTER_HOME": str(home)}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    log = open(tmp_path / "worker.log", "w")
    worker = subprocess.Popen([sys.executable, "-m", "celery", "-A", "curation_platform.assets.celery_worker", "worker", "-Q", "dagster",
                               "--concurrency", "2", "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel", "INFO"],
                              env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield root, worker, tmp_path / "worker.log"
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
        log.close()


def test_ingest_runs_on_celery_workers(celery_env, flores):
    root, worker, worker_log = celery_env
    lines = flores("ind_Latn")
    _shard(root / "inbox" / "web_crawl" / "a.jsonl", lines, 0)
    _shard(root / "inbox" / "web_crawl" / "b.jsonl", lines, 200)

    import curation_platform.assets.definitions as definitions

    importlib.reload(definitions)  # Definitions read the executor from the config in the environment
    instance = DagsterInstance.get()
    try:
        assert definitions.defs.resolve_job_def("ingest_web_crawl").executor_def.name == "celery"
        instance.add_dynamic_partitions("web_crawl_shards", ["a.jsonl", "b.jsonl"])
        t0 = time.time()
        for key in ("a.jsonl", "b.jsonl"):
            with execute_job(reconstructable(definitions.ingest_job_def), instance, tags={"dagster/partition": key}) as result:
                assert result.success, (key, worker_log.read_text()[-3000:])
                run_id = result.run_id
            steps = instance.get_records_for_run(run_id, of_type=DagsterEventType.STEP_SUCCESS).records
            assert {r.event_log_entry.step_key for r in steps} == {"web_crawl", "standardize", "label"}
            assert {r.event_log_entry.dagster_event.pid for r in steps} - {os.getpid()}  # the steps ran in the worker's processes
        assert worker.poll() is None and "succeeded" in worker_log.read_text()  # the worker executed the tasks
        for key in ("a", "b"):
            df = pl.read_parquet(root / "lake" / "web_crawl" / "labelled" / f"{key}.jsonl.parquet")
            assert df.height == 20 and (df["lang"] == "ind_Latn").all() and df["keep"].sum() >= 18
        mats = instance.fetch_materializations(AssetKey("label"), limit=100).records
        assert sorted(m.partition_key for m in mats) == ["a.jsonl", "b.jsonl"]
        assert time.time() - t0 < 300
    finally:
        instance.dispose()
        os.environ.pop("CURATION_CONFIG", None)
        importlib.reload(definitions)
