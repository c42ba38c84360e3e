"""Which Dagster executor runs the jobs: the multiprocess executor on one machine (the
default; steps of a run in parallel up to `execution.max_concurrent`), Celery workers
beyond it (dagster-celery: Redis / RabbitMQ broker in production, Celery's filesystem
broker on one machine), or Dask. Never a home-made engine: every choice is one of
Dagster's executors, picked in config or by `CURATION_EXECUTOR`."""

from __future__ import annotations

import os

from dagster import ExecutorDefinition, in_process_executor, multiprocess_executor

EXECUTORS = ("multiprocess", "in_process", "celery", "dask")


def celery_settings(cfg: dict) -> dict:
    """dagster-celery's app arguments from `execution.celery` (env CURATION_CELERY_BROKER /
    CURATION_CELERY_BACKEND win): the run process and the workers must agree on them, so
    both read them here (workers: `celery -A curation_platform.assets.celery_worker worker -Q dagster`)."""
    ccfg = (cfg.get("execution") or {}).get("celery") or {}
    broker = os.environ.get("CURATION_CELERY_BROKER") or ccfg.get("broker")
    backend = os.environ.get("CURATION_CELERY_BACKEND") or ccfg.get("backend")
    if not broker or not backend:
        raise ValueError("execution.executor is 'celery': set execution.celery.broker and .backend "
                         "(or CURATION_CELERY_BROKER / CURATION_CELERY_BACKEND)")
    return {"broker": broker, "backend": backend, "include": list(ccfg.get("include") or []),
            "config_source": dict(ccfg.get("config_source") or {})}


def executor_from_config(cfg: dict) -> ExecutorDefinition:
    ecfg = cfg.get("execution") or {}
    kind = os.environ.get("CURATION_EXECUTOR") or ecfg.get("executor") or "multiprocess"
    if kind == "in_process":
        return in_process_executor
    if kind == "multiprocess":
        limit = int(os.environ.get("CURATION_MAX_CONCURRENT") or ecfg.get("max_concurrent") or os.cpu_count() or 2)
        return multiprocess_executor.configured({"max_concurrent": limit}, name="multiprocess")
    if kind == "celery":
        try:
            from dagster_celery import celery_executor
        except ImportError as exc:
            raise RuntimeError("execution.executor is 'celery': install the extra, `pip install curation-platform[celery]`") from exc
        return celery_executor.configured(celery_settings(cfg), name="celery")
    if kind == "dask":
        try:
            from dagster_dask import dask_executor
        except ImportError as exc:
            raise RuntimeError("execution.executor is 'dask': install the extra, `pip install curation-platform[dask]`") from exc
        dcfg = ecfg.get("dask") or {}
        address = os.environ.get("CURATION_DASK_SCHEDULER") or dcfg.get("scheduler")
        cluster = ({"existing": {"address": address}} if address else
                   {"local": {"n_workers": int(dcfg.get("n_workers", 2)), "threads_per_worker": int(dcfg.get("threads_per_worker", 1)),
                              "processes": True, "dashboard_address": dcfg.get("dashboard_address")}})
        return dask_executor.configured({"cluster": cluster}, name="dask")
    raise ValueError(f"execution.executor (or CURATION_EXECUTOR) is {kind!r}; expected one of {', '.join(EXECUTORS)}")
