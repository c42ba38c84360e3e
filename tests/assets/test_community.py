"""Community-contributed sources in a real Dagster instance: a folder per contributor
group with required terms (licence, consent basis, steward, allowed uses, attribution,
revocation list). A source without consent is refused; attributions reach the data
card; a non-commercial row never reaches a commercial mixture; a revoked contributor's
rows disappear from every downstream asset after the sensor re-runs the source."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
import yaml
from dagster import DagsterInstance, build_sensor_context

from curation_platform.assets.definitions import build_definitions
from curation_platform.assets.demo_run import prepare_home
from curation_platform.business import SourceError, load_sources
from curation_platform.loop import build_training_mixture
from curation_platform.resources import CurationResource
from curation_platform.settings import load_config
from curation_platform.storage import Layout
from tests.conftest import scoped_env

TERMS = {"licence": "CC-BY-NC-4.0", "consent_basis": "signed contributor agreement, 2026-06", "steward": "Komunitas Basa Jawa <steward@example.org>",
         "allowed_uses": {"pretraining": True, "commercial": False}, "attribution": "Javanese stories by the Komunitas Basa Jawa storytellers",
         "revocations": "jv-revoked.txt"}


def _docs(flores, code: str, start: int, n: int) -> list[str]:
    s = flores(code)
    return [" ".join(s[start + 6 * i : start + 6 * i + 6]) for i in range(n)]


@pytest.fixture(scope="module")
def community(tmp_path_factory, flores):
    root = tmp_path_factory.mktemp("community_root")
    inbox = root / "inbox" / "business"
    folder = inbox / "jv-stories"
    folder.mkdir(parents=True)
    jav = _docs(flores, "jav_Latn", 0, 12)
    groups = {"group-a.jsonl": [("c1", t) for t in jav[:4]] + [("c2", t) for t in jav[4:8]], "group-b.jsonl": [("c3", t) for t in jav[8:]]}
    for name, rows in groups.items():
        (folder / name).write_text("".join(json.dumps({"id": f"s{i}", "contributor": c, "text": t}, ensure_ascii=False) + "\n"
                                           for i, (c, t) in enumerate(rows)), encoding="utf-8")
    sun = _docs(flores, "sun_Latn", 0, 6)
    (inbox / "su-news.jsonl").write_text("".join(json.dumps({"id": f"n{i}", "by": "desk", "text": t}) + "\n" for i, t in enumerate(sun)), encoding="utf-8")
    mapping = {"id": "id", "text": "text", "contributor": "contributor"}
    (inbox / "sources.yaml").write_text(yaml.safe_dump({"sources": [
        {"name": "jv-stories", "kind": "jsonl", "path": "jv-stories", "mapping": {**mapping, "lang": {"value": "jav_Latn"}}, "community": TERMS},
        {"name": "su-news", "kind": "jsonl", "path": "su-news.jsonl", "mapping": {**mapping, "contributor": "by", "lang": {"value": "sun_Latn"}},
         "community": {**TERMS, "licence": "CC-BY-4.0", "allowed_uses": {"pretraining": True, "commercial": True},
                       "attribution": "Sundanese news from the Warta Sunda desk", "revocations": None}},
    ]}, allow_unicode=True))
    with scoped_env(DAGSTER_HOME=str(prepare_home(root)), CURATION_DATA_ROOT=str(root), CURATION_CONFIG=None):
        yield from _community(root, folder)


def _community(root: Path, folder: Path):
    defs = build_definitions(str(root))
    instance = DagsterInstance.get()
    state = {"cursor": None}

    def cycle() -> list[str]:
        sensor = defs.resolve_sensor_def("business_sources_sensor")
        result = sensor(build_sensor_context(instance=instance, resources={"curation": CurationResource(data_root=str(root))}, cursor=state["cursor"]))
        state["cursor"] = getattr(result, "cursor", None) or state["cursor"]
        for req in getattr(result, "dynamic_partitions_requests", None) or []:
            instance.add_dynamic_partitions(req.partitions_def_name, list(req.partition_keys))
        done = []
        for req in getattr(result, "run_requests", None) or []:
            if any(r.tags.get("dagster/run_key") == req.run_key for r in instance.get_runs()):
                continue
            res = defs.resolve_job_def("ingest_business").execute_in_process(instance=instance, partition_key=req.partition_key,
                                                                               tags={**req.tags, "dagster/run_key": req.run_key})
            assert res.success
            done.append(req.partition_key)
        assert defs.resolve_job_def("build_release").execute_in_process(instance=instance).success
        layout = Layout(root)
        plan = {"plan_hash": "community", "languages": {lang: {"budget_tokens": 3000} for lang in ("jav_Latn", "sun_Latn")}}
        for uses in (["pretraining"], ["pretraining", "commercial"]):
            cfg = load_config()
            cfg["loop"]["mixture"]["uses"] = uses
            build_training_mixture(layout.release_dir() / "current", {**plan, "plan_hash": "-".join(uses)}, cfg, layout.mixture_dir)
        return done

    try:
        yield root, cycle, folder
    finally:
        instance.dispose()


def _rows(path: Path) -> pl.DataFrame:
    return pl.concat([pl.read_parquet(p) for p in sorted(path.rglob("*.parquet"))], how="diagonal_relaxed")


def test_a_community_source_without_consent_is_refused(tmp_path):
    bad = {k: v for k, v in TERMS.items() if k not in ("consent_basis", "steward")}
    (tmp_path / "sources.yaml").write_text(yaml.safe_dump({"sources": [
        {"name": "no-consent", "kind": "jsonl", "path": "x", "mapping": {"id": "id", "text": "text"}, "community": bad}]}))
    with pytest.raises(SourceError, match=r"source #1 'no-consent': community terms missing: consent_basis, steward"):
        load_sources(tmp_path / "sources.yaml")
    (tmp_path / "sources.yaml").write_text(yaml.safe_dump({"sources": [
        {"name": "maybe", "kind": "jsonl", "path": "x", "mapping": {"id": "id", "text": "text"},
         "community": {**TERMS, "allowed_uses": {"pretraining": True, "commercial": "ask us"}}}]}))
    with pytest.raises(SourceError, match="allowed_uses needs pretraining: yes/no, commercial: yes/no"):
        load_sources(tmp_path / "sources.yaml")


def test_terms_travel_to_the_release_card_and_mixtures(community):
    root, cycle, _ = community
    assert sorted(cycle()) == ["jv-stories", "su-news"]
    release = _rows(root / "release" / "current")
    jv = release.filter(pl.col("source") == "jv-stories")
    assert jv.height >= 10 and set(jv["contributor"]) == {"c1", "c2", "c3"}
    assert set(jv["allowed_commercial"]) == {False} and set(jv["license"]) == {"CC-BY-NC-4.0"}
    card = (root / "release" / "current" / "README.md").read_text("utf-8")
    assert "Javanese stories by the Komunitas Basa Jawa storytellers" in card and "Sundanese news from the Warta Sunda desk" in card
    research = _rows(root / "mixture" / "pretraining")
    commercial = _rows(root / "mixture" / "pretraining-commercial")
    assert "jv-stories" in set(research["source"]) and "su-news" in set(commercial["source"])
    assert "jv-stories" not in set(commercial["source"])  # a non-commercial row never reaches a commercial mixture
    manifest = json.loads((root / "mixture" / "pretraining-commercial" / "manifest.json").read_text())
    assert manifest["uses"] == ["pretraining", "commercial"] and manifest["excluded_by_terms"] == {"jav_Latn": jv.height}
    assert "jav_Latn" not in manifest["languages"]  # every Javanese row here is non-commercial


def test_a_revoked_contributor_disappears_everywhere(community):
    root, cycle, folder = community
    (folder.parent / "jv-revoked.txt").write_text("# revoked on request, 2026-11-20\nc2\n", encoding="utf-8")
    assert cycle() == ["jv-stories"]  # only the source whose revocation list changed re-runs
    for path in (root / "lake" / "business", root / "release" / "current", root / "mixture" / "pretraining"):
        rows = _rows(path)
        if "contributor" in rows.columns:
            assert "c2" not in set(rows["contributor"].drop_nulls()), path
    release = _rows(root / "release" / "current")
    assert set(release.filter(pl.col("source") == "jv-stories")["contributor"]) == {"c1", "c3"}
    raw = set(_rows(root / "lake" / "business" / "raw")["raw_text"])
    revoked_texts = [json.loads(ln)["text"] for ln in (folder / "group-a.jsonl").read_text("utf-8").splitlines() if '"c2"' in ln]
    assert len(revoked_texts) == 4 and not raw & set(revoked_texts)  # the raw copy in business storage is gone too
    parsed = _rows(root / "lake" / "business" / "parsed")
    assert parsed.filter(pl.col("source") == "jv-stories").height == 8
