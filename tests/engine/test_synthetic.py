"""Synthetic generation against a real local OpenAI-compatible server (llama.cpp serving
Gemma 3 270M): provenance on every record, the real-text gates, the on-disk cache, retries
on injected server errors, and the synthetic cap in the training mixture. These assert
the pipeline's behaviour, not the small base model's wisdom."""

from __future__ import annotations

import json
import math
from pathlib import Path

import polars as pl
import pytest

from curation_platform.label import identifier_from_config
from curation_platform.llm import LLMClient, LLMSettings, Request
from curation_platform.mixture import build_mixture
from curation_platform.settings import load_config
from curation_platform.synthetic import clean_output, load_template, parse_rating, split_samples
from curation_platform.synthetic.runs import generate_batch, label_synthetic, llm_settings

PLAN = {"plan_hash": "plan-test", "requests": [
    {"kind": "synthetic", "language": "ind_Latn", "level": "basic", "domain": "health", "metric": "bpc", "tokens": 500},
    {"kind": "recollect", "language": "ind_Latn", "level": "basic", "domain": "health", "metric": "bpc", "tokens": 500},
]}


def _cfg(**over) -> dict:
    cfg = load_config()
    s = cfg["synthetic"]
    s["llm"].update({"max_tokens": 48, "concurrency": 2, "backoff_s": 0.05})
    s.update({"tokens_per_sample": 100, "generators": {"in_context": 2, "translation": 1, "sft": 1, "dpo": 1}, **over})
    return cfg


@pytest.fixture(scope="module")
def release(tmp_path_factory, flores, data_dir):
    """A small real release: FLORES paragraphs of ind and eng, and an eng-ind parallel release from NTREX."""
    root = tmp_path_factory.mktemp("synth_release")
    for lang in ("ind_Latn", "eng_Latn"):
        lines = flores(lang)
        docs = [" ".join(lines[i : i + 4]) for i in range(0, 120, 4)]
        (root / "release" / lang).mkdir(parents=True)
        pl.DataFrame({"id": [f"{lang}-{i}" for i in range(len(docs))], "text": docs}).write_parquet(root / "release" / lang / "train-00000-of-00001.parquet")
    pairs = [ln.split("\t")[:2] for ln in (data_dir / "parallel" / "ntrex128" / "eng-ind.tsv").read_text("utf-8").splitlines()[:50] if "\t" in ln]
    (root / "parallel" / "eng_Latn-ind_Latn").mkdir(parents=True)
    pl.DataFrame({"src_text": [p[0] for p in pairs], "tgt_text": [p[1] for p in pairs]}).write_parquet(root / "parallel" / "eng_Latn-ind_Latn" / "pairs.parquet")
    return root


@pytest.fixture(scope="module")
def batch(release, llm_server):
    cfg = _cfg()
    client = LLMClient(llm_settings(cfg, llm_server), cache_path=release / "cache.sqlite")
    stats = generate_batch(PLAN, release / "release", release / "parallel", cfg, client, release / "gen.parquet")
    return cfg, stats, pl.read_parquet(release / "gen.parquet")


def test_records_carry_provenance(batch):
    cfg, stats, df = batch
    assert stats["requests"] == 1  # the recollect request is not ours
    assert df.height == 5 and stats["samples"] == 5  # 500 tokens / 100 per sample, split 2:1:1:1
    assert df["generator"].value_counts().sort("generator").rows() == [("dpo", 1), ("in_context", 2), ("sft", 1), ("translation", 1)]
    assert df["synthetic"].all() and (df["corpus"] == "synthetic").all() and (df["lang_hint"] == "ind_Latn").all()
    assert (df["source"] == "llm:gemma-3-270m").all() and df["id"].n_unique() == 5
    _, _, ic_hash = load_template("in_context", "completions", "ind_Latn")
    assert set(df.filter(pl.col("generator") == "in_context")["prompt_hash"]) == {ic_hash}
    for r in df.iter_rows(named=True):
        assert json.loads(r["seed_ids"]), r  # every sample names the real documents it was seeded from
        assert r["request_key"].startswith("plan-test:ind_Latn:basic:health")
    tr = df.filter(pl.col("generator") == "translation").row(0, named=True)
    assert tr["input"] and json.loads(tr["seed_ids"])[0].startswith("eng_Latn-")
    dpo = df.filter(pl.col("generator") == "dpo").row(0, named=True)
    assert dpo["rejected"] is not None and dpo["format"] == "dpo"
    assert stats["usage"]["requests"] >= 6 + 6  # 6 generations (dpo twice) + 6 judge calls
    assert stats["usage"]["completion_tokens"] > 0


