"""Jobs, the inbox sensor and the schedules."""


import json
from pathlib import Path

from dagster import (
    AssetKey,
    AssetRecordsFilter,
    EventLogEntry,
    RunFailureSensorContext,
    asset_sensor,
    run_failure_sensor,
    run_status_sensor,
    DagsterRunStatus,
    RunStatusSensorContext,
    AssetSelection,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    RunRequest,
    ScheduleEvaluationContext,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    define_asset_job,
    schedule,
    sensor,
)

from curation_platform.assets.partitions import business_sources, parallel_corpora, web_crawl_shards
from curation_platform.bitext.readers import BITEXT_SUFFIXES, moses_siblings
from curation_platform.evals import EVAL_SUFFIXES, EvalFileError, parse_eval_file
from curation_platform.loop import ingested_registry, quarantine_eval_file
from curation_platform.readers import shard_format
from curation_platform.resources import CurationResource, LLMResource
from curation_platform.storage import file_digest, safe_key

ingest_job = define_asset_job(
    "ingest_web_crawl", selection=AssetSelection.assets("web_crawl", "standardize", "label"), partitions_def=web_crawl_shards,
    description="Parse, standardize and label one web-crawl shard.",
)
release_job = define_asset_job(
    "build_release", selection=AssetSelection.assets("deduplicate", "construct"),
    description="Deduplicate across all shards and build the per-language release.",
)


def scan_inbox(inbox: Path, cursor: dict[str, list], supported=lambda p: shard_format(p) is not None) -> tuple[list[tuple[str, Path, str]], list[str], dict[str, list]]:
    """New or changed shard files since the cursor -> (key, path, digest); unsupported names; new cursor.

    Only files whose size or mtime changed are hashed again, so a tick stays cheap."""
    new, unsupported, state = [], [], dict(cursor)
    if not inbox.is_dir():
        return new, unsupported, state
    for path in sorted(p for p in inbox.iterdir() if p.is_file() and not p.name.startswith(".")):
        st = path.stat()
        prev = cursor.get(path.name)
        if prev and prev[0] == st.st_size and prev[1] == st.st_mtime_ns:
            continue
        if not supported(path):
            unsupported.append(path.name)
            state[path.name] = [st.st_size, st.st_mtime_ns, None]
            continue
        digest = file_digest(path)
        state[path.name] = [st.st_size, st.st_mtime_ns, digest]
        if prev and prev[2] == digest:
            continue  # touched, not changed
        new.append((safe_key(path.name), path, digest))
    return new, unsupported, state


def _ingested_hash(context: SensorEvaluationContext, key: str) -> str | None:
    """Content hash recorded by the last web_crawl materialization of a partition, if any."""
    records = context.instance.fetch_materializations(AssetRecordsFilter(asset_key=AssetKey("web_crawl"), asset_partitions=[key]), limit=1).records
    if not records:
        return None
    value = records[0].asset_materialization.metadata.get("content_hash")
    return value.value if value is not None else None


@sensor(job=ingest_job, minimum_interval_seconds=30, default_status=DefaultSensorStatus.RUNNING)
def web_crawl_inbox_sensor(context: SensorEvaluationContext, curation: CurationResource):
    """Registers each new inbox file as a partition and requests its ingest run (run_key = content hash)."""
    cursor = json.loads(context.cursor) if context.cursor else {}
    new, unsupported, state = scan_inbox(curation.layout.inbox("web_crawl"), cursor)
    if not new:
        msg = f"no new shards; ignored unsupported files: {', '.join(unsupported)}" if unsupported else "no new shards"
        context.update_cursor(json.dumps(state, sort_keys=True))
        return SkipReason(msg)
    known = set(context.instance.get_dynamic_partitions(web_crawl_shards.name))
    new = [(k, p, d) for k, p, d in new if k not in known or _ingested_hash(context, k) != d]
    add = sorted({key for key, _, _ in new} - known)
    if not new:
        context.update_cursor(json.dumps(state, sort_keys=True))
        return SkipReason("new files were already ingested with the same content")
    return SensorResult(
        run_requests=[RunRequest(run_key=f"{key}:{digest}", partition_key=key, tags={"shard_file": path.name, "content_hash": digest}) for key, path, digest in new],
        dynamic_partitions_requests=[web_crawl_shards.build_add_request(add)] if add else [],
        cursor=json.dumps(state, sort_keys=True),
    )


