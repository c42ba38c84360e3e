"""Run the whole asset graph on the generated demo input in a real Dagster instance:
the inbox sensor is evaluated for real, each shard it requests is ingested as its own
partition run, then the release job runs. Used by `curate demo` and the tests."""

import os
from pathlib import Path
from typing import Callable

from dagster import DagsterInstance, build_sensor_context

from curation_platform.assets.definitions import build_definitions
from curation_platform.assets.partitions import web_crawl_shards
from curation_platform.demo import write_demo_evals, write_demo_inbox
from curation_platform.resources import CurationResource, LLMResource
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
nux:
  enabled: false   # no community pop-up over the UI (and over screenshots)
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
    result = sensor(ctx)  # a SensorResult, or a SkipReason when nothing is new
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


def sensor_resources(root: Path) -> dict:
    """What the loop's sensors need, as `dagster dev` would give them from the Definitions."""
    return {"curation": CurationResource(data_root=str(root)),
            "llm": LLMResource(base_url=os.environ.get("CURATION_LLM_URL"), model=os.environ.get("CURATION_LLM_MODEL"))}


def run_loop(root: Path, instance: DagsterInstance, defs, log: Callable[[str], None] = print, max_rounds: int = 8) -> list[dict]:
    """Tick the loop's sensors and execute what they request until nothing is requested:
    eval inbox -> replan -> (plan changed?) -> mixture + proxy -> eval inbox -> ...

    Returns one entry per round with the plan hash and whether a mixture was built."""
    eval_sensor = defs.resolve_sensor_def("eval_inbox_sensor")
    plan_sensor = defs.resolve_sensor_def("plan_change_sensor")
    synth_sensor = defs.resolve_sensor_def("synthetic_request_sensor")
    resources = sensor_resources(root)
    eval_ctx = build_sensor_context(instance=instance, resources=resources, cursor=_load_cursor(root, "eval_inbox_sensor"))
    plan_ctx = build_sensor_context(instance=instance, resources=resources, cursor=_load_cursor(root, "plan_change_sensor"))
    synth_ctx = build_sensor_context(instance=instance, resources=resources, cursor=_load_cursor(root, "synthetic_request_sensor"))
    rounds = []
    for _ in range(max_rounds):
        tick = eval_sensor.evaluate_tick(eval_ctx)
        eval_ctx = build_sensor_context(instance=instance, resources=resources, cursor=tick.cursor or eval_ctx.cursor)
        _save_cursor(root, "eval_inbox_sensor", tick.cursor)
        if not tick.run_requests:
            log(f"loop: {tick.skip_message or 'no new evaluation results'}")
            break
        for req in tick.run_requests:
            log(f"replan for {req.tags['eval_file']} ...")
            res = defs.resolve_job_def("replan").execute_in_process(instance=instance, run_config=req.run_config, tags=req.tags)
            if not res.success:
                raise RuntimeError(f"replan for {req.tags['eval_file']} failed")
        synth_tick = synth_sensor.evaluate_tick(synth_ctx)
        synth_ctx = build_sensor_context(instance=instance, resources=resources, cursor=synth_tick.cursor or synth_ctx.cursor)
        _save_cursor(root, "synthetic_request_sensor", synth_tick.cursor)
        for req in synth_tick.run_requests:
            log(f"generate synthetic data for plan {req.tags['plan_hash']}, rebuild the mixture ...")
            res = defs.resolve_job_def("generate_synthetic").execute_in_process(instance=instance, tags=req.tags)
            if not res.success:
                raise RuntimeError("synthetic generation failed")
            rounds.append({"plan_hash": req.tags["plan_hash"], "mixture_built": True, "synthetic": True})
        plan_tick = plan_sensor.evaluate_tick(plan_ctx)
        plan_ctx = build_sensor_context(instance=instance, resources=resources, cursor=plan_tick.cursor or plan_ctx.cursor)
        _save_cursor(root, "plan_change_sensor", plan_tick.cursor)
        if not plan_tick.run_requests:
            log(f"loop: {plan_tick.skip_message}")
            rounds.append({"plan_hash": None, "mixture_built": False, "reason": plan_tick.skip_message})
            continue
        for req in plan_tick.run_requests:
            log(f"build mixture for plan {req.tags['plan_hash']} ...")
            res = defs.resolve_job_def("build_mixture").execute_in_process(instance=instance, tags=req.tags)
            if not res.success:
                raise RuntimeError("mixture build failed")
            rounds.append({"plan_hash": req.tags["plan_hash"], "mixture_built": True})
    return rounds


def _cursor_file(root: Path, name: str) -> Path:
    return root / "dagster_home" / f".{name}.cursor"


def _load_cursor(root: Path, name: str) -> str | None:
    p = _cursor_file(root, name)
    return p.read_text("utf-8") if p.is_file() else None


def _save_cursor(root: Path, name: str, cursor: str | None) -> None:
    if cursor:
        _cursor_file(root, name).write_text(cursor, encoding="utf-8")


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
        evals = write_demo_evals(layout.eval_inbox)
        log(f"demo evaluation results: {', '.join(p.name for p in evals)} in {layout.eval_inbox}")
        rounds = run_loop(root, instance, defs, log)
    manifest_path = layout.release_dir() / "current" / "manifest.json"
    import json

    plan_path = layout.loop_dir / "plans" / "latest.json"
    plan = json.loads(plan_path.read_text("utf-8")) if plan_path.is_file() else None
    proxy = []
    if plan is not None and (layout.eval_inbox / f"proxy-{plan['plan_hash']}.jsonl").is_file():
        proxy = [json.loads(ln) for ln in (layout.eval_inbox / f"proxy-{plan['plan_hash']}.jsonl").read_text("utf-8").splitlines() if ln.strip()]
    return {"partitions": keys, "manifest": json.loads(manifest_path.read_text("utf-8")), "release": str((layout.release_dir() / "current").resolve()),
            "root": str(root), "loop_rounds": rounds, "plan": plan, "proxy": proxy}