def test_gates_are_the_real_text_gates_plus_language_match(batch, release):
    cfg, _, _ = batch
    report = label_synthetic(release / "gen.parquet", release / "lab.parquet", cfg, identifier_from_config(cfg))
    lab = pl.read_parquet(release / "lab.parquet")
    assert {"lang", "lang_score", "signals", "keep", "drop_reason", "gate_keep", "gate_reason"} <= set(lab.columns)
    kept = lab.filter(pl.col("gate_keep"))
    assert (kept["lang"] == "ind_Latn").all() and kept["keep"].all()  # nothing passes in the wrong language or against the policy
    dropped = lab.filter(~pl.col("gate_keep"))
    assert dropped["gate_reason"].null_count() == 0
    assert report["samples"] == 5 and report["passed"] == kept.height
    assert sum(report["drop_reasons"].values()) == dropped.height


def test_rerun_is_served_from_the_cache(batch, release, llm_server):
    cfg, first, df = batch
    client = LLMClient(llm_settings(cfg, llm_server), cache_path=release / "cache.sqlite")
    stats = generate_batch(PLAN, release / "release", release / "parallel", cfg, client, release / "gen2.parquet")
    assert stats["usage"]["requests"] == 0
    assert stats["usage"]["cache_hits"] == first["usage"]["requests"] and stats["usage"]["cache_hit_rate"] == 1.0
    again = pl.read_parquet(release / "gen2.parquet")
    assert again.drop("cached").equals(df.drop("cached")) and again["cached"].all()


def test_retries_on_injected_server_errors(flaky_proxy, tmp_path):
    url, state = flaky_proxy
    client = LLMClient(LLMSettings(base_url=url, model="gemma-3-270m", max_tokens=8, concurrency=1, backoff_s=0.05), cache_path=tmp_path / "c.sqlite")
    out = client.generate([Request("Ibu kota Indonesia adalah", temperature=0.0)])
    assert out[0].text.strip() and client.usage.retries == 2 and client.usage.requests == 1
    assert state["seen"] == 3


def test_an_error_that_is_not_transient_fails_at_once(llm_server, tmp_path):
    client = LLMClient(LLMSettings(base_url=llm_server, model="gemma-3-270m", api="nonsense", max_retries=3))
    with pytest.raises(ValueError, match="unknown LLM api"):
        client.generate([Request("x")])
    assert client.usage.retries == 0


def test_api_key_is_read_from_the_environment_and_never_cached(monkeypatch, llm_server, tmp_path):
    monkeypatch.setenv("CURATION_LLM_API_KEY", "sk-test-secret-123")
    client = LLMClient(LLMSettings(base_url=llm_server, model="gemma-3-270m", max_tokens=4), cache_path=tmp_path / "c.sqlite")
    assert client.client.api_key == "sk-test-secret-123"
    client.generate([Request("Halo", temperature=0.0)])
    assert b"sk-test-secret" not in (tmp_path / "c.sqlite").read_bytes()
    assert "sk-test-secret" not in json.dumps(client.usage.as_dict(client.settings))


def test_sample_split_rating_and_cleanup():
    assert split_samples(5, {"in_context": 2, "translation": 1, "sft": 1, "dpo": 1}) == {"in_context": 2, "translation": 1, "sft": 1, "dpo": 1}
    assert sum(split_samples(7, {"in_context": 0.5, "translation": 0.3, "sft": 0.1, "dpo": 0.1}).values()) == 7
    assert parse_rating(" 4\n") == 4.0 and parse_rating("no idea") is None
    lp = {"1": math.log(0.2), "5": math.log(0.6), "Text": math.log(0.2)}
    assert parse_rating("1", lp) == pytest.approx((0.2 * 1 + 0.6 * 5) / 0.8, abs=1e-3)
    assert clean_output("Kalimat pertama. Kalimat kedua.\nText 3: lagi", ("\nText ",)) == "Kalimat pertama. Kalimat kedua."
    assert clean_output("Kalimat pertama selesai. Kalimat kedua terpot") == "Kalimat pertama selesai."