@schedule(job=ingest_job, cron_schedule="0 * * * *", default_status=DefaultScheduleStatus.STOPPED)
def hourly_ingest_schedule(context: ScheduleEvaluationContext):
    """Hourly catch-up: ingest every registered shard whose label was never materialized."""
    keys = context.instance.get_dynamic_partitions(web_crawl_shards.name)
    done = context.instance.get_materialized_partitions(AssetKey("label"))
    todo = [k for k in keys if k not in done]
    if not todo:
        return SkipReason("every registered shard is labelled")
    return [RunRequest(run_key=f"catchup:{k}:{context.scheduled_execution_time.isoformat()}", partition_key=k) for k in todo]


@schedule(job=release_job, cron_schedule="30 2 * * *", default_status=DefaultScheduleStatus.STOPPED)
def nightly_release_schedule(context: ScheduleEvaluationContext):
    """Nightly rebuild of the deduplicated per-language release."""
    return RunRequest(run_key=f"release:{context.scheduled_execution_time.date().isoformat()}")


replan_job = define_asset_job(
    "replan", selection=AssetSelection.assets("eval_results", "quality_gaps", "language_plan", "mixture_plan"),
    description="Ingest evaluation results, recompute gaps and the mixture plan.",
)
review_job = define_asset_job(
    "ingest_review", selection=AssetSelection.assets("review_results"),
    description="Ingest reviewers' verdicts and measure the filters' precision.",
)
mixture_job = define_asset_job(
    "build_mixture", selection=AssetSelection.assets("training_mixture", "proxy_eval"),
    description="Materialize the plan as a training mixture and run the proxy evaluator.",
)


def file_inbox_tick(context: SensorEvaluationContext, inbox: Path, suffixes: tuple[str, ...], validate, error_type: type[Exception],
                    quarantine_dir: Path, kind: str, asset: str, skip: set[str] = frozenset()):
    """One run of `asset` per new file in `inbox` (run_key = `kind:` + content hash, the file
    named in its config); a file `validate` rejects is moved to `quarantine_dir` with its
    error beside it and named in the skip reason, while the other files proceed."""
    cursor = json.loads(context.cursor) if context.cursor else {}
    new, _, state = scan_inbox(inbox, cursor, lambda p: p.name.lower().endswith(suffixes))
    requests, bad = [], []
    for _, path, digest in new:
        if digest in skip:
            continue  # already in the history (e.g. a fresh sensor cursor after `curate demo`)
        try:
            validate(path, digest)
        except error_type as exc:
            quarantine_eval_file(path, str(exc), quarantine_dir)
            state.pop(path.name, None)
            bad.append(str(exc))
            continue
        requests.append(RunRequest(run_key=f"{kind}:{digest}", tags={f"{kind}_file": path.name, "content_hash": digest},
                                   run_config={"ops": {asset: {"config": {"files": [path.name]}}}}))
    if not requests:
        context.update_cursor(json.dumps(state, sort_keys=True))
        return SkipReason("quarantined: " + " | ".join(bad) if bad else f"no new {kind} files")
    if bad:
        context.log.warning("quarantined: " + " | ".join(bad))
    return SensorResult(run_requests=requests, cursor=json.dumps(state, sort_keys=True))


