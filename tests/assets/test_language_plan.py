"""The language plan in a real Dagster instance: the demo release plus a parallel release
built by the parallel assets from shared Tatoeba / TICO-19 files; the `replan` job
materializes language_plan and mixture_plan, and `build_mixture` puts the selected
languages' parallel pairs into the training mixture."""

from __future__ import annotations

import json
import shutil

import polars as pl
import pytest
from dagster import DagsterInstance

from curation_platform.assets.definitions import build_definitions
from curation_platform.assets.demo_run import run_demo
from tests.conftest import scoped_env


@pytest.fixture(scope="module")
def planned(tmp_path_factory, data_dir):
    root = tmp_path_factory.mktemp("plan_root")
    cfg = root.parent / f"{root.name}-config.yaml"
    cfg.write_text("language_plan:\n  k: 2\n  min_pivot_tokens: 100\n  targets: [jv, su, ace, min, tl, km]\n")
    with scoped_env(CURATION_CONFIG=str(cfg)):
        run_demo(root, log=lambda m: None)
        inbox = root / "inbox" / "parallel"
        inbox.mkdir(parents=True, exist_ok=True)
        for name in ("tatoeba/eng-jav.v2021-08-07.tsv", "tatoeba/eng-ind.v2021-08-07.tsv", "tatoeba/ceb-eng.v2021-08-07.tsv"):
            shutil.copy(data_dir / "parallel" / name, inbox)
        for pair in ("en-tl", "en-km"):
            lines = (data_dir / f"parallel/tico19/{pair}.tsv").read_text("utf-8").splitlines()[:60]
            (inbox / f"tico.{pair}.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
        defs = build_definitions(str(root))
        with DagsterInstance.get() as instance:
            keys = sorted(p.name for p in inbox.iterdir())
            instance.add_dynamic_partitions("parallel_corpora", keys)
            for key in keys:
                assert defs.resolve_job_def("ingest_parallel").execute_in_process(instance=instance, partition_key=key).success
            assert defs.resolve_job_def("build_parallel_release").execute_in_process(instance=instance).success
            replan = defs.resolve_job_def("replan").execute_in_process(instance=instance)
            assert replan.success
            lp_md = replan.asset_materializations_for_node("language_plan")[0].metadata
            assert defs.resolve_job_def("build_mixture").execute_in_process(instance=instance).success
        yield root, lp_md


def test_language_plan_asset_selects_covers_and_reports(planned):
    root, md = planned
    plan = json.loads((root / "loop" / "language_plan.json").read_text())
    pairs = json.loads((root / "release/parallel/current/manifest.json").read_text())["language_pairs"]
    assert plan["targets"] == sorted(["jav_Latn", "sun_Latn", "ace_Latn", "min_Latn", "tgl_Latn", "khm_Khmr"])  # user codes normalised
    assert set(plan["candidates"]) == {lang for p in pairs for lang in p.split("-")}
    assert len(plan["selected"]) == 2 and set(plan["selected"]) <= set(plan["candidates"])
    base = plan["baselines"]
    assert base["selected"]["worst"] <= base["random_k"]["worst"]
    assert md["worst_coverage_selected"].value == base["selected"]["worst"]
    assert "data:image/png;base64," in md["plan_chart"].value and "random_k" in md["baselines"].value
    assert plan["parallel_pairs"] and all(any(lang in p.split("-") for lang in plan["selected"]) for p in plan["parallel_pairs"])


def test_mixture_uses_the_plan_pairs_and_pivots(planned):
    root, _ = planned
    lplan = json.loads((root / "loop" / "language_plan.json").read_text())
    mplan = json.loads((root / "loop" / "plans" / "latest.json").read_text())
    assert mplan["transfer"]["selected"] == lplan["selected"] and mplan["transfer"]["parallel_pairs"] == lplan["parallel_pairs"]
    # pivots: the nearest high-resource language with at least min_pivot_tokens kept in the release
    release = json.loads((root / "release/current/manifest.json").read_text())["languages"]
    assert set(lplan["pivot_options"]) == {h for h in ("eng_Latn", "ind_Latn", "zsm_Latn", "vie_Latn", "tha_Thai", "zho_Hans", "jpn_Jpan", "kor_Hang",
                                                        "hin_Deva", "arb_Arab", "fra_Latn", "spa_Latn", "por_Latn", "rus_Cyrl")
                                            if release.get(h, {}).get("tokens", 0) >= 100}
    assert mplan["transfer"]["pivots"]["jav_Latn"] in lplan["pivot_options"]
    manifest = json.loads((root / "mixture" / "current" / "manifest.json").read_text())
    assert set(manifest["parallel"]) == set(lplan["parallel_pairs"])
    for pair, info in manifest["parallel"].items():
        df = pl.read_parquet(root / "mixture" / "current" / "parallel" / f"{pair}.parquet")
        assert df.height == info["pairs"] > 0 and {"src_text", "tgt_text", "src_lang", "tgt_lang"} <= set(df.columns)
