"""Model-based quality: sampling, judge agreement, the fastText classifier taught by the
heuristic rules (offline) and by real LLM judges (the local llama.cpp server), and its use
in the label stage."""

from __future__ import annotations

import polars as pl
import pytest

from curation_platform.label import label_frame, reapply_policy
from curation_platform.langid import LanguageIdentifier
from curation_platform.quality_model import (QualityScorer, agreement, build_judges, effective_policy, fleiss_kappa, load_scorer, majority,
                                             sample_documents, train_from_labelled)
from curation_platform.quality_noise import paired_corpus
from curation_platform.settings import load_config
from curation_platform.storage import write_parquet

LANGS = ["ind_Latn", "tgl_Latn", "vie_Latn", "eng_Latn", "swh_Latn", "zsm_Latn"]


def corpus(flores, n_per_lang: int = 40, seed: int = 0) -> pl.DataFrame:
    """Per language: clean paragraphs of 6 consecutive FLORES sentences, and as many bad
    documents (nav menus, stutter, one sentence repeated, word salad)."""
    return pl.DataFrame(paired_corpus({lang: flores(lang) for lang in LANGS}, n_per_lang, seed=seed))


@pytest.fixture(scope="module")
def labelled(flores, tmp_path_factory):
    cfg = load_config()
    df = label_frame(corpus(flores), cfg, LanguageIdentifier())
    path = tmp_path_factory.mktemp("lab") / "labelled.parquet"
    write_parquet(df, path)
    return df, path


def test_majority_and_kappa():
    assert majority([[5, 1, 3, None], [4, 2, 2, None], [1, 1, 4, None]], 3.0) == [1, 0, 1, None]
    assert majority([[4.0], [2.0]], 3.0) == [1]  # tie -> mean rating 3.0 >= 3
    assert fleiss_kappa([[1, 1], [0, 0], [1, 1], [0, 0]]) == 1.0
    assert fleiss_kappa([[1, 0], [0, 1], [1, 0], [0, 1]]) == -1.0
    rep = agreement({"a": [5, 1, 4, None], "b": [4, 2, 1, 3]}, 3.0)
    assert rep["pairwise_agreement"] == {"a~b": round(2 / 3, 4)} and rep["items_rated_by_all"] == 3


def test_sample_is_stratified(labelled):
    df, _ = labelled
    sample = sample_documents(df, 20)
    per = sample.group_by("lang", "keep").len()
    for lang in sample["lang"].unique().to_list():
        kept = per.filter((pl.col("lang") == lang) & pl.col("keep"))["len"].sum()
        dropped = per.filter((pl.col("lang") == lang) & ~pl.col("keep"))["len"].sum()
        assert kept + dropped <= 20
        if lang in LANGS:
            assert kept >= 5 and dropped >= 5, (lang, kept, dropped)
    assert sample_documents(df, 20).equals(sample)  # deterministic


