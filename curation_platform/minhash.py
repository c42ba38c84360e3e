"""Deduplication: exact (normalised-text hash) then near-duplicate (MinHash LSH).

Exact duplicates are collapsed first so MinHash only runs on distinct texts. LSH
candidates (documents sharing a band) are verified by their estimated Jaccard before
they are merged, so one unlucky band collision cannot chain unrelated documents into
a cluster. Clusters are connected components (union-find) of verified pairs."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass
from itertools import combinations
from typing import Iterable

import numpy as np
import polars as pl
import xxhash
from datasketch import MinHash

from curation_platform.settings import config_hash
from curation_platform.words import words

_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)


@dataclass(frozen=True)
class MinHashConfig:
    ngram: int = 5
    num_perm: int = 120
    bands: int = 20
    rows: int = 6
    seed: int = 1
    threshold: float = 0.6
    max_bucket_pairs: int = 64

    def __post_init__(self) -> None:
        if self.bands * self.rows > self.num_perm:
            raise ValueError(f"bands*rows ({self.bands}*{self.rows}) exceeds num_perm ({self.num_perm})")

    @classmethod
    def from_dict(cls, d: dict | None) -> "MinHashConfig":
        fields = cls.__dataclass_fields__
        return cls(**{k: v for k, v in (d or {}).items() if k in fields})

    @property
    def hash(self) -> str:
        return config_hash(asdict(self))


def normalized_hash(text: str) -> int:
    """Exact-duplicate key: case, punctuation, whitespace and Unicode form ignored."""
    norm = _NON_WORD.sub(" ", unicodedata.normalize("NFKC", text).lower()).strip()
    return xxhash.xxh64_intdigest(norm.encode("utf-8"))


def shingles(text: str, n: int) -> list[bytes]:
    """Word n-grams; in unspaced scripts tokens are characters, so these are character n-grams."""
    ws = words(text)
    if len(ws) <= n:
        return [" ".join(ws).encode("utf-8")] if ws else [b""]
    return [" ".join(ws[i : i + n]).encode("utf-8") for i in range(len(ws) - n + 1)]


def _hash32(b: bytes) -> int:
    return xxhash.xxh32_intdigest(b)


def signatures(texts: Iterable[str], cfg: MinHashConfig) -> np.ndarray:
    """MinHash signature matrix (docs x num_perm, uint64) through datasketch's bulk path."""
    shingled = [shingles(t, cfg.ngram) for t in texts]
    if not shingled:
        return np.zeros((0, cfg.num_perm), dtype=np.uint64)
    mhs = MinHash.bulk(shingled, num_perm=cfg.num_perm, seed=cfg.seed, hashfunc=_hash32)
    return np.vstack([m.hashvalues for m in mhs]).astype(np.uint64)


