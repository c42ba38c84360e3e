"""The loop asks, the synthetic corpus answers: the demo's evaluation gaps become data
requests, the synthetic_request_sensor (ticked against a real Dagster instance) launches
generate_synthetic against a real llama.cpp server, the samples pass the gates, and the
rebuilt training mixture keeps synthetic text under its cap. The API key set in the
environment never shows up in the event log or in metadata."""

from __future__ import annotations

import json

import duckdb
import polars as pl
import pytest
from dagster import DagsterEventType, DagsterInstance, EventRecordsFilter

from curation_platform.assets.demo_run import run_demo
from tests.conftest import scoped_env

SECRET = "sk-synthetic-test-secret-42"


@pytest.fixture(scope="module")
def synth_loop(tmp_path_factory, llm_server):
    root = tmp_path_factory.mktemp("synth_root")
    cfg = root.parent / f"{root.name}-config.yaml"
    cfg.write_text(
        "loop:\n  sampling: {total_tokens: 200000}\n"
        "synthetic:\n  llm: {max_tokens: 48, concurrency: 2}\n  max_samples_per_request: 1\n"
        "  generators: {in_context: 1.0}\n  max_share: {default: 0.2, languages: {jav_Latn: 0.3}}\n"
    )
    with scoped_env(CURATION_CONFIG=str(cfg), CURATION_LLM_URL=llm_server, CURATION_LLM_API_KEY=SECRET):
        yield root, run_demo(root, log=lambda m: None)


def test_requests_become_gated_synthetic_records(synth_loop):
    root, result = synth_loop
    assert any(r.get("synthetic") for r in result["loop_rounds"])  # the sensor launched generate_synthetic
    con = duckdb.connect(str(root / "catalogue.duckdb"), read_only=True)
    asked = {lang for (lang,) in con.execute("SELECT DISTINCT language FROM data_requests WHERE kind = 'synthetic' AND tokens > 0").fetchall()}
    con.close()
    assert "jav_Latn" in asked
    gen = pl.concat([pl.read_parquet(p) for p in (root / "lake" / "synthetic" / "labelled").glob("*.parquet")])
    assert set(gen["lang_hint"]) <= asked and "jav_Latn" in set(gen["lang_hint"])
    assert gen["synthetic"].all() and (gen["generator"] == "in_context").all()
    kept = gen.filter(pl.col("gate_keep"))
    assert kept.height > 0 and (kept["lang"] == kept["lang_hint"]).all()
    manifest = json.loads((root / "release" / "synthetic" / "current" / "manifest.json").read_text())
    assert manifest["released"] <= kept.height and manifest["released"] > 0
    assert set(manifest["languages"]) <= asked


def test_mixture_respects_the_synthetic_cap(synth_loop):
    root, _ = synth_loop
    manifest = json.loads((root / "mixture" / "current" / "manifest.json").read_text())
    langs = manifest["languages"]
    assert sum(v["synthetic_docs"] for v in langs.values()) > 0
    for lang, v in langs.items():
        assert v["synthetic_share"] <= v["synthetic_cap"] + 0.05, lang  # one document may overshoot by its own length
        assert v["synthetic_cap"] == (0.3 if lang == "jav_Latn" else 0.2)


def test_second_tick_generates_nothing_new_and_the_secret_never_leaks(synth_loop):
    root, result = synth_loop
    with DagsterInstance.get() as instance:
        mats = instance.get_event_records(EventRecordsFilter(event_type=DagsterEventType.ASSET_MATERIALIZATION), limit=500)
        synth = [r for r in mats if r.asset_key and r.asset_key.to_user_string() == "synthetic"]
        assert len({r.asset_materialization.metadata["plan_hash"].value for r in synth}) == len(synth)  # one batch per plan
        md = synth[0].asset_materialization.metadata
        assert md["llm_requests"].value + md["cache_hits"].value > 0
        for run in instance.get_runs():
            for entry in instance.all_logs(run.run_id):
                assert SECRET not in (entry.user_message or "") and SECRET not in str(entry.dagster_event or "")
    for path in root.rglob("*"):
        if path.is_file() and path.suffix in {".json", ".jsonl", ".yaml", ".md", ".parquet", ".sqlite", ".duckdb"}:
            assert SECRET.encode() not in path.read_bytes(), path
