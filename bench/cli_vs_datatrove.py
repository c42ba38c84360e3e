"""`curate label` + `curate dedup` against datatrove with the same number of workers on
the same CPUs, end to end, on bench/vs_datatrove.py's documents.

    .venv/bin/python bench/cli_vs_datatrove.py [--n 20000] [--workers 2] [--out bench/results/cli_vs_datatrove.json]

Ours: `curate label IN.jsonl` (standardize, the platform's LID model with the segment-level
pass, quality signals, policy), the kept documents written as JSONL, `curate dedup` on them,
each with `--workers N`. datatrove: JsonlReader -> LanguageFilter -> GopherQualityFilter ->
JsonlWriter, then MinHash signature / buckets / cluster / filter, each stage a
LocalPipelineExecutor with N workers (tasks = N; buckets: one task per band). Both are
pinned to the same N CPUs."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH), str(BENCH.parent)]

from curation_platform.langid import stock_model_path  # noqa: E402
from curation_platform.settings import load_config  # noqa: E402
from sidecar import DATATROVE_REQUIREMENTS, ensure_venv, machine, pick_cpus, run_side, write_jsonl  # noqa: E402
from spine import default_data  # noqa: E402
from vs_datatrove import corpus, our_stop_words, write_shards  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--data", type=Path, default=default_data())
    ap.add_argument("--venv", type=Path, default=BENCH / ".venv-datatrove")
    ap.add_argument("--out", type=Path, default=BENCH / "results" / "cli_vs_datatrove.json")
    args = ap.parse_args()
    dt_python = ensure_venv(args.venv, sys.executable, DATATROVE_REQUIREMENTS, log=lambda m: print(m, file=sys.stderr))
    cpus = pick_cpus(args.workers)
    env = {"POLARS_MAX_THREADS": str(len(cpus)), "OMP_NUM_THREADS": str(len(cpus)), "HF_HUB_OFFLINE": "1"}
    work = Path(tempfile.mkdtemp(prefix="cli-vs-datatrove-"))
    try:
        docs = corpus(args.n, args.data)
        write_jsonl(work / "docs.jsonl", docs)
        write_shards(docs, work / "input", 2 * args.workers)
        stop_file = work / "stop_words.json"
        stop_file.write_text(json.dumps(our_stop_words(), ensure_ascii=False), encoding="utf-8")
        cfg = load_config()
        print(f"ours: curate label + curate dedup, {args.workers} workers ...", file=sys.stderr)
        ours = run_side([sys.executable, str(BENCH / "ours_pipeline.py"), "cli", str(work / "docs.jsonl"), "--work", str(work / "ours"),
                         "--out", str(work / "ours.json"), "--workers", str(args.workers)], work / "ours.json", cpus, env, log_file=work / "ours.log")
        print(f"datatrove: {args.workers} workers ...", file=sys.stderr)
        d = cfg["dedup"]
        dt = run_side([str(dt_python), str(BENCH / "datatrove_pipeline.py"), "spine", "--input", str(work / "input"), "--work", str(work / "dt"),
                       "--out", str(work / "dt.json"), "--lid-model", cfg["langid"].get("model") or str(stock_model_path()),
                       "--lang-threshold", str(cfg["policy"]["default"]["min_lang_score"]), "--stop-words", str(stop_file),
                       "--ngram", str(d["ngram"]), "--bands", str(d["bands"]), "--rows", str(d["rows"]), "--seed", str(d["seed"]),
                       "--workers", str(args.workers)], work / "dt.json", cpus, env, log_file=work / "dt.log")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    side = lambda r: {**{k: v["docs_per_s"] for k, v in r["stages"].items()}, "end_to_end": r["end_to_end_docs_per_s"],  # noqa: E731
                      "seconds": r["end_to_end_seconds"], "process_seconds": r["process_seconds"], "peak_rss_mb": r["peak_rss_mb"],
                      "children_peak_rss_mb": r.get("children_peak_rss_mb")}
    res = {"docs": args.n, "workers": args.workers, "ours": side(ours), "datatrove": side(dt),
           "ratio_end_to_end": round(ours["end_to_end_docs_per_s"] / dt["end_to_end_docs_per_s"], 2),
           "kept": {"ours": ours["kept"], "datatrove": dt["kept"]}, "goal_ratio": 5.0,
           "machine": machine(cpus), "at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    print(f"\n### curate label + dedup vs datatrove: {args.n} documents, {args.workers} workers on {len(cpus)} CPUs\n")
    print("| side | stage docs/s | end to end docs/s | seconds | kept after filters | final |\n|---|---|---:|---:|---:|---:|")
    for name, r, raw in (("ours", res["ours"], ours), ("datatrove", res["datatrove"], dt)):
        stages = ", ".join(f"{k} {r[k]:,.0f}" for k in raw["stages"])
        print(f"| {name} | {stages} | {r['end_to_end']:,.0f} | {r['seconds']:.1f} | {raw['kept']['after_filters']} | {raw['kept']['final']} |")
    print(f"\nratio end to end (ours / datatrove): **{res['ratio_end_to_end']}** (goal >= 5)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
