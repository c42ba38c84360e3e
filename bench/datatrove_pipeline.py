"""datatrove side of the comparison benchmarks. Runs in its own virtualenv
(bench/.venv-datatrove, created by bench/vs_datatrove.py or bench/dedup_quality.py), never
in the project's, and imports nothing from curation_platform.

    python bench/datatrove_pipeline.py spine --input DIR --work DIR --out RESULT.json --lid-model lid.176.ftz
    python bench/datatrove_pipeline.py dedup --input DOCS.jsonl --work DIR --out RESULT.json

`spine`: JsonlReader -> LanguageFilter (fastText lid.176, loaded from the file our platform
uses: datatrove's FT176LID would download lid.176.bin, so a subclass loads the given path)
-> GopherQualityFilter -> JsonlWriter, then the four MinHash stages (signature, buckets,
cluster, filter + JsonlWriter), each a LocalPipelineExecutor with one worker.
`dedup`: MinHash stages 1-3 only, cluster ids read back from stage 3's `.clusters` file.
Every stage is timed on its own (wall and CPU seconds)."""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import struct
from pathlib import Path
from typing import Any

from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.dedup.minhash import (
    MinhashConfig,
    MinhashDedupBuckets,
    MinhashDedupCluster,
    MinhashDedupFilter,
    MinhashDedupSignature,
)
from datatrove.pipeline.filters import GopherQualityFilter, LanguageFilter
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers import JsonlWriter
from datatrove.utils.hashing import HashConfig
from datatrove.utils.lid import FT176LID
from datatrove.utils.stats import PipelineStats

from sidecar import Stages, children_peak_rss_mb, peak_rss_mb, side_info, write_result


class LocalFT176LID(FT176LID):
    """datatrove's lid.176 predictor, but loading a local model file instead of downloading one."""

    def __init__(self, model_path: str, languages: list[str] | None = None, k: int = -1) -> None:
        super().__init__(languages, k)
        self.model_path = model_path

    @property
    def model(self):  # type: ignore[override]
        if self._model is None:
            from fasttext.FastText import _FastText

            self._model = _FastText(self.model_path)
        return self._model


class LocalLanguageFilter(LanguageFilter):
    """LanguageFilter with the ft176 backend pointed at `model_path`."""

    def __init__(self, model_path: str, **kwargs: Any) -> None:
        super().__init__(backend="ft176", **kwargs)
        self.model = LocalFT176LID(model_path, self.languages)


def minhash_config(args: argparse.Namespace) -> MinhashConfig:
    return MinhashConfig(n_grams=args.ngram, num_buckets=args.bands, hashes_per_bucket=args.rows, seed=args.seed,
                         hash_config=HashConfig(precision=64, hash_fc="xxhash"))


WORKERS = 1


def execute(pipeline: list, logs: Path, tasks: int | None = None) -> PipelineStats:
    """One datatrove stage: `tasks` ranks (default: one per worker) over WORKERS processes
    (`--workers`; 1 = one after the other in this process)."""
    tasks = tasks or WORKERS
    ex = LocalPipelineExecutor(pipeline=pipeline, tasks=tasks, workers=min(WORKERS, tasks), logging_dir=str(logs), skip_completed=False)
    return ex.run()


def step_summary(stats: PipelineStats | None) -> dict[str, Any]:
    """Seconds spent in each pipeline step (datatrove's own accounting) and its counters."""
    if stats is None:
        return {}
    out = {}
    for s in stats.stats:
        counters = {k: v.total for k, v in s.stats.items() if hasattr(v, "total")}
        out[s.name] = {"seconds": round(s.time_stats.total, 3), **{k: int(v) if float(v).is_integer() else v for k, v in counters.items()}}
    return out


def count_docs(folder: Path) -> int:
    n = 0
    for f in sorted(folder.glob("*.jsonl*")):
        opener = gzip.open if f.suffix == ".gz" else open
        with opener(f, "rt", encoding="utf-8") as fh:
            n += sum(1 for line in fh if line.strip())
    return n


def dedup_stages(st: Stages, reader_input: Path, work: Path, cfg: MinhashConfig, language: str, n_docs: int,
                 save_cluster_id: bool = False) -> None:
    """MinHash stages 1-3 (signatures, bucket matches, union-find clusters) as datatrove runs them."""
    with st.timed("minhash_signature", n_docs) as extra:
        extra["steps"] = step_summary(execute([JsonlReader(str(reader_input)), MinhashDedupSignature(str(work / "sigs"), config=cfg, language=language)], work / "logs" / "sig"))
    with st.timed("minhash_buckets", n_docs) as extra:
        extra["steps"] = step_summary(execute([MinhashDedupBuckets(str(work / "sigs"), str(work / "buckets"), config=cfg)], work / "logs" / "buckets", tasks=cfg.num_buckets))
    with st.timed("minhash_cluster", n_docs) as extra:
        extra["steps"] = step_summary(execute([MinhashDedupCluster(str(work / "buckets"), str(work / "remove_ids"), config=cfg, save_cluster_id=save_cluster_id)], work / "logs" / "cluster", tasks=1))


