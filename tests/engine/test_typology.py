"""Typology-guided language selection on the shared languages: URIEL distances from the
lang2vec wheel's data files, a greedy selection whose worst target coverage beats random
sets of the same size, and the same answer on every run."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from curation_platform.langid import flores_code
from curation_platform.typology import distance_matrix, plan_languages


def _parallel_languages(data_dir: Path) -> list[str]:
    """Every language with parallel data in ../shared/data/parallel (file names carry ISO codes)."""
    codes = set()
    for path in (data_dir / "parallel").rglob("*.tsv"):
        head = path.name.split(".")[0]
        parts = head.split("-")
        if len(parts) == 2 and all(p.isalpha() and 2 <= len(p) <= 3 for p in parts):
            codes |= {flores_code(p) for p in parts}
    return sorted(codes)


TARGETS = ["ace_Latn", "ban_Latn", "bug_Latn", "ceb_Latn", "jav_Latn", "khm_Khmr", "lao_Laoo", "min_Latn", "mya_Mymr", "sun_Latn", "tgl_Latn", "shn_Mymr"]


def test_distances_are_sane():
    codes = ["ind_Latn", "zsm_Latn", "jav_Latn", "eng_Latn", "tha_Thai", "lao_Laoo"]
    d = distance_matrix(codes)
    assert np.allclose(d, d.T) and np.allclose(np.diag(d), 0) and d.min() >= 0 and d.max() <= 1
    i = {c: n for n, c in enumerate(codes)}
    assert d[i["ind_Latn"], i["zsm_Latn"]] < d[i["ind_Latn"], i["jav_Latn"]] < d[i["ind_Latn"], i["eng_Latn"]]
    assert d[i["tha_Thai"], i["lao_Laoo"]] < d[i["tha_Thai"], i["eng_Latn"]]


def test_plan_for_the_shared_languages_beats_random_and_is_deterministic(data_dir):
    candidates = _parallel_languages(data_dir)
    assert {"ind_Latn", "khm_Khmr", "tgl_Latn", "eng_Latn"} <= set(candidates)
    cfg = {"k": 4, "random_trials": 300, "seed": 0}
    high = ["eng_Latn", "ind_Latn", "zsm_Latn", "vie_Latn", "tha_Thai", "zho_Hans", "hin_Deva"]
    plan = plan_languages(TARGETS, candidates, cfg, pivot_options=high)
    again = plan_languages(TARGETS, candidates, cfg, pivot_options=high)
    assert plan == again
    base = plan["baselines"]
    print("\nselected", plan["selected"], {k: {m: v for m, v in b.items() if m in ("size", "worst", "mean", "diversity")} for k, b in base.items()})
    assert len(plan["selected"]) == 4 and set(plan["selected"]) <= set(candidates)
    assert base["selected"]["worst"] < base["random_k"]["worst"]
    assert base["selected"]["mean"] < base["random_k"]["mean"]
    assert base["random_k"]["share_worse_than_selected"] >= 0.9
    assert base["all_candidates"]["worst"] <= base["selected"]["worst"]  # all of them cover at least as well
    assert all(plan["coverage"][t]["distance"] <= base["selected"]["worst"] for t in plan["targets"])
    # pivots: the nearest high-resource language
    assert plan["pivots"]["lao_Laoo"] == "tha_Thai" and plan["pivots"]["min_Latn"] in {"zsm_Latn", "ind_Latn"}
    assert plan["pivots"]["shn_Mymr"] == "tha_Thai"  # Shan is a Tai language written in Myanmar script


def test_codes_missing_from_uriel_are_reported_not_fatal():
    plan = plan_languages(["jav_Latn", "qaa_Latn"], ["ind_Latn", "eng_Latn"], {"k": 1})
    assert plan["missing_in_uriel"] == ["qaa_Latn"] and plan["selected"] == ["ind_Latn"]


def test_slots_left_after_full_coverage_buy_diversity():
    """Targets that are candidates are covered at distance 0 by themselves; the remaining
    slots go to the candidates farthest from the chosen set (max-min)."""
    targets = ["jav_Latn", "sun_Latn"]
    candidates = ["jav_Latn", "sun_Latn", "ind_Latn", "zsm_Latn", "tha_Thai", "jpn_Jpan"]
    plan = plan_languages(targets, candidates, {"k": 4})
    assert plan["phases"] == ["coverage", "coverage", "diversity", "diversity"]
    assert set(plan["selected"][:2]) == {"jav_Latn", "sun_Latn"} and plan["baselines"]["selected"]["worst"] == 0.0
    d = plan["distances"]
    picked = plan["selected"][2]
    assert picked in {"tha_Thai", "jpn_Jpan"}  # far from the Malayo-Polynesian pair, unlike ind / zsm
    assert min(d[picked][s] for s in plan["selected"][:2]) > max(min(d["ind_Latn"][s] for s in plan["selected"][:2]), 0)
