"""Atomic file writes and the data-root layout, so a killed step never leaves a
half-written file where a reader (or a rerun) would take it for a finished one."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator

import polars as pl

DATA_ROOT_ENV = "CURATION_DATA_ROOT"


@contextmanager
def atomic_path(final: str | Path) -> Iterator[Path]:
    """Yield a temp path beside `final`; rename it over `final` only if the block succeeds."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, final)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def swap_symlink(link: str | Path, target: str | Path) -> None:
    """Point `link` at `target` atomically (new symlink + rename): readers see old or new."""
    link = Path(link)
    tmp = link.with_name(f".{link.name}.tmp")
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    os.symlink(target, tmp)
    os.replace(tmp, link)


def write_parquet(df: pl.DataFrame, path: str | Path) -> Path:
    with atomic_path(path) as tmp:
        df.write_parquet(tmp, compression="zstd", statistics=True)
    return Path(path)


class ParquetSink:
    """One parquet file written batch by batch (a row group each), published atomically
    when the `with` block ends without an error: output larger than memory, and never a
    half-written file."""

    def __init__(self, path: str | Path):
        self.path, self.rows, self._writer, self._ctx = Path(path), 0, None, None

    def __enter__(self) -> "ParquetSink":
        self._ctx = atomic_path(self.path)
        self._tmp = self._ctx.__enter__()
        return self

    def write(self, df: pl.DataFrame) -> None:
        import pyarrow.parquet as pq

        table = df.to_arrow()
        if self._writer is None:
            self._writer = pq.ParquetWriter(str(self._tmp), table.schema, compression="zstd")
        self._writer.write_table(table)
        self.rows += df.height

    def __exit__(self, exc_type, exc, tb) -> bool:
        if self._writer is not None:
            self._writer.close()
        elif exc_type is None:
            raise ValueError(f"{self.path}: nothing was written (not even an empty frame)")
        return bool(self._ctx.__exit__(exc_type, exc, tb))


def publish_dir(staging: Path, final: Path, link: Path, link_target: str | Path) -> Path:
    """Move a finished staging folder to `final` and point `link` at it. A previous folder
    of the same name is moved aside first and removed after the swap, so readers of
    `link` never see a half-written build."""
    old = None
    if final.exists():
        old = final.with_name(f".{final.name}.old-{os.getpid()}")
        if old.exists():
            shutil.rmtree(old)
        os.replace(final, old)
    os.replace(staging, final)
    swap_symlink(link, link_target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return final


def purge_ids(folders: list[str | Path], ids: set[str], column: str = "id") -> dict[str, int]:
    """Remove rows whose `column` is in `ids` from every parquet file under `folders`
    (old release builds, mixtures): an opt-out must not survive in a rollback copy.
    Files are rewritten atomically; returns rows removed per file."""
    removed: dict[str, int] = {}
    if not ids:
        return removed
    wanted = pl.Series(sorted(ids), dtype=pl.String)
    for folder in folders:
        for path in sorted(Path(folder).rglob("*.parquet")) if Path(folder).is_dir() else []:
            if column not in pl.read_parquet_schema(path):
                continue
            df = pl.read_parquet(path)
            hit = df[column].is_in(wanted.implode())
            if hit.any():
                write_parquet(df.filter(~hit), path)
                removed[str(path)] = int(hit.sum())
    return removed


def write_text(text: str, path: str | Path) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_json(obj: object, path: str | Path) -> Path:
    return write_text(json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n", path)


def file_digest(path: str | Path) -> str:
    """Content hash of a file (streamed): the identity of an inbox shard."""
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def safe_key(name: str) -> str:
    """A partition key / file stem that is safe in paths and Dagster partition names."""
    key = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._")
    return key or "shard"


class Layout:
    """Where every stage reads and writes under one data root."""

    def __init__(self, root: str | Path):
        self.root = Path(root).resolve()

    @classmethod
    def from_env(cls, default: str | Path = "data") -> "Layout":
        return cls(os.environ.get(DATA_ROOT_ENV, default))

    def inbox(self, corpus: str = "web_crawl") -> Path:
        return self.root / "inbox" / corpus

    def stage_file(self, corpus: str, stage: str, shard: str) -> Path:
        return self.root / "lake" / corpus / stage / f"{safe_key(shard)}.parquet"

    def stage_dir(self, corpus: str, stage: str) -> Path:
        return self.root / "lake" / corpus / stage

    def dedup_file(self) -> Path:
        return self.root / "lake" / "dedup" / "clusters.parquet"

    def dedup_keys_dir(self) -> Path:
        """Per-shard dedup keys (hashes and MinHash signatures), reused by the next run."""
        return self.root / "index" / "dedup_keys"

    def release_dir(self) -> Path:
        return self.root / "release"

    @property
    def eval_inbox(self) -> Path:
        return self.root / "eval"

    @property
    def loop_dir(self) -> Path:
        return self.root / "loop"

    @property
    def mixture_dir(self) -> Path:
        return self.root / "mixture"

    def quarantine(self, corpus: str) -> Path:
        return self.root / "quarantine" / corpus

    @property
    def catalogue(self) -> Path:
        return self.root / "catalogue.duckdb"

    def ensure(self) -> "Layout":
        for p in (self.inbox(), self.eval_inbox, self.root / "lake", self.release_dir(), self.root / "dagster_home"):
            p.mkdir(parents=True, exist_ok=True)
        return self


def scan_labelled(files: Iterable[str | Path]) -> pl.LazyFrame:
    files = [str(f) for f in files]
    if not files:
        raise FileNotFoundError("no labelled shards to read")
    # diagonal: corpora add their own columns (business `domain`), absent ones become null
    return pl.concat([pl.scan_parquet(f) for f in files], how="diagonal_relaxed") if len(files) > 1 else pl.scan_parquet(files[0])
