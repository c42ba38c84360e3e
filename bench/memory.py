"""Memory benchmark: peak RSS of the whole spine at 1x, 4x and 10x input, each scale in its
own process (so one scale's peak cannot hide another's). Input is cut into inbox shards of
a fixed size, as a crawl arrives; parse / standardize / label run per shard, dedup and
construct over the whole corpus (streaming: keys and one language's text at a time).

    python bench/memory.py --n 10000 [--shard 5000] [--scales 1,4,10] [--out bench/results/memory.json]

Goal: peak RSS at 10x <= 1.3 x the peak at 1x."""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))


def write_input(n: int, shard_docs: int, data: Path, inbox: Path) -> None:
    """The input shards, written by the parent: building them is not the pipeline's memory."""
    from spine import build_docs

    docs = build_docs(n, data)
    inbox.mkdir(parents=True, exist_ok=True)
    for s in range(0, n, shard_docs):
        path = inbox / f"s{s // shard_docs:05d}.jsonl"
        path.write_text("\n".join(json.dumps(d, ensure_ascii=False) for d in docs[s : s + shard_docs]) + "\n", encoding="utf-8")


def one_scale(root: Path) -> dict:
    """Run the spine on the shards in root/inbox/web_crawl; called in a child process."""
    from curation_platform.pipeline import construct_corpus, dedup_corpus, label_shard, parse_shard, standardize_shard
    from curation_platform.settings import load_config
    from curation_platform.storage import Layout

    cfg = load_config()
    t0 = time.perf_counter()
    layout = Layout(root).ensure()
    shards = sorted(layout.inbox().glob("*.jsonl"))
    labelled = []
    for path in shards:
        key = path.stem
        parsed, std, lab = (layout.stage_file("web_crawl", st, key) for st in ("parsed", "standardized", "labelled"))
        parse_shard(path, parsed, layout.quarantine("web_crawl") / f"{key}.parquet")
        standardize_shard(parsed, std, cfg)
        label_shard(std, lab, cfg)
        labelled.append(lab)
    rss_per_shard = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    dd = dedup_corpus(labelled, layout.dedup_file(), cfg, index_dir=layout.dedup_keys_dir())
    rss_dedup = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    manifest, _ = construct_corpus(labelled, layout.dedup_file(), layout.release_dir(), cfg)
    return {"shards": len(shards), "seconds": round(time.perf_counter() - t0, 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "peak_rss_mb_after_per_shard_stages": round(rss_per_shard, 1), "peak_rss_mb_after_dedup": round(rss_dedup, 1),
            "removed_as_duplicates": dd["removed"], "released": manifest["docs_released"]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", "--base", dest="base", type=int, default=10_000, help="documents at 1x (--base: the old name)")
    ap.add_argument("--shard", type=int, default=5_000, help="documents per inbox shard")
    ap.add_argument("--scales", default="1,4,10")
    ap.add_argument("--data", type=Path, default=Path(os.environ.get("CURATION_TEST_DATA") or REPO.parent / "shared" / "data"))
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "memory.json")
    ap.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(one_scale(args.child)))
        return 0
    rows = []
    for scale in [int(x) for x in args.scales.split(",")]:
        n = args.base * scale
        print(f"{scale}x: {n} documents ...", file=sys.stderr, flush=True)
        with tempfile.TemporaryDirectory(prefix="memory-bench-") as tmp:
            write_input(n, args.shard, args.data, Path(tmp) / "inbox" / "web_crawl")
            out = subprocess.run([sys.executable, __file__, "--child", tmp], capture_output=True, text=True, check=True)
        rows.append({"scale": scale, "factor": scale, "docs": n, **json.loads(out.stdout.strip().splitlines()[-1])})
    base = rows[0]["peak_rss_mb"]
    for r in rows:
        r["growth_vs_1x"] = round(r["peak_rss_mb"] / base, 3)
    print(f"\n| scale | docs | shards | seconds | peak RSS MB | after per-shard stages | after dedup | growth vs 1x |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['scale']}x | {r['docs']} | {r['shards']} | {r['seconds']} | {r['peak_rss_mb']} | {r['peak_rss_mb_after_per_shard_stages']} "
              f"| {r['peak_rss_mb_after_dedup']} | {r['growth_vs_1x']} |")
    worst = max(r["growth_vs_1x"] for r in rows)
    print(f"\ngrowth at the largest scale: {rows[-1]['growth_vs_1x']}x (goal <= 1.3x): {'met' if worst <= 1.3 else 'NOT met'}")
    from curation_platform.storage import write_json

    write_json({"base_docs": args.base, "shard_docs": args.shard, "scales": rows, "max_growth": worst, "growth_10x": next((r["growth_vs_1x"] for r in rows if r["scale"] == 10), None),
                "goal_max_growth": 1.3,
                "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "at": datetime.now(timezone.utc).isoformat(timespec="seconds")}},
               args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