@sensor(job=replan_job, minimum_interval_seconds=30, default_status=DefaultSensorStatus.RUNNING)
def eval_inbox_sensor(context: SensorEvaluationContext, curation: CurationResource):
    """One replan run per new evaluation file (run_key = content hash); a malformed file is
    moved to quarantine/eval with its error and named in the skip reason; others proceed."""
    layout, cfg = curation.layout, curation.config()
    return file_inbox_tick(context, layout.eval_inbox, EVAL_SUFFIXES, lambda p, d: parse_eval_file(p, cfg["loop"]["eval_tasks"], d),
                           EvalFileError, layout.quarantine("eval"), "eval", "eval_results", set(ingested_registry(layout.loop_dir)))


@sensor(job=review_job, minimum_interval_seconds=30, default_status=DefaultSensorStatus.RUNNING)
def review_inbox_sensor(context: SensorEvaluationContext, curation: CurationResource):
    """One review_results run per new verdict file in inbox/review (run_key = content hash);
    a malformed file is quarantined with its error and named in the skip reason."""
    from curation_platform.review import REVIEW_SUFFIXES, ReviewFileError, parse_verdicts

    layout = curation.layout
    return file_inbox_tick(context, layout.inbox("review"), REVIEW_SUFFIXES, lambda p, d: parse_verdicts(p), ReviewFileError,
                           layout.quarantine("review"), "review", "review_results")


def _latest_metadata(instance, key: str, field: str):
    records = instance.fetch_materializations(AssetKey(key), limit=1).records
    if not records:
        return None
    value = records[0].asset_materialization.metadata.get(field)
    return value.value if value is not None else None


synthetic_job = define_asset_job(
    "generate_synthetic",
    selection=AssetSelection.assets("synthetic", "synthetic_label", "synthetic_dedup", "synthetic_release", "training_mixture", "proxy_eval"),
    description="Generate for the plan's synthetic requests, gate, dedup, release; then rebuild the mixture and re-evaluate.",
)


def _synthetic_pending(context: SensorEvaluationContext, asset_event: EventLogEntry, llm: LLMResource, curation: CurationResource) -> bool:
    """The plan asks for synthetic data, an LLM is configured, and no batch exists for this plan yet."""
    md = asset_event.asset_materialization.metadata
    wanted = md["synthetic_requests"].value if "synthetic_requests" in md else 0
    if not wanted or llm.settings(curation.config()) is None:
        return False
    return _latest_metadata(context.instance, "synthetic", "plan_hash") != md["plan_hash"].value


@asset_sensor(asset_key=AssetKey("mixture_plan"), job=synthetic_job, default_status=DefaultSensorStatus.RUNNING)
def synthetic_request_sensor(context: SensorEvaluationContext, asset_event: EventLogEntry, llm: LLMResource, curation: CurationResource):
    """A new plan with synthetic data requests launches generation for it (run_key = plan
    hash, so a plan is generated for once); without an LLM endpoint it says so and waits."""
    md = asset_event.asset_materialization.metadata
    plan_hash = md["plan_hash"].value
    wanted = md["synthetic_requests"].value if "synthetic_requests" in md else 0
    if not wanted:
        return SkipReason(f"plan {plan_hash} has no synthetic requests")
    if llm.settings(curation.config()) is None:
        return SkipReason(f"plan {plan_hash} has {wanted} synthetic requests but no LLM endpoint is configured (CURATION_LLM_URL)")
    if not _synthetic_pending(context, asset_event, llm, curation):
        return SkipReason(f"synthetic data for plan {plan_hash} already generated")
    return RunRequest(run_key=f"synthetic:{plan_hash}", tags={"plan_hash": plan_hash})


