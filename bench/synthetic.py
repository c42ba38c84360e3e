"""Synthetic-generation benchmark against a real local server (llama.cpp + the bundled
Gemma 3 270M, started here unless --llm-url is given): requests/s, tokens/s, cache hit
rate on a rerun, and gate pass rates per generator and per language, on seed text from
the shared FLORES data and NTREX pairs.

    python bench/synthetic.py --n 24 [--llm-url URL] [--api completions|chat] [--out bench/results/synthetic.json]

--n is the number of samples (spread over the languages and the four generators)."""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import resource
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import polars as pl  # noqa: E402

from curation_platform.label import identifier_from_config  # noqa: E402
from curation_platform.llm import LLMClient  # noqa: E402
from curation_platform.local_servers import llama_server  # noqa: E402
from curation_platform.settings import load_config  # noqa: E402
from curation_platform.storage import write_json  # noqa: E402
from curation_platform.synthetic.runs import generate_batch, label_synthetic, llm_settings  # noqa: E402

LANGS = ["ind_Latn", "jav_Latn", "sun_Latn", "tgl_Latn"]
PIVOTS = ["eng_Latn", "ind_Latn"]


def build_release(root: Path, data: Path) -> None:
    for lang in sorted(set(LANGS + PIVOTS)):
        lines = (data / "flores200" / "devtest" / f"{lang}.devtest").read_text("utf-8").splitlines()
        docs = [" ".join(lines[i : i + 4]) for i in range(0, 400, 4)]
        (root / "release" / lang).mkdir(parents=True, exist_ok=True)
        pl.DataFrame({"id": [f"{lang}-{i}" for i in range(len(docs))], "text": docs}).write_parquet(root / "release" / lang / "part.parquet")
    pairs = [ln.split("\t")[:2] for ln in (data / "parallel" / "ntrex128" / "eng-ind.tsv").read_text("utf-8").splitlines()[:100] if "\t" in ln]
    (root / "parallel" / "eng_Latn-ind_Latn").mkdir(parents=True, exist_ok=True)
    pl.DataFrame({"src_text": [p[0] for p in pairs], "tgt_text": [p[1] for p in pairs]}).write_parquet(root / "parallel" / "eng_Latn-ind_Latn" / "pairs.parquet")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=24, help="samples (default 24)")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "synthetic.json")
    ap.add_argument("--data", type=Path, default=Path(os.environ.get("CURATION_TEST_DATA") or REPO.parent / "shared" / "data"))
    ap.add_argument("--llm-url", help="OpenAI-compatible /v1 URL (default: start llama_cpp.server on the bundled Gemma 3 270M)")
    ap.add_argument("--model", default=None)
    ap.add_argument("--api", default=None, choices=["completions", "chat"])
    args = ap.parse_args()
    cfg = load_config()
    scfg = cfg["synthetic"]
    scfg["llm"].update({k: v for k, v in {"model": args.model, "api": args.api}.items() if v})
    per_request = max(4, -(-args.n // len(LANGS)))
    scfg.update({"tokens_per_sample": 1, "max_samples_per_request": per_request, "generators": {"in_context": 2, "translation": 1, "sft": 1, "dpo": 1}})
    plan = {"plan_hash": "bench", "requests": [{"kind": "synthetic", "language": lang, "level": "basic", "domain": "news", "metric": "bpc",
                                                "tokens": per_request} for lang in LANGS]}
    server = contextlib.nullcontext(args.llm_url) if args.llm_url else llama_server()
    with tempfile.TemporaryDirectory() as tmp, server as url:
        root = Path(tmp)
        build_release(root, args.data)
        client = LLMClient(llm_settings(cfg, url), cache_path=root / "cache.sqlite")
        t0 = time.perf_counter()
        stats = generate_batch(plan, root / "release", root / "parallel", cfg, client, root / "gen.parquet")
        gen_s = time.perf_counter() - t0
        rerun_client = LLMClient(llm_settings(cfg, url), cache_path=root / "cache.sqlite")
        t0 = time.perf_counter()
        rerun = generate_batch(plan, root / "release", root / "parallel", cfg, rerun_client, root / "gen2.parquet")
        rerun_s = time.perf_counter() - t0
        report = label_synthetic(root / "gen.parquet", root / "lab.parquet", cfg, identifier_from_config(cfg))
        lab = pl.read_parquet(root / "lab.parquet")
    per_lang = {r["lang_hint"]: {"samples": r["n"], "passed": r["p"], "pass_rate": round(r["p"] / r["n"], 4)}
                for r in lab.group_by("lang_hint").agg(pl.len().alias("n"), pl.col("gate_keep").sum().alias("p")).sort("lang_hint").iter_rows(named=True)}
    usage = stats["usage"]
    result = {
        "samples": stats["samples"], "llm_requests": usage["requests"], "seconds": round(gen_s, 2),
        "requests_per_s": round(usage["requests"] / gen_s, 3), "completion_tokens_per_s": round(usage["completion_tokens"] / gen_s, 1),
        "samples_per_s": round(stats["samples"] / gen_s, 3), "prompt_tokens": usage["prompt_tokens"], "completion_tokens": usage["completion_tokens"],
        "retries": usage["retries"], "cache_hit_rate_rerun": rerun["usage"]["cache_hit_rate"], "rerun_seconds": round(rerun_s, 2),
        "gate_pass_rate": report["pass_rate"], "per_generator": report["per_generator"], "per_language": per_lang,
        "drop_reasons": report["drop_reasons"], "judge_mean": round(float(lab["judge_score"].mean() or 0), 3),
        "model": scfg["llm"]["model"], "api": scfg["llm"]["api"], "server": args.llm_url or "llama_cpp.server (started by the benchmark)",
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1), "cpu_count": os.cpu_count(),
        "python": platform.python_version(), "timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    print(f"\nsynthetic benchmark: {result['samples']} samples for {', '.join(LANGS)}; {result['model']} via {result['api']}\n")
    print(f"LLM requests {result['llm_requests']} in {result['seconds']} s: {result['requests_per_s']} req/s, "
          f"{result['completion_tokens_per_s']} completion tokens/s; rerun {result['rerun_seconds']} s, cache hit rate {result['cache_hit_rate_rerun']}")
    print(f"\n{'generator':<12} {'samples':>8} {'passed':>7} {'rate':>6}")
    for g, v in report["per_generator"].items():
        print(f"{g:<12} {v['samples']:>8} {v['passed']:>7} {v['pass_rate']:>6.2f}")
    print(f"\n{'language':<12} {'samples':>8} {'passed':>7} {'rate':>6}")
    for g, v in per_lang.items():
        print(f"{g:<12} {v['samples']:>8} {v['passed']:>7} {v['pass_rate']:>6.2f}")
    print(f"\ngate pass rate {result['gate_pass_rate']:.3f}; drops: {result['drop_reasons']}")
    write_json(result, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
