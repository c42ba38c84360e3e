"""The evaluation loop's engine: eval parsing, gaps, sampling, plan termination,
decontamination and the char n-gram proxy (no Dagster)."""

from __future__ import annotations

import json

import polars as pl
import pytest

from curation_platform.charlm import CharNgramLM
from curation_platform.decontaminate import ContaminationIndex
from curation_platform.evals import EvalFileError, parse_eval_file
from curation_platform.plan import gap_boosts, plan_mixture, quality_gaps, temperature, unimax
from curation_platform.settings import load_config

CFG = load_config()
TASKS = CFG["loop"]["eval_tasks"]


def test_lm_eval_harness_json_maps_tasks_to_languages(tmp_path):
    data = {"results": {
        "belebele_jav_Latn": {"alias": "x", "acc,none": 0.41, "acc_stderr,none": 0.01, "acc_norm,none": 0.43},
        "xcopa_id": {"acc,none": 0.68}, "xnli_th": {"acc,none": 0.45}, "sib200_khm_Khmr": {"acc,none": 0.5},
        "xstorycloze_my": {"acc,none": 0.55}, "flores200_eng_Latn-sun_Latn": {"chrf,none": 30.0},
        "hellaswag": {"acc,none": 0.7}},
        "config": {"model_args": "pretrained=x"}}
    p = tmp_path / "r.json"
    p.write_text(json.dumps(data))
    df = parse_eval_file(p, TASKS, "h1")
    got = {(r["task"], r["language"], r["level"], r["metric"]) for r in df.iter_rows(named=True)}
    assert ("belebele_jav_Latn", "jav_Latn", "basic", "acc") in got and ("belebele_jav_Latn", "jav_Latn", "basic", "acc_norm") in got
    assert ("xcopa_id", "ind_Latn", "basic", "acc") in got and ("xnli_th", "tha_Thai", "basic", "acc") in got
    assert ("sib200_khm_Khmr", "khm_Khmr", "domain", "acc") in got and ("xstorycloze_my", "mya_Mymr", "basic", "acc") in got
    assert ("flores200_eng_Latn-sun_Latn", "sun_Latn", "basic", "chrf") in got
    assert not any(t == "hellaswag" for t, *_ in got)  # untracked English task
    assert df["higher_is_better"].all() and set(df["file_hash"]) == {"h1"}


def test_simple_csv_and_jsonl(tmp_path):
    csv = tmp_path / "r.csv"
    csv.write_text("language,level,domain,metric,score,higher_is_better,model,run_id,date\njv,culture,honorifics,acc,0.4,true,m,r1,2026-01-01\nind_Latn,basic,general,bpc,2.5,,m,r1,\n")
    df = parse_eval_file(csv, TASKS)
    assert df["language"].to_list() == ["jav_Latn", "ind_Latn"]
    assert df["higher_is_better"].to_list() == [True, False]  # bpc: lower is better by default
    jl = tmp_path / "r.jsonl"
    jl.write_text(json.dumps({"language": "tl", "level": "domain", "domain": "health", "metric": "acc", "score": 0.7}) + "\n")
    assert parse_eval_file(jl, TASKS)["language"].to_list() == ["tgl_Latn"]


@pytest.mark.parametrize("name,content,words", [
    ("bad.json", '{"results": {"xnli_th": ', "line 1"),
    ("bad.jsonl", '{"language": "id", "level": "basic", "domain": "g", "metric": "acc", "score": 0.5}\n{"language": "id", "level": "expert", "domain": "g", "metric": "acc", "score": 0.5}\n', "line 2"),
    ("bad.csv", "language,level,domain,metric,score\nid,basic,g,acc,high\n", "line 2"),
    ("bad2.csv", "lang,score\nid,0.5\n", "header"),
    ("empty.json", "", "empty file"),
    ("noresults.json", '{"foo": 1}', "no 'results'"),
    ("badlang.jsonl", '{"language": "xx_yy", "level": "basic", "domain": "g", "metric": "acc", "score": 0.5}\n', "unknown language"),
])
def test_malformed_eval_files_name_file_and_record(tmp_path, name, content, words):
    p = tmp_path / name
    p.write_text(content)
    with pytest.raises(EvalFileError) as exc:
        parse_eval_file(p, TASKS)
    assert name in str(exc.value) and words in str(exc.value)


def _latest(rows):
    return pl.DataFrame(rows, schema={"language": pl.String, "level": pl.String, "domain": pl.String, "metric": pl.String, "score": pl.Float64, "higher_is_better": pl.Boolean})


def test_gaps_against_targets_with_language_overrides():
    latest = _latest([
        {"language": "jav_Latn", "level": "basic", "domain": "reading", "metric": "acc", "score": 0.45, "higher_is_better": True},
        {"language": "ind_Latn", "level": "basic", "domain": "reading", "metric": "acc", "score": 0.75, "higher_is_better": True},
        {"language": "tha_Thai", "level": "basic", "domain": "general", "metric": "bpc", "score": 2.5, "higher_is_better": False},
        {"language": "jav_Latn", "level": "basic", "domain": "general", "metric": "bpc", "score": 2.5, "higher_is_better": False},
    ])
    gaps = quality_gaps(latest, CFG["loop"]["targets"])
    by = {(r["language"], r["metric"]): r for r in gaps.iter_rows(named=True)}
    assert by[("jav_Latn", "acc")]["below_target"] and by[("jav_Latn", "acc")]["gap"] == pytest.approx(0.25)
    assert not by[("ind_Latn", "acc")]["below_target"] and by[("ind_Latn", "acc")]["gap"] == 0
    assert not by[("tha_Thai", "bpc")]["below_target"]  # Thai target 2.6 (override)
    assert by[("jav_Latn", "bpc")]["below_target"]  # default target 2.2, lower is better