@asset_sensor(asset_key=AssetKey("mixture_plan"), job=mixture_job, default_status=DefaultSensorStatus.RUNNING)
def plan_change_sensor(context: SensorEvaluationContext, asset_event: EventLogEntry, llm: LLMResource, curation: CurationResource):
    """Rebuild the mixture only when the plan hash differs from the one it was built from:
    an unchanged plan triggers nothing, which is what ends the loop."""
    plan_hash = asset_event.asset_materialization.metadata["plan_hash"].value
    built = _latest_metadata(context.instance, "training_mixture", "plan_hash")
    if built == plan_hash:
        return SkipReason(f"plan {plan_hash} unchanged: the mixture is already built from it")
    if _synthetic_pending(context, asset_event, llm, curation):
        return SkipReason(f"plan {plan_hash} has synthetic requests: generate_synthetic builds the mixture after them")
    return RunRequest(run_key=f"mixture:{plan_hash}", tags={"plan_hash": plan_hash})


@run_failure_sensor(monitored_jobs=[replan_job, mixture_job, synthetic_job], default_status=DefaultSensorStatus.RUNNING)
def loop_failure_sensor(context: RunFailureSensorContext):
    """Reports failed loop runs: a log line and a row in <data root>/loop/failures.jsonl."""
    from curation_platform.resources import default_data_root

    err = context.failure_event.message or "run failed"
    line = {"run_id": context.dagster_run.run_id, "job": context.dagster_run.job_name, "error": err[:2000]}
    path = Path(default_data_root()) / "loop" / "failures.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(line) + "\n")
    context.log.error(f"loop run {line['run_id']} ({line['job']}) failed: {err[:300]}")


@schedule(job=replan_job, cron_schedule="0 3 * * 1", default_status=DefaultScheduleStatus.STOPPED)
def weekly_replan_schedule(context: ScheduleEvaluationContext):
    """Weekly re-plan (and, through plan_change_sensor, mixture rebuild if the plan changed)."""
    return RunRequest(run_key=f"replan:{context.scheduled_execution_time.date().isoformat()}")


parallel_job = define_asset_job(
    "ingest_parallel", selection=AssetSelection.assets("parallel", "parallel_label"), partitions_def=parallel_corpora,
    description="Parse and label one parallel corpus.",
)
parallel_release_job = define_asset_job(
    "build_parallel_release", selection=AssetSelection.assets("parallel_dedup", "parallel_construct"),
    description="Deduplicate all parallel corpora and build the per-pair release.",
)


def _parallel_file(path: Path) -> bool:
    return path.name.lower().endswith(BITEXT_SUFFIXES) or moses_siblings(path) is not None


@sensor(job=parallel_job, minimum_interval_seconds=30, default_status=DefaultSensorStatus.RUNNING)
def parallel_inbox_sensor(context: SensorEvaluationContext, curation: CurationResource):
    """A partition and an ingest run per new parallel corpus (run_key = content hash); a Moses
    file waits until its sibling arrives (both files form one partition)."""
    from curation_platform.assets.parallel import corpus_key

    cursor = json.loads(context.cursor) if context.cursor else {}
    new, unsupported, state = scan_inbox(curation.layout.inbox("parallel"), cursor, _parallel_file)
    for name in unsupported:
        state.pop(name, None)  # maybe the first half of a Moses pair: look again next tick
    if not new:
        context.update_cursor(json.dumps(state, sort_keys=True))
        return SkipReason(f"no new corpora; waiting for/ignoring: {', '.join(unsupported)}" if unsupported else "no new corpora")
    requests: dict[str, RunRequest] = {}
    for _, path, digest in new:
        key = corpus_key(path)
        prev = requests.get(key)
        run_key = f"{key}:{digest}" if prev is None else f"{prev.run_key}+{digest}"
        requests[key] = RunRequest(run_key=run_key, partition_key=key, tags={"corpus_file": path.name})
    known = set(context.instance.get_dynamic_partitions(parallel_corpora.name))
    add = sorted(set(requests) - known)
    return SensorResult(run_requests=list(requests.values()),
                        dynamic_partitions_requests=[parallel_corpora.build_add_request(add)] if add else [],
                        cursor=json.dumps(state, sort_keys=True))