def test_heuristic_teacher_classifier_and_label_stage(labelled, tmp_path):
    df, path = labelled
    cfg = load_config(overrides={"quality_model": {"sample_per_language": 80, "trained_dir": str(tmp_path / "q")}})
    meta = train_from_labelled([path], tmp_path / "q", cfg)
    assert meta["teacher"] == "heuristic" and meta["beats_heuristic"] is False  # never applied by default
    assert meta["held_out"] >= 60 and meta["classifier"]["accuracy"] >= 0.85, meta["classifier"]
    assert meta["rules"]["accuracy"] == 1.0  # the rules agree with themselves
    assert (tmp_path / "q" / "model.bin").is_file() and "Teacher: **heuristic**" in (tmp_path / "q" / "README.md").read_text()

    scorer = load_scorer(cfg)
    truth = df["truth"].to_list()
    scores = scorer.score(df["text"].to_list())
    good = [s for s, t in zip(scores, truth) if t]
    bad = [s for s, t in zip(scores, truth) if not t]
    assert sum(good) / len(good) - sum(bad) / len(bad) >= 0.5

    # recorded for every document, not applied (auto and the teacher was the rules)
    relabelled = label_frame(df.drop("lang", "lang_score", "script", "signals", "keep", "drop_reason"), cfg, LanguageIdentifier())
    q = relabelled["signals"].struct.field("quality_model")
    assert q.null_count() == 0 and q.min() >= 0.0 and q.max() <= 1.0
    assert relabelled["keep"].to_list() == df["keep"].to_list()

    # apply: always switches the rule on; reapply_policy gives the same decisions
    always = load_config(overrides={"quality_model": {"trained_dir": str(tmp_path / "q"), "apply": "always", "threshold": 0.9}})
    assert effective_policy(always, scorer)["default"]["min_quality_model"] == 0.9
    strict = label_frame(df.drop("lang", "lang_score", "script", "signals", "keep", "drop_reason"), always, LanguageIdentifier())
    assert strict["keep"].sum() < relabelled["keep"].sum()
    assert "min_quality_model" in strict["drop_reason"].to_list()
    assert reapply_policy(strict, always)["keep"].to_list() == strict["keep"].to_list()
    explicit = load_config(overrides={"quality_model": {"trained_dir": str(tmp_path / "q"), "apply": "always"}, "policy": {"default": {"min_quality_model": 0.2}}})
    assert effective_policy(explicit, scorer)["default"]["min_quality_model"] == 0.2


def test_llm_judges_teach_the_classifier(labelled, llm_server, tmp_path):
    """Two judges (two prompts) on the real local server: ratings, agreement, a classifier."""
    from curation_platform.llm import LLMSettings

    df, path = labelled
    small = df.filter(pl.col("lang").is_in(["ind_Latn", "eng_Latn", "vie_Latn"]))
    write_parquet(small, tmp_path / "small.parquet")
    # the 270M judge rates nearly everything below 3: each judge is cut at its own median
    cfg = load_config(overrides={"quality_model": {"sample_per_language": 12, "rating_threshold": "median"}})
    base = LLMSettings(base_url=llm_server, model="gemma-3-270m", api="completions", temperature=0.0, max_tokens=3, concurrency=2)
    judges = build_judges(base, cfg["quality_model"], tmp_path / "cache.sqlite")
    assert [j[0] for j in judges] == ["fluency", "educational"]
    meta = train_from_labelled([tmp_path / "small.parquet"], tmp_path / "q", cfg, judges)
    assert meta["teacher"] == "llm" and meta["judges"] == ["fluency", "educational"]
    ag = meta["agreement"]
    assert all(v >= 0.9 * meta["sampled"] for v in ag["answered"].values()), ag  # logprobs give a rating nearly always
    assert 0.0 <= ag["pairwise_agreement"]["fluency~educational"] <= 1.0
    assert ag["fleiss_kappa"] is None or -1.0 <= ag["fleiss_kappa"] <= 1.0
    labels = pl.read_parquet(tmp_path / "q" / "labels.parquet")
    assert {"rating_fluency", "rating_educational", "teacher_label"} <= set(labels.columns) and labels.height == meta["sampled"]
    assert labels["rating_fluency"].drop_nulls().is_between(1.0, 5.0).all()
    assert meta["classifier"]["accuracy"] is not None and isinstance(meta["beats_heuristic"], bool)
    assert QualityScorer(tmp_path / "q").score(["Selamat pagi semua."])[0] >= 0.0
    # a rerun is answered from the judge cache: same labels
    again = train_from_labelled([tmp_path / "small.parquet"], tmp_path / "q2", cfg, build_judges(base, cfg["quality_model"], tmp_path / "cache.sqlite"))
    assert pl.read_parquet(tmp_path / "q2" / "labels.parquet")["teacher_label"].to_list() == labels["teacher_label"].to_list()
    assert again["agreement"]["pairwise_agreement"] == ag["pairwise_agreement"]
