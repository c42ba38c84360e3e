"""Spine benchmark: throughput (docs/s) of each of the five spine stages of the curation
engine -- parse -> standardize -> label -> deduplicate -> construct -- plus end-to-end
docs/s and the process's peak RSS.

Input is N JSONL documents built from the real shared test data: runs of 3-12
consecutive FLORES-200 devtest sentences or UDHR lines of one language (random start,
languages taken in turn), with ~10% planted near-duplicates (an earlier document with
~3% of its words dropped or swapped), ~5% exact duplicates and ~5% junk (menu-like
lines, repeated spam phrases). Each stage runs through the same file-level runner the
Dagster assets call (`curation_platform.pipeline`), in one process, on one shard, under
a temporary data root that is removed afterwards. Timings use time.perf_counter(); the
label stage includes loading the language-ID model, as a single-shard run would.

    . .venv/bin/activate
    python bench/spine.py                      # N=10000 -> bench/results/spine.json
    python bench/spine.py --n 2000 --out /tmp/spine.json
    python bench/spine.py --data /path/to/shared/data   # or set CURATION_TEST_DATA

This is a benchmark, not a test: it asserts nothing about speed."""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, TypeVar

from curation_platform.pipeline import construct_corpus, dedup_corpus, label_shard, parse_shard, standardize_shard
from curation_platform.settings import load_config
from curation_platform.storage import Layout

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "results" / "spine.json"
STAGES = ("parse", "standardize", "label", "deduplicate", "construct")
SHARD = "bench"
CORPUS = "web_crawl"

NEAR_DUP_RATE, EXACT_DUP_RATE, JUNK_RATE = 0.10, 0.05, 0.05
EDIT_RATE = 0.03  # share of words dropped/swapped in a near-duplicate
MENU_WORDS = ["Home", "About us", "Contact", "Login", "Sign up", "Cart", "Shop", "Blog", "News", "FAQ",
              "Privacy policy", "Terms", "Careers", "Help", "Search", "Menu", "Accept all cookies", "Next »"]
SPAM_PHRASES = ["click here buy now", "best price guaranteed", "free shipping today only", "win a free iphone",
                "limited offer act now", "cheap pills online"]

T = TypeVar("T")


