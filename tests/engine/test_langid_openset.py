"""The open-set evidence rule and the script rule, on real text.

The evidence rule was fitted on domains its models never saw (`scripts/fit_openset_evidence.py`,
`training_data/langid/open_set_evidence.json`); these tests check its fitting on the rows of a
real model, its place in the shipped lexicons, and the script rule on Thaana and Baybayin."""

from __future__ import annotations

import json

import numpy as np
import pytest

from curation_platform.codeswitch import HAN_MIN_CHARS, segments
from curation_platform.label import identifier_from_config
from curation_platform.langid_corpus import default_corpus_dir, paragraphs, read_corpus
from curation_platform.langid_openset import FEATURES, fit_evidence
from curation_platform.langid_train import EVIDENCE_FILE
from curation_platform.lexicon import PROFILE_UNITS, Lexicons
from curation_platform.settings import load_config


@pytest.fixture(scope="module")
def ident():
    return identifier_from_config(load_config())


def test_the_evidence_rule_was_fitted_on_held_out_domains_and_carries_to_a_new_one():
    ev = json.loads((default_corpus_dir() / EVIDENCE_FILE).read_text("utf-8"))
    assert set(ev["domains"]) >= {"conversational", "news", "stories"} and ev["features"] == list(FEATURES)
    assert ev["weights"]["oov"] < 0 < ev["weights"]["margin"]  # more unknown words: less evidence; a clear margin: more
    for dom, o in ev["leave_one_domain_out"].items():  # fitted without `dom`, tested on it
        assert o["unknown_refused"] >= o["ceiling_only"]["unknown_refused"], dom  # refuses more unknown relatives than the ceiling
        assert o["known_kept"] >= o["ceiling_only"]["known_kept"] - 0.02, dom  # at a small cost to known text
        assert o["known_kept"] >= 0.9, dom


def test_fit_evidence_separates_known_from_unknown_rows():
    rng = np.random.default_rng(0)
    rows = []
    for dom in ("a", "b", "c"):
        for known in (True, False):
            for _ in range(200):
                oov = rng.uniform(0.05, 0.4) if known else rng.uniform(0.3, 0.9)
                rows.append({"domain": dom, "gold": "x", "label": "x", "known": known, "named_right": True, "oov": oov,
                             "profile": rng.uniform(0.3, 0.6) if known else rng.uniform(0.0, 0.4), "margin": rng.uniform(0.5, 1.0),
                             "within_ceiling": True})
    ev = fit_evidence(rows, keep=0.99)
    for o in ev["leave_one_domain_out"].values():
        assert o["known_kept"] >= 0.95 and o["unknown_refused"] >= 0.5
    assert ev["per_label"]["x"]["a"]["paragraphs"] == 200


def test_the_shipped_lexicons_carry_profiles_and_the_evidence_rule(ident, tmp_path):
    lex = ident.lexicons
    assert lex.evidence is not None and set(lex.evidence["weights"]) == set(FEATURES)
    assert set(lex.profiles) == set(lex.vocab) and all(len(p) <= PROFILE_UNITS for p in lex.profiles.values())
    lex.save(tmp_path / "lexicon.npz")
    again = Lexicons.load(tmp_path / "lexicon.npz")
    assert again.evidence == lex.evidence and set(again.profiles) == set(lex.profiles) and set(again.vocab) == set(lex.vocab)
    assert np.array_equal(again.profiles["ind_Latn"], lex.profiles["ind_Latn"])


def _udhr_paragraphs(label: str) -> list[str]:
    df = read_corpus(default_corpus_dir(), only=["udhr"])
    return paragraphs(df.filter(df["label"] == label)["text"].to_list())


def test_a_script_the_model_never_saw_for_a_language_is_no_label_of_ours(ident):
    paras = _udhr_paragraphs("div_Thaa")
    assert len(paras) >= 10
    got = [p.lang for p in ident.predict(paras)]
    assert all(g in ("und", "div_Thaa") for g in got), got  # never "Thai written in Thaana"
    assert got.count("div_Thaa") / len(got) >= 0.8  # the stock model knows Dhivehi


def test_short_han_sentences_are_joined_before_they_are_judged():
    lines = ["我哋去邊度食飯？", "今日好熱。", "你聽日得唔得閒呀？", "我唔知呀。", "佢啱啱返咗屋企。", "唔該晒。", "你食咗飯未呀？",
             "我聽日要返工，所以今晚唔出去喇。", "呢間餐廳啲嘢食好好味，不過有啲貴。", "佢話下個禮拜會嚟香港探我哋。"]
    segs = segments("\n".join(lines), "Hant")
    assert "".join(segs) == "".join(lines) and 1 < len(segs) < len(lines)
    assert all(len(s) >= HAN_MIN_CHARS for s in segs)
    assert segments("\n".join(lines), "Latn") == lines  # other scripts keep their lines


def test_pair_tables_tell_indonesian_from_malay_on_held_out_sentences(ident, data_dir):
    from curation_platform.langid_eval import flores_lines

    lex = ident.lexicons
    assert ("ind_Latn", "zsm_Latn") in lex.pairs
    right = {}
    for lang in ("ind_Latn", "zsm_Latn"):
        scores = [lex.pair_score(t, "ind_Latn", "zsm_Latn") for t in flores_lines(data_dir, lang)]  # lines 507-1012: never trained on
        judged = [s for s in scores if s is not None]
        assert len(judged) >= 0.9 * len(scores)
        right[lang] = sum((s > 0) == (lang == "ind_Latn") for s in judged) / len(judged)
    assert min(right.values()) >= 0.85, right
    assert lex.pair_score("Saya tidak bisa datang karena sedang sakit, jadi kamu saja yang pergi ke kantor.", "zsm_Latn", "ind_Latn") < 0
