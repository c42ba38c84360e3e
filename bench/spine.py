"""Spine benchmark: docs/s per stage and peak RSS for parse -> standardize -> label ->
deduplicate -> construct, on N documents built from the real shared data (FLORES-200
devtest and UDHR), with planted near-duplicates, exact duplicates and junk.

    python bench/spine.py --n 10000 [--out bench/results/spine.json]

Runs the same file-level stage runners the Dagster assets call, in one process."""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from curation_platform.pipeline import construct_corpus, dedup_corpus, label_shard, parse_shard, standardize_shard  # noqa: E402
from curation_platform.settings import load_config  # noqa: E402
from curation_platform.storage import Layout, write_json  # noqa: E402

JUNK = ["Home\nAbout us\nContact\nLogin", "click here click here click here buy now " * 15, "Cookie settings\nAccept all"]


def default_data() -> Path:
    return Path(os.environ.get("CURATION_TEST_DATA") or REPO.parent / "shared" / "data")


def sources(data: Path) -> list[list[str]]:
    """One list of sentences per language/text: FLORES lines and UDHR paragraphs."""
    out = [p.read_text("utf-8").splitlines() for p in sorted((data / "flores200" / "devtest").glob("*.devtest"))]
    out += [[ln for ln in p.read_text("utf-8").splitlines() if ln.strip()] for p in sorted((data / "udhr" / "utf8").glob("*.txt"))]
    if not out:
        raise SystemExit(f"no FLORES/UDHR text under {data}")
    return out


def edit(text: str, rng: random.Random) -> str:
    ws = text.split(" ")
    for _ in range(max(1, len(ws) // 33)):
        i = rng.randrange(len(ws))
        if rng.random() < 0.5 and len(ws) > 5:
            ws.pop(i)
        else:
            j = rng.randrange(len(ws))
            ws[i], ws[j] = ws[j], ws[i]
    return " ".join(ws)


def build_docs(n: int, data: Path) -> list[dict]:
    rng = random.Random(0)
    srcs = sources(data)
    docs: list[dict] = []
    for i in range(n):
        roll = rng.random()
        if docs and roll < 0.10:
            text = edit(docs[rng.randrange(len(docs))]["text"], rng)
        elif docs and roll < 0.15:
            text = docs[rng.randrange(len(docs))]["text"]
        elif roll < 0.20:
            text = rng.choice(JUNK)
        else:
            lines = srcs[i % len(srcs)]  # a random set of sentences of one language: distinct documents
            text = "\n".join(rng.sample(lines, min(len(lines), rng.randint(3, 12))))
        docs.append({"url": f"https://bench.example/{i}", "text": text})
    return docs


def run(n: int, data: Path) -> dict:
    cfg = load_config()
    with tempfile.TemporaryDirectory(prefix="spine-bench-") as tmp:
        layout = Layout(tmp).ensure()
        shard = layout.inbox() / "bench.jsonl"
        shard.write_text("\n".join(json.dumps(d, ensure_ascii=False) for d in build_docs(n, data)) + "\n", encoding="utf-8")
        parsed, std, lab = (layout.stage_file("web_crawl", s, "bench") for s in ("parsed", "standardized", "labelled"))
        stages: dict[str, dict] = {}

        def timed(name: str, docs_in: int, fn):
            t0 = time.perf_counter()
            result = fn()
            dt = time.perf_counter() - t0
            stages[name] = {"docs_per_s": round(docs_in / dt, 1) if dt else None, "seconds": round(dt, 3), "docs_in": docs_in}
            return result

        p = timed("parse", n, lambda: parse_shard(shard, parsed, layout.quarantine("web_crawl") / "bench.parquet"))
        timed("standardize", p["docs"], lambda: standardize_shard(parsed, std, cfg))
        lab_stats = timed("label", p["docs"], lambda: label_shard(std, lab, cfg))
        dd = timed("deduplicate", lab_stats["kept"], lambda: dedup_corpus([lab], layout.dedup_file(), cfg))
        manifest, _ = timed("construct", p["docs"], lambda: construct_corpus([lab], layout.dedup_file(), layout.release_dir(), cfg))
    total = sum(s["seconds"] for s in stages.values())
    return {
        "docs": n,
        "stages": stages,
        "end_to_end_docs_per_s": round(n / total, 1),
        "end_to_end_seconds": round(total, 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "kept_after_policy": lab_stats["kept"],
        "clusters": dd["clusters"],
        "duplicates_removed": dd["removed"],
        "released": manifest["docs_released"],
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "machine": platform.platform(),
        "timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000, help="documents to build (default 10000)")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "spine.json")
    ap.add_argument("--data", type=Path, default=default_data(), help="shared test data folder")
    args = ap.parse_args()
    if not (args.data / "flores200").is_dir():
        raise SystemExit(f"test data not found at {args.data} (set CURATION_TEST_DATA or --data)")
    res = run(args.n, args.data)
    print(f"\nspine benchmark: {res['docs']} documents, {res['cpu_count']} cores, Python {res['python']}\n")
    print(f"{'stage':<12} {'docs in':>9} {'seconds':>9} {'docs/s':>10}")
    for name, s in res["stages"].items():
        print(f"{name:<12} {s['docs_in']:>9} {s['seconds']:>9.2f} {s['docs_per_s']:>10.0f}")
    print(f"{'end to end':<12} {res['docs']:>9} {res['end_to_end_seconds']:>9.2f} {res['end_to_end_docs_per_s']:>10.0f}")
    print(f"\npeak RSS {res['peak_rss_mb']} MB; kept by policy {res['kept_after_policy']}, duplicates removed {res['duplicates_removed']}, released {res['released']}")
    write_json(res, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