def test_unimax_caps_epochs_and_temperature_flattens():
    tokens = {"eng_Latn": 1_000_000, "ind_Latn": 100_000, "jav_Latn": 1_000}
    u = unimax(tokens, 600_000, max_epochs=4)
    assert u["jav_Latn"] == 4_000  # capped at 4 epochs
    assert u["ind_Latn"] == pytest.approx(298_000) and u["eng_Latn"] == pytest.approx(298_000)
    t = temperature(tokens, 600_000, tau=3.33, max_epochs=100)
    share = {k: v / sum(t.values()) for k, v in t.items()}
    assert share["jav_Latn"] > tokens["jav_Latn"] / sum(tokens.values()) * 5


def test_plan_raises_weak_language_and_terminates():
    available = {"eng_Latn": {"tokens": 500_000, "docs": 5000}, "ind_Latn": {"tokens": 200_000, "docs": 2000}, "jav_Latn": {"tokens": 40_000, "docs": 400}}
    loop_cfg = {**CFG["loop"], "sampling": {**CFG["loop"]["sampling"], "total_tokens": 300_000}}
    gaps = quality_gaps(_latest([{"language": "jav_Latn", "level": "basic", "domain": "reading", "metric": "acc", "score": 0.42, "higher_is_better": True}]), loop_cfg["targets"])
    p0 = plan_mixture(available, gaps.clear(), loop_cfg, epoch="e")
    p1 = plan_mixture(available, gaps, loop_cfg, epoch="e")
    assert p1["languages"]["jav_Latn"]["boost"] > 1 and p1["languages"]["jav_Latn"]["weight"] > p0["languages"]["jav_Latn"]["weight"]
    share = available["jav_Latn"]["tokens"] / sum(v["tokens"] for v in available.values())
    assert p1["languages"]["jav_Latn"]["weight"] > share  # more than its natural share
    assert sum(r["tokens"] for r in p1["requests"]) <= loop_cfg["requests"]["budget_tokens"]
    assert {r["kind"] for r in p1["requests"]} == {"synthetic", "recollect"}
    # Same inputs -> same hash; a better score later never lowers the boost in the same epoch.
    assert plan_mixture(available, gaps, loop_cfg, epoch="e")["plan_hash"] == p1["plan_hash"]
    better = quality_gaps(_latest([{"language": "jav_Latn", "level": "basic", "domain": "reading", "metric": "acc", "score": 0.58, "higher_is_better": True}]), loop_cfg["targets"])
    prev = {k: v["boost"] for k, v in p1["languages"].items()}
    assert gap_boosts(better, loop_cfg["gap_boost"], prev)["jav_Latn"] == prev["jav_Latn"]
    # A repeated re-plan with its own previous boosts reaches a fixed point.
    hashes, boosts = [], None
    for _ in range(6):
        p = plan_mixture(available, gaps, loop_cfg, epoch="e", previous_boosts=boosts)
        hashes.append(p["plan_hash"])
        boosts = {k: v["boost"] for k, v in p["languages"].items()}
    assert hashes[-1] == hashes[-2]


def test_decontamination_catches_exact_and_ngram_overlap(flores):
    held = flores("ind_Latn")[506:]
    index = ContaminationIndex(held)
    assert index.is_contaminated("Intro.\n" + held[10] + "\nOutro.")              # exact sentence inside a doc
    words = held[20].split()
    assert index.is_contaminated("Lain kali " + " ".join(words[2:12]) + " dan seterusnya")  # 10 shared words
    assert not any(index.is_contaminated(s) for s in flores("ind_Latn")[:506])     # the other half is clean
    thai = ContaminationIndex(flores("tha_Thai")[506:])
    assert thai.is_contaminated(flores("tha_Thai")[600][5:60]) and not thai.is_contaminated(flores("tha_Thai")[3])


def test_char_lm_is_normalised_and_learns(flores):
    lines = flores("jav_Latn")
    small, large, held = lines[:25], lines[:506], lines[506:]
    lm = CharNgramLM(4).fit(small)
    total = sum(lm.prob("ng", c) for c in lm.vocab) + lm.prob("ng", "\uffff")  # vocab + one unseen symbol
    assert total == pytest.approx(1.0, abs=1e-9)
    before = lm.bits_per_char(held)
    after = CharNgramLM(4).fit(large).bits_per_char(held)
    print(f"\njav_Latn bits/char on FLORES 507-1012: 25 sentences {before:.3f} -> 506 sentences {after:.3f}")
    assert after < before - 0.5
    assert CharNgramLM(4).fit([(t, 3) for t in small]).bits_per_char(held) < 10