train_langid_job = define_asset_job(
    "retrain_langid", selection=AssetSelection.assets("train_langid"),
    description="Retrain our language-ID model (with the sentences in inbox/langid/).",
)


@sensor(job=train_langid_job, minimum_interval_seconds=60, default_status=DefaultSensorStatus.RUNNING)
def langid_inbox_sensor(context: SensorEvaluationContext, curation: CurationResource):
    """A retraining run whenever the set of `<language code>.txt` files in inbox/langid/
    changes (run_key = a hash of their names and contents): a language a user adds is
    identified, and its text kept, from the next label run on."""
    from curation_platform.assets.models import langid_inbox

    folder = langid_inbox(curation.layout.root)
    files = sorted(folder.glob("*.txt")) if folder.is_dir() else []
    if not files:
        return SkipReason(f"no <language code>.txt files in {folder}")
    fingerprint = file_digest_many(files)
    return RunRequest(run_key=f"langid:{fingerprint}", tags={"languages": ",".join(p.stem for p in files)})


def file_digest_many(files: list[Path]) -> str:
    import hashlib

    h = hashlib.sha256()
    for f in files:
        h.update(f.name.encode() + b"\0" + file_digest(f).encode() + b"\0")
    return h.hexdigest()[:20]


business_job = define_asset_job(
    "ingest_business", selection=AssetSelection.assets("business"), partitions_def=business_sources,
    description="Map, govern, redact and label one declared business source.",
)


def business_fingerprints(curation: CurationResource) -> tuple[dict[str, str], str | None]:
    """Per declared source: a hash of its declaration, its data file (when a file) and the
    opt-out list; a changed declaration, file or opt-out list re-runs the source."""
    from curation_platform.assets.business import optout_file, sources_file
    from curation_platform.business import SourceError, load_sources, source_fingerprint_parts
    from curation_platform.settings import config_hash

    cfg = curation.config()
    path = sources_file(curation, cfg)
    if not path.is_file():
        return {}, f"no sources file at {path}"
    try:
        sources = load_sources(path)
    except SourceError as exc:
        return {}, str(exc)
    opt = optout_file(curation, cfg)
    opt_digest = file_digest(opt) if opt.is_file() else "-"
    out = {}
    for s in sources:
        out[s.name] = config_hash({"decl": [s.kind, s.mapping, s.governance, s.table, s.query], **source_fingerprint_parts(s), "optout": opt_digest})[:16]
    return out, None


@sensor(job=business_job, minimum_interval_seconds=60, default_status=DefaultSensorStatus.RUNNING)
def business_sources_sensor(context: SensorEvaluationContext, curation: CurationResource):
    """A partition per declared business source and a run whenever its declaration, its file
    or the opt-out list changes (run_key = that fingerprint). A source the YAML refuses
    (e.g. no consent field) is named in the skip reason and never ingested."""
    prints, problem = business_fingerprints(curation)
    if problem:
        return SkipReason(problem)
    known = set(context.instance.get_dynamic_partitions(business_sources.name))
    add = sorted(set(prints) - known)
    return SensorResult(
        run_requests=[RunRequest(run_key=f"{name}:{fp}", partition_key=name, tags={"fingerprint": fp}) for name, fp in sorted(prints.items())],
        dynamic_partitions_requests=[business_sources.build_add_request(add)] if add else [],
    )


@run_status_sensor(run_status=DagsterRunStatus.SUCCESS, monitored_jobs=[business_job], request_job=release_job,
                   default_status=DefaultSensorStatus.RUNNING, minimum_interval_seconds=60)
def business_release_sensor(context: RunStatusSensorContext):
    """After a business source is (re)ingested, rebuild the dedup index and the release, so
    new records, and opt-outs, reach the released shards without waiting for the night."""
    return RunRequest(run_key=f"release-after:{context.dagster_run.run_id}")