def default_data() -> Path:
    env = os.environ.get("CURATION_TEST_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"


def check_data(data: Path) -> None:
    if not (data / "flores200" / "devtest").is_dir() or not (data / "udhr" / "utf8").is_dir():
        raise SystemExit(f"error: shared test data not found under {data} (need flores200/devtest and udhr/utf8); "
                         "pass --data or set CURATION_TEST_DATA")


def load_sources(data: Path) -> list[list[str]]:
    """One list of sentences per language/text: FLORES devtest lines, then UDHR lines."""
    flores = sorted((data / "flores200" / "devtest").glob("*.devtest"))
    udhr = sorted((data / "udhr" / "utf8").glob("*.txt"))
    sources = [[ln.strip() for ln in p.read_text("utf-8").splitlines() if ln.strip()] for p in flores + udhr]
    sources = [s for s in sources if s]
    if not sources:
        raise SystemExit(f"error: no FLORES/UDHR sentences under {data}")
    return sources


def clean_doc(sentences: list[str], rng: random.Random) -> str:
    """3-12 consecutive sentences from a random start."""
    k = min(len(sentences), rng.randint(3, 12))
    start = rng.randrange(len(sentences) - k + 1)
    return "\n".join(sentences[start:start + k])


def near_duplicate(text: str, rng: random.Random) -> str:
    """Drop or swap ~EDIT_RATE of the words (at least one edit), keeping line breaks."""
    lines = [ln.split(" ") for ln in text.split("\n")]
    slots = [(i, j) for i, ws in enumerate(lines) for j in range(len(ws))]
    for _ in range(max(1, round(len(slots) * EDIT_RATE))):
        i, j = rng.choice(slots)
        if rng.random() < 0.5 and len(lines[i]) > 1:
            lines[i][j] = ""  # dropped (joined away below)
        else:
            i2, j2 = rng.choice(slots)
            lines[i][j], lines[i2][j2] = lines[i2][j2], lines[i][j]
    return "\n".join(" ".join(w for w in ws if w) for ws in lines)


def junk_doc(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return "\n".join(rng.sample(MENU_WORDS, rng.randint(4, 10)))
    return " ".join([rng.choice(SPAM_PHRASES)] * rng.randint(8, 30))


def build_docs(n: int, sources: list[list[str]]) -> tuple[list[dict[str, str]], dict[str, int]]:
    """N documents (url, text), seeded; also how many of each kind were planted."""
    rng = random.Random(0)
    docs: list[dict[str, str]] = []
    originals: list[str] = []  # clean texts that duplicates may copy
    planted = {"clean": 0, "near_duplicate": 0, "exact_duplicate": 0, "junk": 0}
    lang = 0
    for i in range(n):
        roll = rng.random()
        if originals and roll < NEAR_DUP_RATE:
            kind, text = "near_duplicate", near_duplicate(rng.choice(originals), rng)
        elif originals and roll < NEAR_DUP_RATE + EXACT_DUP_RATE:
            kind, text = "exact_duplicate", rng.choice(originals)
        elif roll < NEAR_DUP_RATE + EXACT_DUP_RATE + JUNK_RATE:
            kind, text = "junk", junk_doc(rng)
        else:
            kind, text = "clean", clean_doc(sources[lang % len(sources)], rng)
            lang += 1
            originals.append(text)
        planted[kind] += 1
        docs.append({"url": f"https://bench.example/doc/{i}", "text": text})
    return docs, planted


def write_shard(docs: list[dict[str, str]], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for d in docs:
            fh.write(json.dumps(d, ensure_ascii=False) + "\n")
    return path


def timed(stages: dict[str, dict[str, Any]], name: str, docs_in: Callable[[T], int], fn: Callable[[], T]) -> T:
    """Run one stage, record its seconds and docs/s (input docs / seconds)."""
    t0 = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - t0
    n_in = docs_in(result)
    stages[name] = {"docs_per_s": round(n_in / seconds, 1) if seconds > 0 else float("inf"),
                    "seconds": round(seconds, 4), "docs_in": n_in}
    return result


def run_spine(shard: Path, layout: Layout, cfg: dict, n: int) -> tuple[dict[str, dict[str, Any]], dict[str, int]]:
    """The five stages in order, each timed; returns per-stage timings and result counts."""
    parsed, std, lab = (layout.stage_file(CORPUS, s, SHARD) for s in ("parsed", "standardized", "labelled"))
    quarantine = layout.quarantine(CORPUS) / f"{SHARD}.parquet"
    stages: dict[str, dict[str, Any]] = {}
    p = timed(stages, "parse", lambda _: n, lambda: parse_shard(shard, parsed, quarantine))
    s = timed(stages, "standardize", lambda _: p["docs"], lambda: standardize_shard(parsed, std, cfg))
    lb = timed(stages, "label", lambda _: s["docs"], lambda: label_shard(std, lab, cfg))
    dd = timed(stages, "deduplicate", lambda r: r["docs"], lambda: dedup_corpus([lab], layout.dedup_file(), cfg))
    manifest, _ = timed(stages, "construct", lambda _: lb["docs"],
                        lambda: construct_corpus([lab], layout.dedup_file(), layout.release_dir(), cfg))
    counts = {"parsed": p["docs"], "kept_after_policy": lb["kept"], "clusters": dd["clusters"],
              "duplicates_removed": dd["removed"], "released": manifest["docs_released"]}
    return stages, counts


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # KiB on Linux


def benchmark(n: int, data: Path) -> dict[str, Any]:
    cfg = load_config()
    t0 = time.perf_counter()
    docs, planted = build_docs(n, load_sources(data))
    with tempfile.TemporaryDirectory(prefix="spine-bench-") as tmp:
        layout = Layout(tmp).ensure()
        shard = write_shard(docs, layout.inbox(CORPUS) / f"{SHARD}.jsonl")
        build_seconds = time.perf_counter() - t0
        del docs
        stages, counts = run_spine(shard, layout, cfg, n)
    total = sum(st["seconds"] for st in stages.values())
    return {
        "docs": n,
        "stages": stages,
        "end_to_end_docs_per_s": round(n / total, 1) if total > 0 else float("inf"),
        "end_to_end_seconds": round(total, 3),
        "peak_rss_mb": peak_rss_mb(),
        **counts,
        "planted": planted,
        "build_seconds": round(build_seconds, 3),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "machine": platform.platform(),
        "timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def write_json_atomic(obj: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def print_report(res: dict[str, Any], out: Path) -> None:
    print(f"\nspine benchmark: {res['docs']} docs, {res['cpu_count']} CPUs, Python {res['python']}, {res['machine']}\n")
    print(f"{'stage':<13}{'docs in':>9}{'seconds':>10}{'docs/s':>11}")
    for name in STAGES:
        st = res["stages"][name]
        print(f"{name:<13}{st['docs_in']:>9}{st['seconds']:>10.3f}{st['docs_per_s']:>11,.0f}")
    print(f"{'end to end':<13}{res['docs']:>9}{res['end_to_end_seconds']:>10.3f}{res['end_to_end_docs_per_s']:>11,.0f}")
    print(f"\npeak RSS: {res['peak_rss_mb']:.1f} MB")
    print(f"kept after policy {res['kept_after_policy']}, clusters {res['clusters']}, "
          f"duplicates removed {res['duplicates_removed']}, released {res['released']} (planted: {res['planted']})")
    print(f"wrote {out}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Spine benchmark: docs/s per stage and peak RSS.")
    ap.add_argument("--n", type=int, default=10_000, help="documents to build (default 10000)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"JSON result (default {DEFAULT_OUT})")
    ap.add_argument("--data", type=Path, default=default_data(),
                    help="shared test data folder (default $CURATION_TEST_DATA or ../shared/data beside the repo)")
    args = ap.parse_args(argv)
    if args.n < 1:
        ap.error("--n must be at least 1")
    check_data(args.data)
    res = benchmark(args.n, args.data)
    write_json_atomic(res, args.out)
    print_report(res, args.out)


if __name__ == "__main__":
    main()
