"""Dedup stage runners over files: the corpus's keys cached per shard, the `curate dedup`
stream, and one clustering over ids, hashes and band keys (`minhash`). Kept apart from the
other runners so that the dedup command and its workers import the MinHash code alone, not
the label stage's models and taggers."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import polars as pl

from curation_platform.minhash import MinHashConfig, cluster_keys, permutations, seed_permutations, shard_keys
from curation_platform.storage import file_digest, write_parquet
from curation_platform.workers import ordered_map, release_server, resolve_workers


def reference_sides(parallel_files: Iterable[str | Path]) -> pl.DataFrame:
    """Both sides of every policy-kept parallel pair as monolingual reference texts
    (`<pair_id>:src` / `:tgt`), so a web document that repeats a sentence already in
    the parallel corpus is not counted a second time."""
    frames = []
    for f in parallel_files:
        df = pl.read_parquet(f, columns=["pair_id", "src_text", "tgt_text", "src_lang", "tgt_lang", "keep"]).filter(pl.col("keep"))
        for side in ("src", "tgt"):
            frames.append(df.select((pl.col("pair_id") + f":{side}").alias("id"), pl.col(f"{side}_text").alias("text"), pl.col(f"{side}_lang").alias("lang")))
    if not frames:
        return pl.DataFrame(schema={"id": pl.String, "text": pl.String, "lang": pl.String})
    return pl.concat(frames).unique(subset="id", keep="first", maintain_order=True)


def _keys_name(path: str | Path, cfg: MinHashConfig, keep_column: str) -> str:
    return f"{Path(path).stem}-{file_digest(path)[:16]}-{cfg.hash}-{keep_column}.parquet"


def shard_dedup_keys(path: str | Path, cfg: MinHashConfig, keep_column: str, cache: Path) -> Path:
    """Dedup keys (id, exact, chars, sig, bands, lang) of one labelled shard's kept rows in
    `cache`, computed only when this exact file content was never hashed with this config."""
    if not cache.is_file():
        df = pl.read_parquet(path, columns=["id", "text", "lang", keep_column]).filter(pl.col(keep_column))
        write_parquet(shard_keys(df, cfg).with_columns(df["lang"]), cache)
    return cache


def key_index(files: list[Path], priority: set[Path] = frozenset()) -> tuple[pl.DataFrame, Callable[[str, np.ndarray], np.ndarray]]:
    """What clustering needs of every document in the key files (`shard_keys` output):
    ids, hashes, lengths (`lang` where present), and a loader that reads `bands` / `sig`
    back from disk for chosen rows only; rows of `priority` files always survive."""
    scan = pl.concat([pl.scan_parquet(f).with_columns(pl.lit(int(f in priority)).alias("priority")) for f in files], how="diagonal_relaxed")
    names = scan.collect_schema().names()
    meta = (scan.select("id", "exact", "chars", *(["lang"] if "lang" in names else []), "priority", pl.col("sig").is_not_null().alias("has_sig"))
            .with_row_index("row").collect(engine="streaming"))
    starts = np.r_[0, np.cumsum([parquet_rows(f) for f in files])]

    def load(column: str, rows: np.ndarray) -> np.ndarray:
        """One read of each file that holds a wanted row, each placed straight into the
        result: the column of one file at a time beside it, never a second copy of all."""
        rows = np.asarray(rows, dtype=np.int64)
        order = np.argsort(rows, kind="stable")
        wanted = rows[order]
        cut = np.searchsorted(wanted, starts)
        out = None
        for k in np.flatnonzero(cut[1:] > cut[:-1]):
            got = pl.read_parquet(files[k], columns=[column])[column].gather(wanted[cut[k] : cut[k + 1]] - starts[k]).to_numpy()
            if out is None:
                out = np.empty((len(rows), *got.shape[1:]), dtype=got.dtype)
            out[order[cut[k] : cut[k + 1]]] = got
        return out if out is not None else pl.read_parquet(files[0], columns=[column], n_rows=0)[column].to_numpy()

    return meta, load


PARALLEL_MIN_ROWS = 20_000


def parquet_rows(path: str | Path) -> int:
    import pyarrow.parquet as pq

    return pq.read_metadata(str(path)).num_rows


def _shard_keys_job(state: tuple[MinHashConfig, str], job: tuple[str | Path, Path]) -> Path:
    return shard_dedup_keys(job[0], state[0], state[1], job[1])


def _keys(mcfg: MinHashConfig, df: pl.DataFrame) -> pl.DataFrame:
    return shard_keys(df, mcfg)


def _seeded(state, mcfg: MinHashConfig, perms):
    """A dedup worker's state, with the parent's MinHash permutations (no datasketch import)."""
    seed_permutations(mcfg, perms)
    return state


def dedup_frames(frames: Iterable[pl.DataFrame], out_file: str | Path, mcfg: MinHashConfig, workers: int = 1) -> dict:
    """Exact + MinHash dedup of a stream of {id, text} frames: MinHash keys per batch over
    `workers` processes (spilled to a temp folder beside the output), then one clustering
    over ids, hashes and band keys; the texts are never all in memory. Writes `id`,
    `cluster_id`, `dup_count`, `keep`, `dup_type` in input order. Ids must be unique."""
    out_file = Path(out_file)
    out_file.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_file.parent, prefix=f".{out_file.stem}.keys-") as tmp:
        files = []
        for i, keys in enumerate(ordered_map(_keys, frames, workers, _seeded, (mcfg, mcfg, permutations(mcfg)))):
            files.append(write_parquet(keys, Path(tmp) / f"{i:06d}.parquet"))
        if not files:
            files.append(write_parquet(shard_keys(pl.DataFrame(schema={"id": pl.String, "text": pl.String}), mcfg), Path(tmp) / "empty.parquet"))
        release_server()
        meta, load = key_index(files)
        dups = meta.filter(pl.col("id").is_duplicated())["id"].unique(maintain_order=True)
        if dups.len():
            raise ValueError(f"duplicate id(s) {', '.join(dups.head(5).to_list())}")
        out, stats = cluster_keys(meta.drop("priority"), load, mcfg)
    write_parquet(out, out_file)
    return stats


def dedup_corpus(labelled_files: list[str | Path], out_file: str | Path, cfg: dict, reference_files: Iterable[str | Path] = (),
                 reference: pl.DataFrame | None = None, keep_column: str = "keep", index_dir: str | Path | None = None,
                 workers: int | str | None = None) -> dict:
    """Exact + MinHash dedup across every labelled shard; only rows kept so far
    (`keep_column`) compete. Reference texts (`reference` {id, text, lang}, and the sides
    of labelled parallel shards in `reference_files`) join the index with priority: they
    always survive, and the output lists only this corpus's documents.

    Streams: one shard's text in memory at a time; for the whole corpus only ids, hashes
    and the band keys of distinct texts are held (~0.4 KB per document at 500k), and
    MinHash signatures are read back only for rows in candidate pairs, a bounded number at
    a time (`minhash.verified_components`). Keys are cached per shard content in `index_dir`
    (default: beside `out_file`), so a new shard is checked against the existing index
    without re-hashing the old ones; cache files of shards no longer present are removed."""
    mcfg = MinHashConfig.from_dict(cfg.get("dedup"))
    out_file = Path(out_file)
    index_dir = Path(index_dir) if index_dir else out_file.parent / f".{out_file.stem}.keys"
    index_dir.mkdir(parents=True, exist_ok=True)
    if not labelled_files:
        raise FileNotFoundError("no labelled shards to read")
    names = [_keys_name(f, mcfg, keep_column) for f in labelled_files]
    files = [index_dir / n for n in names]
    todo = [(f, cache) for f, cache in zip(labelled_files, files) if not cache.is_file()]
    n = resolve_workers(cfg.get("workers") if workers is None else workers)
    if sum(parquet_rows(f) for f, _ in todo) < PARALLEL_MIN_ROWS:
        n = 1  # a few thousand documents hash faster than worker processes start
    for _ in ordered_map(_shard_keys_job, todo, n, _seeded, ((mcfg, keep_column), mcfg, permutations(mcfg))):
        pass  # each worker hashes whole shards; the cache files are the result
    release_server()
    for stale in index_dir.glob(f"*-{mcfg.hash}-{keep_column}.parquet"):
        if stale.name not in names:
            stale.unlink(missing_ok=True)
    refs = reference_sides(reference_files)
    if reference is not None and reference.height:
        refs = pl.concat([refs, reference.select("id", "text", "lang")]).unique(subset="id", keep="first", maintain_order=True)
    ref_file = index_dir / f"_references-{keep_column}.parquet"
    write_parquet(shard_keys(refs, mcfg).with_columns(refs["lang"]), ref_file)
    files.append(ref_file)
    meta, load = key_index(files, priority={ref_file})
    # The same document in two shards (same id) counts once.
    meta = meta.unique(subset="id", keep="first", maintain_order=True)
    out, stats = cluster_keys(meta, load, mcfg)
    n_docs = int((meta["priority"] == 0).sum())
    out = out.head(n_docs)
    ref_ids = set(refs["id"].to_list())
    stats.update({"docs": n_docs, "removed": int((~out["keep"]).sum()), "reference_texts": refs.height,
                  "duplicates_of_reference": sum(1 for c, k in zip(out["cluster_id"].to_list(), out["keep"].to_list()) if not k and c in ref_ids)})
    out = out.with_columns(meta["lang"].head(n_docs))
    write_parquet(out, out_file)
    sizes = out.filter(pl.col("dup_count") > 1).group_by("cluster_id").agg(pl.len().alias("size"))["size"].to_list()
    stats["cluster_sizes"] = sizes
    stats["per_language"] = {
        r["lang"]: {"in": int(r["in"]), "kept": int(r["kept"])}
        for r in out.group_by("lang").agg(pl.len().alias("in"), pl.col("keep").sum().alias("kept")).sort("lang").iter_rows(named=True)
    }
    return stats
