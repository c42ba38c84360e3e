"""Model-based quality benchmark: LLM judges (a real local llama.cpp server with the bundled
Gemma 3 270M unless --llm-url is given) and the heuristic rules as teachers of the fastText
quality classifier, all scored against a construction truth: clean FLORES paragraphs vs the
same paragraphs made bad (menus, stutter, repeated sentence, word salad).

    python bench/quality_model.py --per-language 6 [--llm-url URL] [--model NAME] [--cache FILE] [--out bench/results/quality_model.json]

Reports per teacher: agreement of the judges (pairwise, Fleiss' kappa), accuracy against
the truth (each judge, the majority, the rules), the classifier against held-out teacher
labels and against the truth, and the classifier's throughput (docs/s, one core)."""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import polars as pl  # noqa: E402

from curation_platform.label import label_frame  # noqa: E402
from curation_platform.langid import LanguageIdentifier  # noqa: E402
from curation_platform.llm import LLMSettings  # noqa: E402
from curation_platform.local_servers import llama_server  # noqa: E402
from curation_platform.quality_model import QualityScorer, binary_scores, build_judges, holdout_mask, train_quality_model  # noqa: E402
from curation_platform.quality_noise import paired_corpus  # noqa: E402
from curation_platform.settings import load_config  # noqa: E402
from curation_platform.storage import write_json  # noqa: E402

LANGS = ["ind_Latn", "tgl_Latn", "vie_Latn", "eng_Latn", "jav_Latn", "tha_Thai"]


def truth_scores(df: pl.DataFrame, column: str) -> dict:
    part = df.filter(pl.col(column).is_not_null())
    return binary_scores([int(x) for x in part[column].to_list()], part["truth"].to_list())


def run_teacher(name: str, labelled: pl.DataFrame, work: Path, cfg: dict, judges) -> dict:
    qcfg = cfg["quality_model"]
    meta = train_quality_model(labelled, work / name, name, judges, qcfg, log=lambda m: print(f"  [{name}] {m}", file=sys.stderr))
    labels = pl.read_parquet(work / name / "labels.parquet").join(labelled.select("id", "truth", "kind"), on="id")
    scorer = QualityScorer(work / name)
    labels = labels.with_columns(pl.Series("clf", [int(p >= qcfg["threshold"]) for p in scorer.score(labels["text"].to_list())]))
    held = labels.filter(pl.Series(holdout_mask(labels["id"].to_list(), float(qcfg["holdout"]))))
    out = {"agreement": {k: v for k, v in meta["agreement"].items() if k != "votes"}, "hq_share": meta["hq_share"],
           "classifier_vs_held_out_teacher": meta["classifier"], "rules_vs_held_out_teacher": meta["rules"],
           "teacher_vs_truth": truth_scores(labels, "teacher_label"), "classifier_vs_truth_held_out": truth_scores(held, "clf"),
           "beats_heuristic": meta["beats_heuristic"]}
    for col in [c for c in labels.columns if c.startswith("rating_")]:
        cut = meta["agreement"]["rating_cuts"][col.removeprefix("rating_")]
        out[f"{col}_vs_truth"] = truth_scores(labels.with_columns((pl.col(col) >= cut).alias("v")), "v")
    miss = labels.filter(pl.col("teacher_label") != pl.col("truth")).group_by("kind").len()
    out["teacher_errors_by_kind"] = {r["kind"]: r["len"] for r in miss.iter_rows(named=True)}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--per-language", type=int, default=6, help="clean paragraphs per language (as many bad ones are made)")
    ap.add_argument("--llm-url", help="an OpenAI-compatible /v1 server (default: start llama.cpp with the bundled Gemma 3 270M)")
    ap.add_argument("--model", default="gemma-3-270m")
    ap.add_argument("--api", default="completions", choices=["completions", "chat"])
    ap.add_argument("--no-llm", action="store_true", help="heuristic teacher only")
    ap.add_argument("--cache", help="judge answer cache (SQLite) to reuse across runs")
    ap.add_argument("--rating-threshold", default="3.0", help="a number (same cut for every judge) or `median` (each judge's own median)")
    ap.add_argument("--data", default=os.environ.get("CURATION_TEST_DATA") or str(REPO.parent / "shared" / "data"))
    ap.add_argument("--out", default=str(REPO / "bench" / "results" / "quality_model.json"))
    args = ap.parse_args()

    flores = Path(args.data) / "flores200" / "devtest"
    docs = pl.DataFrame(paired_corpus({lang: (flores / f"{lang}.devtest").read_text("utf-8").splitlines() for lang in LANGS}, args.per_language))
    cfg = load_config()
    cfg["quality_model"]["rating_threshold"] = args.rating_threshold if args.rating_threshold == "median" else float(args.rating_threshold)
    labelled = label_frame(docs, cfg, LanguageIdentifier())
    results: dict = {"documents": docs.height, "languages": LANGS, "rules_vs_truth": truth_scores(labelled, "keep")}

    work = Path(tempfile.mkdtemp(prefix="bench_quality_"))
    results["heuristic"] = run_teacher("heuristic", labelled, work, cfg, ())
    if not args.no_llm:
        with contextlib.ExitStack() as stack:
            url = args.llm_url or stack.enter_context(llama_server(threads=os.cpu_count(), log_file=work / "server.log"))
            base = LLMSettings(base_url=url, model=args.model, api=args.api, temperature=0.0, max_tokens=3, concurrency=2)
            judges = build_judges(base, cfg["quality_model"], args.cache or work / "judge_cache.sqlite")
            t0 = time.perf_counter()
            results["llm"] = run_teacher("llm", labelled, work, cfg, judges)
            results["llm"]["judge_seconds"] = round(time.perf_counter() - t0, 1)
            results["llm"]["model"] = args.model

    scorer = QualityScorer(work / "heuristic")
    texts = (docs["text"].to_list() * (20_000 // docs.height + 1))[:20_000]
    t0 = time.perf_counter()
    scorer.score(texts)
    results["classifier_docs_per_s"] = round(len(texts) / (time.perf_counter() - t0), 1)
    results["machine"] = {"python": platform.python_version(), "cpus": os.cpu_count(), "at": datetime.now(timezone.utc).isoformat(timespec="seconds")}

    print(f"\n{results['documents']} documents ({len(LANGS)} languages, half clean, half corrupted); rules vs truth: "
          f"accuracy {results['rules_vs_truth']['accuracy']}")
    print("| teacher | judges' kappa | teacher vs truth | classifier vs held-out teacher | rules vs held-out teacher | classifier vs truth (held out) |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in ("heuristic", "llm"):
        if name in results:
            r = results[name]
            print(f"| {name} | {r['agreement'].get('fleiss_kappa')} | {r['teacher_vs_truth']['accuracy']} | {r['classifier_vs_held_out_teacher']['accuracy']} "
                  f"| {r['rules_vs_held_out_teacher']['accuracy']} | {r['classifier_vs_truth_held_out']['accuracy']} |")
    if "llm" in results:
        for k, v in results["llm"].items():
            if k.startswith("rating_"):
                print(f"{k}: accuracy {v['accuracy']}")
        print(f"llm teacher errors by kind: {results['llm']['teacher_errors_by_kind']}")
    print(f"classifier throughput: {results['classifier_docs_per_s']} docs/s")
    write_json(results, Path(args.out))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