def band_keys(sig: np.ndarray, cfg: MinHashConfig) -> np.ndarray:
    """One 64-bit key per (doc, band): a wrapping polynomial hash of the band's rows."""
    n = sig.shape[0]
    coeffs = (np.arange(1, cfg.rows + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)) | np.uint64(1)
    keys = np.empty((n, cfg.bands), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for b in range(cfg.bands):
            block = sig[:, b * cfg.rows : (b + 1) * cfg.rows]
            keys[:, b] = (block * coeffs).sum(axis=1) ^ np.uint64(b)
    return keys


class _UnionFind:
    def __init__(self, n: int):
        self.parent = list(range(n))

    def find(self, x: int) -> int:
        p = self.parent
        while p[x] != x:
            p[x] = p[p[x]]
            x = p[x]
        return x

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def near_duplicate_components(sig: np.ndarray, cfg: MinHashConfig) -> tuple[list[int], dict]:
    """Root index per document after merging verified LSH candidate pairs."""
    n = sig.shape[0]
    uf = _UnionFind(n)
    stats = {"candidate_pairs": 0, "verified_pairs": 0}
    if n < 2:
        return list(range(n)), stats
    keys = band_keys(sig, cfg)
    frame = pl.DataFrame({
        "doc": np.repeat(np.arange(n, dtype=np.int64), cfg.bands),
        "band": np.tile(np.arange(cfg.bands, dtype=np.int64), n),
        "key": keys.reshape(-1),
    })
    buckets = (
        frame.group_by("band", "key").agg(pl.col("doc").sort()).filter(pl.col("doc").list.len() > 1)["doc"].to_list()
    )
    need = int(np.ceil(cfg.threshold * cfg.num_perm))
    checked: set[tuple[int, int]] = set()
    for docs in buckets:
        pairs = combinations(docs, 2) if len(docs) <= cfg.max_bucket_pairs else ((docs[0], d) for d in docs[1:])
        for a, b in pairs:
            if (a, b) in checked:
                continue
            checked.add((a, b))
            stats["candidate_pairs"] += 1
            if uf.find(a) == uf.find(b):
                continue
            if int(np.count_nonzero(sig[a] == sig[b])) >= need:
                stats["verified_pairs"] += 1
                uf.union(a, b)
    return [uf.find(i) for i in range(n)], stats


KEYS_SCHEMA = {"id": pl.String, "exact": pl.UInt64, "chars": pl.Int64}


def shard_keys(df: pl.DataFrame, cfg: MinHashConfig) -> pl.DataFrame:
    """What dedup needs of each document, without its text: `exact` (normalised-text hash),
    `chars` (to pick the longest copy) and `sig` (MinHash, uint32 x num_perm; null for a
    row whose text already occurred earlier in this frame: exact copies need no signature).
    Computed once per shard and cached, so a new shard never re-hashes old ones."""
    texts = [t or "" for t in df["text"].to_list()]
    exact = [normalized_hash(t) for t in texts]
    seen: set[int] = set()
    first = []
    for i, h in enumerate(exact):
        if h not in seen:
            seen.add(h)
            first.append(i)
    sig = signatures((texts[i] for i in first), cfg).astype(np.uint32)
    full = np.zeros((len(texts), cfg.num_perm), dtype=np.uint32)
    full[first] = sig
    has = np.zeros(len(texts), dtype=bool)
    has[first] = True
    out = pl.DataFrame({"id": df["id"].to_list(), "exact": exact, "chars": [len(t) for t in texts]}, schema=KEYS_SCHEMA)
    sig_col = pl.Series("sig", full, dtype=pl.Array(pl.UInt32, cfg.num_perm))
    return out.with_columns(pl.when(pl.Series(has)).then(sig_col).otherwise(None).alias("sig"))


def cluster_keys(keys: pl.DataFrame, cfg: MinHashConfig) -> tuple[pl.DataFrame, dict]:
    """Cluster documents from their keys (`shard_keys` columns, optional `priority`).

    Returns `id`, `cluster_id`, `dup_count`, `keep`, `dup_type` in input order. One
    survivor per cluster: the highest `priority` (reference texts such as parallel sides
    win over web copies), then the longest text (most complete copy), ties by id; the
    cluster id is the survivor's id, so it is stable across reruns."""
    ids = keys["id"].to_list()
    exact = keys["exact"].to_list()
    chars = keys["chars"].to_list()
    prio = keys["priority"].to_list() if "priority" in keys.columns else [0] * len(ids)
    n = len(ids)
    has_sig = keys["sig"].is_not_null().to_list()
    rep_of_hash: dict[int, int] = {}
    reps: list[int] = []
    rep_index = [0] * n
    for i, h in enumerate(exact):
        if h not in rep_of_hash:
            rep_of_hash[h] = len(reps)
            reps.append(i)
        elif has_sig[i] and not has_sig[reps[rep_of_hash[h]]]:
            reps[rep_of_hash[h]] = i  # the first copy of this text with a signature represents it
        rep_index[i] = rep_of_hash[h]
    missing = [ids[r] for r in reps if not has_sig[r]]
    if missing:
        raise ValueError(f"no MinHash signature for {len(missing)} texts (e.g. id {missing[0]!r}): the key cache is inconsistent; delete it")
    sig = keys["sig"].gather(reps).to_numpy() if reps else np.zeros((0, cfg.num_perm), dtype=np.uint32)
    roots, stats = near_duplicate_components(np.asarray(sig, dtype=np.uint64).reshape(len(reps), cfg.num_perm), cfg)
    comp = [roots[rep_index[i]] for i in range(n)]
    members: dict[int, list[int]] = {}
    for i, c in enumerate(comp):
        members.setdefault(c, []).append(i)
    cluster_id, dup_count, keep, dup_type = [""] * n, [0] * n, [False] * n, [""] * n
    for group in members.values():
        survivor = min(group, key=lambda i: (-prio[i], -chars[i], ids[i]))
        distinct = len({exact[i] for i in group})
        for i in group:
            cluster_id[i] = ids[survivor]
            dup_count[i] = len(group)
            keep[i] = i == survivor
            dup_type[i] = "unique" if len(group) == 1 else ("exact" if distinct == 1 else "near")
    stats.update({
        "docs": n,
        "distinct_texts": len(reps),
        "exact_duplicates": n - len(reps),
        "clusters": len(members),
        "removed": n - len(members),
        "config_hash": cfg.hash,
    })
    out = pl.DataFrame(
        {"id": ids, "cluster_id": cluster_id, "dup_count": dup_count, "keep": keep, "dup_type": dup_type},
        schema={"id": pl.String, "cluster_id": pl.String, "dup_count": pl.Int64, "keep": pl.Boolean, "dup_type": pl.String},
    )
    return out, stats


def deduplicate(df: pl.DataFrame, cfg: MinHashConfig) -> tuple[pl.DataFrame, dict]:
    """Cluster the documents of one frame with `id`, `text` (optional `priority`); see `cluster_keys`."""
    keys = shard_keys(df, cfg)
    if "priority" in df.columns:
        keys = keys.with_columns(df["priority"])
    return cluster_keys(keys, cfg)