def run_spine(args: argparse.Namespace) -> None:
    work: Path = args.work
    shutil.rmtree(work, ignore_errors=True)
    cfg = minhash_config(args)
    stop_words = json.loads(Path(args.stop_words).read_text(encoding="utf-8")) if args.stop_words else None
    n_in = count_docs(args.input)
    st = Stages()
    with st.timed("filter", n_in) as extra:  # read + language ID + Gopher quality + write
        extra["steps"] = step_summary(execute([
            JsonlReader(str(args.input), glob_pattern="*.jsonl"),
            LocalLanguageFilter(args.lid_model, language_threshold=args.lang_threshold),
            GopherQualityFilter(stop_words=stop_words, language=args.language),
            JsonlWriter(str(work / "filtered")),
        ], work / "logs" / "filter"))
    kept = count_docs(work / "filtered")
    dedup_stages(st, work / "filtered", work, cfg, args.language, kept)
    with st.timed("minhash_filter", kept) as extra:  # drop the duplicates + write the final corpus
        extra["steps"] = step_summary(execute([
            JsonlReader(str(work / "filtered")),
            MinhashDedupFilter(str(work / "remove_ids")),
            JsonlWriter(str(work / "output")),
        ], work / "logs" / "minhash_filter"))
    final = count_docs(work / "output")
    write_result(args.out, {
        "n_docs": n_in,
        "stages": st.stages,
        **st.totals(n_in),
        "peak_rss_mb": peak_rss_mb(),
        "children_peak_rss_mb": children_peak_rss_mb(),
        "kept": {"parsed": n_in, "after_filters": kept, "duplicates_removed": kept - final, "final": final},
        "config": {"minhash": str(cfg), "n_grams": cfg.n_grams, "num_buckets": cfg.num_buckets,
                   "hashes_per_bucket": cfg.hashes_per_bucket, "seed": cfg.seed, "language_threshold": args.lang_threshold,
                   "lid_model": args.lid_model, "word_tokenizer_language": args.language,
                   "gopher_stop_words": len(stop_words) if stop_words else "datatrove default (8 English words)"},
        "side": side_info(),
    })


def read_clusters(folder: Path, n_docs: int) -> list[int]:
    """Cluster index per document (the smallest member's index) from stage 3's rank-0 `.clusters` file."""
    members: dict[int, list[int]] = {}
    path = folder / "000000.clusters"
    if path.is_file():
        data = path.read_bytes()
        for doc, cid in struct.iter_unpack("<2I", data):
            members.setdefault(cid, []).append(doc)
    cluster = list(range(n_docs))
    for docs in members.values():
        root = min(docs)
        for d in docs:
            cluster[d] = root
    return cluster


def run_dedup(args: argparse.Namespace) -> None:
    work: Path = args.work
    shutil.rmtree(work, ignore_errors=True)
    (work / "input").mkdir(parents=True)
    shutil.copy(args.input, work / "input" / "docs.jsonl")
    cfg = minhash_config(args)
    n = count_docs(work / "input")
    st = Stages()
    dedup_stages(st, work / "input", work, cfg, args.language, n, save_cluster_id=True)
    write_result(args.out, {
        "n_docs": n,
        "stages": st.stages,
        **st.totals(n),
        "cluster": read_clusters(work / "remove_ids", n),
        "peak_rss_mb": peak_rss_mb(),
        "config": {"n_grams": cfg.n_grams, "num_buckets": cfg.num_buckets, "hashes_per_bucket": cfg.hashes_per_bucket,
                   "seed": cfg.seed, "hash": str(cfg.hash_config), "word_tokenizer_language": args.language,
                   "verification": "none (any shared bucket links two documents)"},
        "side": side_info(),
    })


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("spine", "dedup"):
        p = sub.add_parser(name)
        p.add_argument("--input", type=Path, required=True, help="folder of *.jsonl shards (spine) or one .jsonl file (dedup)")
        p.add_argument("--work", type=Path, required=True, help="scratch folder (emptied first)")
        p.add_argument("--out", type=Path, required=True, help="result JSON")
        p.add_argument("--ngram", type=int, default=5)
        p.add_argument("--bands", type=int, default=20)
        p.add_argument("--rows", type=int, default=6)
        p.add_argument("--seed", type=int, default=1)
        p.add_argument("--language", default="eng", help="datatrove word-tokenizer language (one per pipeline)")
        p.add_argument("--workers", type=int, default=1, help="datatrove worker processes (LocalPipelineExecutor workers; tasks = workers)")
        if name == "spine":
            p.add_argument("--lid-model", required=True, help="fastText LID model file (ours: lid.176.ftz)")
            p.add_argument("--lang-threshold", type=float, default=0.5)
            p.add_argument("--stop-words", help="JSON list of stop words for GopherQualityFilter")
    args = ap.parse_args()
    global WORKERS
    WORKERS = args.workers
    run_spine(args) if args.cmd == "spine" else run_dedup(args)


if __name__ == "__main__":
    main()
