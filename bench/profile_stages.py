"""Profile the spine: CPU seconds per stage on the vs-datatrove documents, and the top
functions of any stage under cProfile.

    python bench/profile_stages.py --n 10000                 # CPU s per stage
    python bench/profile_stages.py --n 10000 --profile label # + cProfile top functions
    python bench/profile_stages.py --repo ../old-checkout    # the same for another checkout

CPU seconds (not wall time) so that two checkouts can be compared on one machine; the
documents are built once per --n and kept under --work.

Also measured, as `floor` (bench/floor.py): the CPU seconds each stage spends inside the
fastText models' predict calls and the MinHash signatures, the work the defaults ask for
whatever the Python around it costs. `--datatrove-cpu S` (datatrove's end-to-end CPU
seconds on the same documents and machine, from bench/vs_datatrove.py) turns it into the
highest end-to-end ratio any rewrite of the rest could reach."""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
STAGES = ("parse", "standardize", "label", "deduplicate", "construct")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000, help="documents (default 10000)")
    ap.add_argument("--repo", type=Path, default=BENCH.parent, help="checkout whose curation_platform is measured")
    ap.add_argument("--profile", choices=STAGES, action="append", default=[], help="print this stage's top functions")
    ap.add_argument("--top", type=int, default=20)
    ap.add_argument("--datatrove-cpu", type=float, help="datatrove's end-to-end CPU s on the same documents (bench/vs_datatrove.py)")
    ap.add_argument("--work", type=Path, default=BENCH / ".tmp-profile")
    ap.add_argument("--out", type=Path, default=BENCH / "results" / "profile_stages.json")
    args = ap.parse_args()
    sys.path[:0] = [str(args.repo.resolve()), str(BENCH)]
    from curation_platform.pipeline import construct_corpus, dedup_corpus, label_shard, parse_shard, standardize_shard
    from curation_platform.settings import load_config
    from spine import default_data
    from vs_datatrove import corpus, write_shards

    cfg = load_config()
    cfg["workers"] = 1  # CPU seconds of the work itself, in this process (the --repo checkout may not know workers)
    docs_dir = args.work / f"docs-{args.n}"
    if not (docs_dir / "shard-000.jsonl").is_file():
        write_shards(corpus(args.n, default_data()), docs_dir, 1)
    run = args.work / "run"
    for f in sorted(run.rglob("*"), reverse=True) if run.exists() else []:
        f.unlink() if f.is_file() or f.is_symlink() else f.rmdir()
    run.mkdir(parents=True, exist_ok=True)
    steps = {
        "parse": lambda: parse_shard(docs_dir / "shard-000.jsonl", run / "parsed.parquet", run / "quarantine.parquet"),
        "standardize": lambda: standardize_shard(run / "parsed.parquet", run / "std.parquet", cfg),
        "label": lambda: label_shard(run / "std.parquet", run / "labelled.parquet", cfg),
        "deduplicate": lambda: dedup_corpus([run / "labelled.parquet"], run / "dedup.parquet", cfg),
        "construct": lambda: construct_corpus([run / "labelled.parquet"], run / "dedup.parquet", run / "release", cfg),
    }
    from floor import FloorMeters, ceiling

    floor = FloorMeters().install()
    cpu: dict[str, float] = {}
    floor_cpu: dict[str, dict[str, float]] = {}
    for name in STAGES:
        floor.take()
        prof = cProfile.Profile() if name in args.profile else None
        t0 = time.process_time()
        if prof:
            prof.runcall(steps[name])
        else:
            steps[name]()
        cpu[name] = round(time.process_time() - t0, 2)
        floor_cpu[name] = floor.take()
        if prof:
            buf = io.StringIO()
            pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(args.top)
            print(f"\n== {name} (under cProfile: times inflated) ==\n{buf.getvalue()}")
    print(f"\nCPU seconds per stage, {args.n} documents, {args.repo.resolve()}\n")
    print(f"{'stage':<12} {'CPU s':>8} {'docs/CPU-s':>11}")
    for name, s in cpu.items():
        print(f"{name:<12} {s:>8.2f} {args.n / s if s else 0:>11,.0f}")
    total = sum(cpu.values())
    print(f"{'total':<12} {total:>8.2f} {args.n / total:>11,.0f}")
    floor_total = round(sum(sum(v.values()) for v in floor_cpu.values()), 2)
    print("\nfloor: CPU s inside model calls and MinHash signatures (the rest is everything else)\n")
    print(f"{'stage':<12} {'fastText':>9} {'MinHash':>9} {'rest':>8}")
    for name, v in floor_cpu.items():
        print(f"{name:<12} {v['fasttext']:>9.2f} {v['minhash']:>9.2f} {cpu[name] - v['fasttext'] - v['minhash']:>8.2f}")
    print(f"{'total':<12} {sum(v['fasttext'] for v in floor_cpu.values()):>9.2f} {sum(v['minhash'] for v in floor_cpu.values()):>9.2f} "
          f"{total - floor_total:>8.2f}")
    result = {"n_docs": args.n, "repo": str(args.repo.resolve()), "cpu_seconds": cpu, "total": round(total, 2),
              "floor_seconds": floor_cpu, "floor_total": floor_total}
    if args.datatrove_cpu:
        result["datatrove_cpu_seconds"] = args.datatrove_cpu
        result["ratio_now"] = round(args.datatrove_cpu / total, 2)
        result["ratio_ceiling"] = ceiling(args.datatrove_cpu, floor_total)
        print(f"\ndatatrove {args.datatrove_cpu:.2f} CPU s: ratio now {result['ratio_now']}x; with everything but the floor free "
              f"{result['ratio_ceiling']}x")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
