"""Peak memory of the `curate` commands at 1x and 10x input, and with 1 and 2 workers:
streaming commands hold a bounded number of batches, so the peak should not grow with
the input.

    .venv/bin/python bench/cli_memory.py [--n 50000] [--commands label,dedup[,bitext]] [--scales 1,10] [--workers 1,2]
        [--out bench/results/cli_memory.json]

Peak RSS (and PSS) is sampled every 0.25 s over the command's whole process tree (the command and
its worker processes, summed: spawned workers share no pages with it). Input: bench/spine.py's
documents (FLORES-200 + UDHR paragraphs, planted duplicates and junk) as one JSONL file; for
`bitext`, English-Indonesian FLORES pairs as one TSV (rules only: no embeddings server)."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import psutil

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH), str(BENCH.parent)]

from spine import build_docs, default_data  # noqa: E402


def tree_peak(cmd: list[str]) -> tuple[float, float, float, float]:
    """(seconds, peak summed RSS MB of the process tree, peak RSS MB of the command alone,
    peak summed PSS MB of the tree). RSS counts the pages the processes share (the shared
    libraries polars, numpy and fastText map into each worker) once per process; PSS
    splits each shared page among its sharers, so the tree's PSS is the memory it takes."""
    t0 = time.perf_counter()
    proc = psutil.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = [0.0, 0.0, 0.0]

    def sample() -> None:
        while proc.poll() is None:
            try:
                procs = [proc, *proc.children(recursive=True)]
                full = [p.memory_full_info() for p in procs]
                peak[0] = max(peak[0], sum(m.rss for m in full) / 2**20)
                peak[1] = max(peak[1], full[0].rss / 2**20)
                peak[2] = max(peak[2], sum(getattr(m, "pss", m.rss) for m in full) / 2**20)
            except psutil.Error:
                pass
            time.sleep(0.25)  # reading every process's smaps for PSS is not free

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    _, err = proc.communicate()
    th.join()
    if proc.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed: {err.decode()[-2000:]}")
    return round(time.perf_counter() - t0, 1), round(peak[0], 1), round(peak[1], 1), round(peak[2], 1)


def write_pairs(n: int, data: Path, path: Path) -> None:
    """`curate bitext` input: n English-Indonesian FLORES pairs (devtest, repeated), one in 20
    misaligned (the next line's target), as a TSV."""
    d = data / "flores200" / "devtest"
    eng, ind = (d / "eng_Latn.devtest").read_text("utf-8").splitlines(), (d / "ind_Latn.devtest").read_text("utf-8").splitlines()
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            k = i % len(eng)
            fh.write(f"{eng[k]}\t{ind[(k + (i % 20 == 0)) % len(ind)]}\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=50_000, help="documents at 1x")
    ap.add_argument("--commands", default="label,dedup", help="any of label, dedup, bitext (English-Indonesian FLORES pairs)")
    ap.add_argument("--scales", default="1,10")
    ap.add_argument("--workers", default="1,2", help="worker counts measured at 1x (the largest scale runs with the last)")
    ap.add_argument("--data", type=Path, default=default_data())
    ap.add_argument("--out", type=Path, default=BENCH / "results" / "cli_memory.json")
    args = ap.parse_args()
    curate = str(Path(sys.executable).parent / "curate")
    scales, workers = [int(x) for x in args.scales.split(",")], [int(x) for x in args.workers.split(",")]
    rows = []
    with tempfile.TemporaryDirectory(prefix="cli-memory-") as tmp:
        for scale in scales:
            n = args.n * scale
            commands = args.commands.split(",")
            docs_file, pairs_file = Path(tmp) / f"docs-{n}.jsonl", Path(tmp) / f"pairs-{n}.tsv"
            if set(commands) - {"bitext"}:
                with open(docs_file, "w", encoding="utf-8") as fh:
                    for i, d in enumerate(build_docs(n, args.data)):
                        fh.write(json.dumps({"id": d.get("id", f"d{i}"), "text": d["text"]}, ensure_ascii=False) + "\n")
            if "bitext" in commands:
                write_pairs(n, args.data, pairs_file)
            for command in commands:
                for w in (workers if scale == scales[0] else workers[-1:]):
                    print(f"curate {command}: {n} documents, {w} worker(s) ...", file=sys.stderr, flush=True)
                    inp, extra = (pairs_file, ["--src", "eng", "--tgt", "ind"]) if command == "bitext" else (docs_file, [])
                    secs, tree, own, pss = tree_peak([curate, command, str(inp), str(Path(tmp) / f"{command}.parquet"), "--workers", str(w), *extra])
                    rows.append({"command": command, "factor": scale, "docs": n, "workers": w, "seconds": secs, "docs_per_s": round(n / secs, 1),
                                 "peak_rss_mb": tree, "peak_rss_mb_command": own, "peak_pss_mb": pss})
            docs_file.unlink(missing_ok=True)
            pairs_file.unlink(missing_ok=True)
    summary = {}
    for command in args.commands.split(","):
        mine = [r for r in rows if r["command"] == command]
        summary[command] = {}
        for key, suffix in (("peak_rss_mb", ""), ("peak_pss_mb", "_pss")):
            at = lambda f, w, key=key: next((r[key] for r in mine if r["factor"] == f and r["workers"] == w), None)  # noqa: E731
            big, small = at(scales[-1], workers[-1]), at(scales[0], workers[-1])
            summary[command] |= {f"growth_10x{suffix}": round(big / small, 3) if big and small else None,
                                 f"workers_ratio{suffix}": round(small / at(scales[0], workers[0]), 3) if len(workers) > 1 and small else None}
    print("\n| command | docs | workers | seconds | docs/s | peak RSS MB (tree) | of which the command | peak PSS MB (tree) |\n|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| curate {r['command']} | {r['docs']:,} | {r['workers']} | {r['seconds']} | {r['docs_per_s']:,.0f} | {r['peak_rss_mb']} | {r['peak_rss_mb_command']} | {r['peak_pss_mb']} |")
    print("\n| command | growth at 10x, RSS / PSS (goal <= 1.3) | peak with 2 workers / 1, RSS / PSS (goal <= 1.6) |\n|---|---:|---:|")
    for c, s in summary.items():
        print(f"| curate {c} | {s['growth_10x']} / {s['growth_10x_pss']} | {s['workers_ratio']} / {s['workers_ratio_pss']} |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"base_docs": args.n, "scales": rows, "commands": summary, "goals": {"growth_10x": 1.3, "workers_ratio": 1.6},
                                    "at": datetime.now(timezone.utc).isoformat(timespec="seconds")}, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
