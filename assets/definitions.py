"""The one Definitions object: assets, checks, jobs, sensors, schedules, resources."""

from __future__ import annotations

from pathlib import Path

from dagster import AssetSelection, AutomationConditionSensorDefinition, DefaultSensorStatus, Definitions, EnvVar  # noqa: F401  (EnvVar: how secrets will come in)
from dagster_duckdb import DuckDBResource

from curation_platform.assets.automation import (
    business_job,
    train_langid_job,
    business_release_sensor,
    business_sources_sensor,
    langid_inbox_sensor,
    eval_inbox_sensor,
    hourly_ingest_schedule,
    ingest_job,
    loop_failure_sensor,
    mixture_job,
    nightly_release_schedule,
    parallel_inbox_sensor,
    parallel_job,
    parallel_release_job,
    plan_change_sensor,
    release_job,
    replan_job,
    review_inbox_sensor,
    review_job,
    synthetic_job,
    synthetic_request_sensor,
    web_crawl_inbox_sensor,
    weekly_replan_schedule,
)
from curation_platform.assets.business import business
from curation_platform.assets.executors import executor_from_config
from curation_platform.assets.construct import construct
from curation_platform.assets.deduplicate import deduplicate
from curation_platform.assets.label import label
from curation_platform.assets.models import train_langid, train_quality_model
from curation_platform.assets.loop import eval_results, language_plan, mixture_plan, proxy_eval, quality_gaps, training_mixture
from curation_platform.assets.parallel import parallel, parallel_construct, parallel_dedup, parallel_label
from curation_platform.assets.standardize import standardize
from curation_platform.assets.review import review_results, review_sample
from curation_platform.assets.synthetic import synthetic, synthetic_dedup, synthetic_label, synthetic_release
from curation_platform.assets.web_crawl import web_crawl
from curation_platform.resources import CurationResource, EmbeddingsResource, LangIdResource, LLMResource, default_data_root
from curation_platform.settings import load_config

import os


# The assets' automation conditions (`deduplicate` and `construct` rebuild eagerly after new
# labels) are evaluated by this sensor; it runs whenever the daemon does (Dagster's own
# default sensor of this name is off until someone switches it on in the UI).
automation_sensor = AutomationConditionSensorDefinition(
    "default_automation_condition_sensor", target=AssetSelection.all(), default_status=DefaultSensorStatus.RUNNING, minimum_interval_seconds=30,
    description="Evaluates the assets' automation conditions: deduplicate and construct rebuild after new shards are labelled.")


def build_definitions(data_root: str | None = None, config_path: str | None = None, langid_model: str | None = None) -> Definitions:
    root = data_root or default_data_root()
    config_path = config_path or os.environ.get("CURATION_CONFIG")
    return Definitions(
        executor=executor_from_config(load_config(config_path)),
        assets=[web_crawl, standardize, label, deduplicate, construct, eval_results, quality_gaps, language_plan, mixture_plan, training_mixture, proxy_eval,
                parallel, parallel_label, parallel_dedup, parallel_construct,
                synthetic, synthetic_label, synthetic_dedup, synthetic_release, business, train_langid, train_quality_model,
                review_sample, review_results],
        jobs=[ingest_job, release_job, replan_job, mixture_job, parallel_job, parallel_release_job, synthetic_job, business_job, review_job,
              train_langid_job],
        sensors=[web_crawl_inbox_sensor, eval_inbox_sensor, plan_change_sensor, loop_failure_sensor, parallel_inbox_sensor,
                 synthetic_request_sensor, business_sources_sensor, business_release_sensor, review_inbox_sensor,
                 langid_inbox_sensor, automation_sensor],
        schedules=[hourly_ingest_schedule, nightly_release_schedule, weekly_replan_schedule],
        resources={
            "curation": CurationResource(data_root=root, config_path=config_path),
            "langid": LangIdResource(model_path=langid_model or os.environ.get("CURATION_LANGID_MODEL"),
                                     trained_dir=os.environ.get("CURATION_TRAINED_LANGID") or str(Path(root) / "models" / "langid")),
            "duckdb": DuckDBResource(database=str(Path(root) / "catalogue.duckdb")),
            "embeddings": EmbeddingsResource(base_url=os.environ.get("CURATION_EMBEDDINGS_URL")),
            "llm": LLMResource(base_url=os.environ.get("CURATION_LLM_URL"), model=os.environ.get("CURATION_LLM_MODEL")),
        },
    )


defs = build_definitions()


def ingest_job_def():
    """The ingest job of the module's Definitions, for `reconstructable` (executors that run
    steps in other processes or on other machines rebuild the job from this function)."""
    return defs.resolve_job_def("ingest_web_crawl")
