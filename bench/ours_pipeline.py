"""Our side of the comparison benchmarks, run as a pinned subprocess of the project venv
so its peak RSS and CPU time are its own (the driver's document list is not counted).

    python bench/ours_pipeline.py spine --work DIR --out RESULT.json SHARD.jsonl [...]
    python bench/ours_pipeline.py dedup --out RESULT.json DOCS.jsonl

`spine` calls the same file-level stage runners as bench/spine.py (and the Dagster
assets): parse -> standardize -> label per shard, then dedup and construct over all of
them. `dedup` runs only curation_platform.minhash.deduplicate (exact + MinHash LSH with
verification) on {id, text} documents and reports a cluster index per document."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import polars as pl  # noqa: E402

from curation_platform.minhash import MinHashConfig, deduplicate  # noqa: E402
from curation_platform.pipeline import construct_corpus, dedup_corpus, label_shard, parse_shard, standardize_shard  # noqa: E402
from curation_platform.settings import load_config  # noqa: E402
from curation_platform.storage import Layout  # noqa: E402
from floor import FloorMeters  # noqa: E402
from sidecar import Stages, children_peak_rss_mb, peak_rss_mb, side_info, write_result  # noqa: E402


def count_lines(path: Path) -> int:
    with open(path, encoding="utf-8") as f:
        return sum(1 for line in f if line.strip())


def run_spine(shards: list[Path], work: Path, out: Path) -> None:
    cfg = load_config()
    layout = Layout(work).ensure()
    names = [f"bench-{i:03d}" for i in range(len(shards))]
    parsed, std, lab = ([layout.stage_file("web_crawl", s, n) for n in names] for s in ("parsed", "standardized", "labelled"))
    st = Stages()
    floor = FloorMeters().install()
    n_in = sum(count_lines(s) for s in shards)
    with st.timed("parse", n_in):
        n_parsed = sum(parse_shard(s, p, layout.quarantine("web_crawl") / f"{n}.parquet")["docs"]
                       for s, p, n in zip(shards, parsed, names))
    with st.timed("standardize", n_parsed):
        for p, s in zip(parsed, std):
            standardize_shard(p, s, cfg)
    with st.timed("label", n_parsed):
        kept = sum(label_shard(s, lb, cfg)["kept"] for s, lb in zip(std, lab))
    with st.timed("deduplicate", kept) as extra:
        dd = dedup_corpus(lab, layout.dedup_file(), cfg)
        extra["removed"] = dd["removed"]
    with st.timed("construct", n_parsed):
        manifest, _ = construct_corpus(lab, layout.dedup_file(), layout.release_dir(), cfg)
    floor_cpu = floor.take()  # label's fastText calls and dedup's MinHash signatures, in this process
    write_result(out, {
        "n_docs": n_in,
        "stages": st.stages,
        **st.totals(n_in),
        "peak_rss_mb": peak_rss_mb(),
        "children_peak_rss_mb": children_peak_rss_mb(),
        "floor_cpu_seconds": {**floor_cpu, "total": round(sum(floor_cpu.values()), 3)},
        "kept": {"parsed": n_parsed, "after_filters": kept, "duplicates_removed": dd["removed"],
                 "final": manifest["docs_released"]},
        "config": {"dedup": cfg["dedup"], "langid_model": f"{cfg['langid'].get('trained_dir') or 'bundled'} (fallback "
                                                           f"{cfg['langid'].get('model') or 'stock lid.176.ftz'})", "pii": cfg.get("pii", {}).get("corpora")},
        "side": side_info(),
    })


def run_dedup(docs: Path, out: Path) -> None:
    cfg = MinHashConfig.from_dict(load_config().get("dedup"))
    st = Stages()
    n = count_lines(docs)
    with st.timed("dedup", n) as extra:
        df = pl.read_ndjson(docs).select("id", "text")
        res, stats = deduplicate(df, cfg)
        extra["candidate_pairs"] = stats["candidate_pairs"]
    index = {d: i for i, d in enumerate(res["id"].to_list())}
    write_result(out, {
        "n_docs": n,
        "stages": st.stages,
        **st.totals(n),
        "cluster": [index[c] for c in res["cluster_id"].to_list()],
        "peak_rss_mb": peak_rss_mb(),
        "config": {"ngram": cfg.ngram, "num_perm": cfg.num_perm, "bands": cfg.bands, "rows": cfg.rows,
                   "threshold": cfg.threshold, "tokenizer": "curation_platform.words (unspaced scripts: characters)",
                   "verification": "estimated Jaccard >= threshold", "exact_dedup_first": True},
        "side": side_info(),
    })


def run_cli(docs: Path, work: Path, out: Path, workers: int) -> None:
    """`curate label` then `curate dedup` of the kept documents, as a user runs them."""
    import subprocess

    curate = str(Path(sys.executable).parent / "curate")
    work.mkdir(parents=True, exist_ok=True)
    st = Stages()
    n = count_lines(docs)
    labelled, kept_file, dedup = work / "labelled.parquet", work / "kept.jsonl", work / "dedup.parquet"
    with st.timed("label", n):
        subprocess.run([curate, "label", str(docs), str(labelled), "--workers", str(workers)], check=True)
    with st.timed("select_kept", n):
        kept = pl.scan_parquet(labelled).filter(pl.col("keep")).select("id", "text").collect()
        kept.write_ndjson(kept_file)
    with st.timed("dedup", kept.height):
        subprocess.run([curate, "dedup", str(kept_file), str(dedup), "--workers", str(workers)], check=True)
    final = int(pl.read_parquet(dedup, columns=["keep"])["keep"].sum())
    write_result(out, {"n_docs": n, "stages": st.stages, **st.totals(n), "peak_rss_mb": peak_rss_mb(), "children_peak_rss_mb": children_peak_rss_mb(),
                       "kept": {"parsed": n, "after_filters": kept.height, "duplicates_removed": kept.height - final, "final": final},
                       "config": {"workers": workers, "commands": ["curate label", "curate dedup"]}, "side": side_info()})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    sp = sub.add_parser("spine")
    sp.add_argument("shards", nargs="+", type=Path)
    sp.add_argument("--work", type=Path, required=True)
    sp.add_argument("--out", type=Path, required=True)
    dp = sub.add_parser("dedup")
    dp.add_argument("docs", type=Path)
    dp.add_argument("--out", type=Path, required=True)
    cp = sub.add_parser("cli")
    cp.add_argument("docs", type=Path)
    cp.add_argument("--work", type=Path, required=True)
    cp.add_argument("--out", type=Path, required=True)
    cp.add_argument("--workers", type=int, default=1)
    args = ap.parse_args()
    if args.cmd == "cli":
        run_cli(args.docs, args.work, args.out, args.workers)
    elif args.cmd == "spine":
        run_spine(args.shards, args.work, args.out)
    else:
        run_dedup(args.docs, args.out)


if __name__ == "__main__":
    main()