def test_mixture_caps_the_synthetic_share(tmp_path, flores):
    lines = flores("ind_Latn")
    rel, syn = tmp_path / "release", tmp_path / "synthetic"
    (rel / "ind_Latn").mkdir(parents=True)
    (syn / "ind_Latn").mkdir(parents=True)
    real = [" ".join(lines[i : i + 3]) for i in range(0, 300, 3)]
    pl.DataFrame({"id": [f"r{i}" for i in range(len(real))], "text": real, "dup_count": [1] * len(real)}).write_parquet(rel / "ind_Latn" / "train.parquet")
    fake = [" ".join(lines[i : i + 3]) for i in range(300, 900, 3)]  # twice as much synthetic text as real
    pl.DataFrame({"id": [f"s{i}" for i in range(len(fake))], "text": fake, "synthetic": [True] * len(fake)}).write_parquet(syn / "ind_Latn" / "synthetic.parquet")
    plan = {"plan_hash": "p", "languages": {"ind_Latn": {"budget_tokens": 20_000}}}
    m = build_mixture(rel, plan, {"mixture": {"valid_fraction": 0.05}}, tmp_path / "mix", synthetic_dir=syn,
                      synthetic_share={"default": {"share": 0.2}})
    lang = m["languages"]["ind_Latn"]
    assert 0.15 <= lang["synthetic_share"] <= 0.21 and lang["synthetic_cap"] == 0.2
    train = pl.read_parquet(tmp_path / "mix" / "current" / "ind_Latn" / "train.parquet")
    valid = pl.read_parquet(tmp_path / "mix" / "current" / "ind_Latn" / "validation.parquet")
    synth_rows = train.filter(pl.col("synthetic"))
    assert synth_rows.height == lang["synthetic_docs"] and synth_rows["id"].n_unique() == synth_rows.height  # never repeated
    assert not valid["synthetic"].any()  # validation stays real
    none = build_mixture(rel, plan, {"mixture": {}}, tmp_path / "mix0", synthetic_dir=syn, synthetic_share={"default": {"share": 0.0}})
    assert none["languages"]["ind_Latn"]["synthetic_docs"] == 0


def test_translation_pivot_follows_the_language_plan_unless_configured():
    """An explicit `pivot.languages` entry wins; else the typology plan's nearest
    high-resource language; else `pivot.default`."""
    from curation_platform.synthetic import build_tasks

    cfg = load_config()["synthetic"]
    scfg = {**cfg, "generators": {"translation": 1.0}, "min_samples_per_request": 2, "max_samples_per_request": 2}
    texts = {"tha_Thai": "ภาษาไทยเป็นภาษาที่สวยงาม มีประวัติศาสตร์ยาวนาน", "eng_Latn": "English is spoken widely in the region.",
             "ind_Latn": "Bahasa Indonesia dipakai di seluruh negeri."}
    docs = lambda lang: [{"id": f"{lang}-1", "text": texts[lang]}] if lang in texts else []  # noqa: E731
    reqs = [{"kind": "synthetic", "language": lang, "level": "basic", "domain": "", "metric": "acc", "tokens": 100} for lang in ("lao_Laoo", "jav_Latn")]
    tasks = build_tasks(reqs, "p1", docs, lambda p, lang: [], scfg, "completions", pivots={"lao_Laoo": "tha_Thai", "jav_Latn": "eng_Latn"})
    by_lang = {t.lang: t for t in tasks}
    assert "Thai" in by_lang["lao_Laoo"].prompt and texts["tha_Thai"] in by_lang["lao_Laoo"].prompt  # the plan's pivot
    assert texts["ind_Latn"] in by_lang["jav_Latn"].prompt  # the configured jav_Latn -> ind_Latn pivot beats the plan
    without = build_tasks(reqs[:1], "p1", docs, lambda p, lang: [], scfg, "completions")
    assert texts["eng_Latn"] in without[0].prompt  # no plan: pivot.default
