"""text-dedup (0.4.1) MinHash side of bench/dedup_quality.py. Runs in its own virtualenv
(bench/.venv-textdedup; text-dedup 0.4.1 needs Python >= 3.12), never in the project's.

    python bench/textdedup_minhash.py --input DOCS.jsonl --work DIR --out RESULT.json [--verify]

Uses the library's own MinHash steps (load + length filter, fingerprint, band clustering
with polars-grouper, and with --verify its exact-Jaccard false-positive check) through
the TOML config it documents, with num_proc=1; saving the deduplicated dataset is left
out of the timing. Reports a cluster index (smallest member) per input document."""

from __future__ import annotations

import argparse
import json
import os
import shutil
from pathlib import Path

from sidecar import Stages, peak_rss_mb, side_info, write_result


def toml_config(args: argparse.Namespace, work: Path) -> Path:
    data_files = json.dumps(str(args.input.resolve()))
    text = f"""
[input]
input_type = "local_files"
file_type = "json"

[input.read_arguments]
path = "json"
data_files = {data_files}
split = "train"
cache_dir = {json.dumps(str(work / "hf_cache"))}

[algorithm]
algorithm_name = "minhash"
text_column = "text"
seed = {args.seed}
num_proc = 1
num_perm = {args.num_perm}
bands = {args.bands}
rows = {args.rows}
ngram_size = {args.ngram}
threshold = {args.threshold}
check_false_positive = {"true" if args.verify else "false"}

[output]
output_dir = {json.dumps(str(work / "out"))}

[debug]
enable_profiling = false
"""
    path = work / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--input", type=Path, required=True)
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--ngram", type=int, default=5)
    ap.add_argument("--num-perm", type=int, default=120)
    ap.add_argument("--bands", type=int, default=20)
    ap.add_argument("--rows", type=int, default=6)
    ap.add_argument("--threshold", type=float, default=0.6)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--verify", action="store_true", help="text-dedup's check_false_positive (exact Jaccard >= threshold)")
    args = ap.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    os.environ.setdefault("HF_DATASETS_CACHE", str(args.work / "hf_cache"))

    from text_dedup.config.base import load_config_from_toml
    from text_dedup.minhash import assign, check_false_positives, cluster, fingerprint, load_and_preprocess

    config = load_config_from_toml(toml_config(args, args.work))
    with open(args.input, encoding="utf-8") as f:
        n = sum(1 for line in f if line.strip())
    st = Stages()
    with st.timed("dedup", n) as extra:
        ds, _, kept_len = load_and_preprocess(config)
        parents = cluster(config, fingerprint(config, ds))
        if args.verify:
            ds, parents = check_false_positives(config, assign(config, ds, parents))
        extra["docs_after_length_filter"] = kept_len
    members: dict[int, list[int]] = {}
    for idx, cid in parents.items():
        members.setdefault(int(cid), []).append(int(idx))
    clusters = list(range(n))
    for docs in members.values():
        root = min(docs)
        for d in docs:
            clusters[d] = root
    algo = config.algorithm
    write_result(args.out, {
        "n_docs": n,
        "stages": st.stages,
        **st.totals(n),
        "cluster": clusters,
        "peak_rss_mb": peak_rss_mb(),
        "config": {"ngram_size": algo.ngram_size, "num_perm": algo.num_perm, "bands": algo.bands, "rows": algo.rows,
                   "threshold": algo.threshold, "hash": f"{algo.hash_func_name}, hash_bits={algo.hash_bits}", "min_length": algo.min_length,
                   "tokenizer": r"lower-cased split on \W (unspaced scripts: one token per run)",
                   "verification": "exact n-gram Jaccard >= threshold" if args.verify else "none"},
        "side": side_info(),
    })


if __name__ == "__main__":
    main()
