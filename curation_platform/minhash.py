"""Deduplication: exact (normalised-text hash) then near-duplicate (MinHash LSH).

Exact duplicates are collapsed first so MinHash only runs on distinct texts. LSH
candidates (documents sharing a band) are verified by their estimated Jaccard before
they are merged, so one unlucky band collision cannot chain unrelated documents into
a cluster. Clusters are connected components (union-find) of verified pairs."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass
from typing import Callable, Iterable

import numpy as np
import polars as pl
import xxhash

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
    gpu_mode: str = "disable"   # datasketch: disable | detect (a CUDA GPU with CuPy when present) | always

    def __post_init__(self) -> None:
        if self.bands * self.rows > self.num_perm:
            raise ValueError(f"bands*rows ({self.bands}*{self.rows}) exceeds num_perm ({self.num_perm})")

    @classmethod
    def from_dict(cls, d: dict | None) -> "MinHashConfig":
        fields = cls.__dataclass_fields__
        return cls(**{k: v for k, v in (d or {}).items() if k in fields})

    @property
    def hash(self) -> str:
        """Settings that change results (the device does not: GPU and CPU hashes are equal)."""
        return config_hash({k: v for k, v in asdict(self).items() if k != "gpu_mode"})


def normalized_hash(text: str) -> int:
    """Exact-duplicate key: case, punctuation, whitespace and Unicode form ignored."""
    norm = _NON_WORD.sub(" ", unicodedata.normalize("NFKC", text).lower()).strip()
    return xxhash.xxh64_intdigest(norm.encode("utf-8"))


def shingles(text: str, n: int) -> list[bytes]:
    """Word n-grams; in unspaced scripts tokens are characters, so these are character n-grams.
    Each is a slice of the UTF-8 bytes of the space-joined words (what joining and encoding
    every n-gram would give, without doing that per n-gram)."""
    ws = words(text)
    joined = " ".join(ws).encode("utf-8")
    if len(ws) <= n:
        return [joined] if ws else [b""]
    sizes = np.fromiter(map(len, ws), dtype=np.int64, count=len(ws))
    if len(joined) != len(ws) - 1 + int(sizes.sum()):  # not all ASCII: sizes in bytes
        sizes = np.fromiter(map(len, map(str.encode, ws)), dtype=np.int64, count=len(ws))
    starts = np.zeros(len(ws) + 1, dtype=np.int64)  # byte offset of each word (and one past the end)
    np.cumsum(sizes + 1, out=starts[1:])
    m = len(ws) - n + 1
    return list(map(joined.__getitem__, map(slice, starts[:m].tolist(), (starts[n:] - 1).tolist())))


def _hash32(b: bytes) -> int:
    return xxhash.xxh32_intdigest(b)


_FMIX32 = (np.uint32(16), np.uint32(0x85EBCA6B), np.uint32(13), np.uint32(0xC2B2AE35), np.uint32(16))
_CHUNK_SHINGLES = 1 << 14  # shingles per batch: a permutations x shingles uint32 matrix of ~8 MB


def _fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer: datasketch's "affine32" scheme pre-mixes every input hash with it."""
    s1, m1, s2, m2, s3 = _FMIX32
    h = h ^ (h >> s1)
    h = h * m1
    h = h ^ (h >> s2)
    h = h * m2
    return h ^ (h >> s3)


# (num_perm, seed) -> ("affine32" permutations a, b) or None for another scheme. A worker
# process gets its entry from the parent (`seed_permutations`) and never imports datasketch
# (with scipy, 0.6 s and ~40 MB per process).
_PERMUTATIONS: dict[tuple[int, int], tuple[np.ndarray, np.ndarray] | None] = {}


def permutations(cfg: MinHashConfig) -> tuple[np.ndarray, np.ndarray] | None:
    """datasketch's permutations for these settings, when its scheme is "affine32"."""
    key = (cfg.num_perm, cfg.seed)
    if key not in _PERMUTATIONS:
        from datasketch import MinHash

        proto = MinHash(num_perm=cfg.num_perm, seed=cfg.seed)
        _PERMUTATIONS[key] = tuple(proto.permutations) if getattr(proto, "scheme", None) == "affine32" else None  # type: ignore[assignment]
    return _PERMUTATIONS[key]


def seed_permutations(cfg: MinHashConfig, perms: tuple[np.ndarray, np.ndarray] | None) -> None:
    """In a worker: take the parent's permutations (from the workers' `init`)."""
    _PERMUTATIONS[(cfg.num_perm, cfg.seed)] = perms


def signatures(texts: Iterable[str], cfg: MinHashConfig) -> np.ndarray:
    """MinHash signature matrix (docs x num_perm, uint64), equal to datasketch's.

    On the CPU the permutations of datasketch's "affine32" scheme are applied here to
    many documents at once (a minimum over each document's rows of one matrix) instead of
    one MinHash object per document; the GPU mode and any other scheme go through
    `MinHash.bulk`."""
    shingled = (shingles(t, cfg.ngram) for t in texts)
    perms = permutations(cfg)
    rows: list[np.ndarray] = []  # signature rows, or blocks of rows
    if cfg.gpu_mode != "disable" or perms is None:
        from datasketch import MinHash

        extra = {"gpu_mode": cfg.gpu_mode} if cfg.gpu_mode != "disable" else {}
        rows = [m.hashvalues for m in MinHash.bulk(list(shingled), num_perm=cfg.num_perm, seed=cfg.seed, hashfunc=_hash32, **extra)]
    else:
        a, b = perms
        parts: list[np.ndarray] = []

        def flush() -> None:
            hv = _fmix32(np.concatenate(parts))
            starts = np.cumsum([0] + [len(p) for p in parts[:-1]])
            rows.append(np.minimum.reduceat(a[:, None] * hv + b[:, None], starts, axis=1).T)  # permutations x shingles: rows stay contiguous
            parts.clear()

        pending = 0
        for grams in shingled:
            parts.append(np.fromiter(map(xxhash.xxh32_intdigest, grams), dtype=np.uint32, count=len(grams)))
            pending += len(grams)
            if pending >= _CHUNK_SHINGLES:
                flush()
                pending = 0
        if parts:
            flush()
    return np.vstack(rows).astype(np.uint64) if rows else np.zeros((0, cfg.num_perm), dtype=np.uint64)


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


KEYS_SCHEMA = {"id": pl.String, "exact": pl.UInt64, "chars": pl.Int64}


def shard_keys(df: pl.DataFrame, cfg: MinHashConfig) -> pl.DataFrame:
    """What dedup needs of each document, without its text: `exact` (normalised-text hash),
    `chars` (to pick the longest copy), `sig` (MinHash, uint32 x num_perm) and `bands` (LSH
    band keys); both null for a row whose text already occurred earlier in this frame:
    exact copies need no signature.
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
    bands = np.zeros((len(texts), cfg.bands), dtype=np.uint64)
    bands[first] = band_keys(sig.astype(np.uint64), cfg)
    mask = pl.Series(has)
    return out.with_columns(
        pl.when(mask).then(pl.Series("sig", full, dtype=pl.Array(pl.UInt32, cfg.num_perm))).otherwise(None).alias("sig"),
        pl.when(mask).then(pl.Series("bands", bands, dtype=pl.Array(pl.UInt64, cfg.bands))).otherwise(None).alias("bands"))



class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[int, int] = {}

    def find(self, x: int) -> int:
        p = self.parent
        root = x
        while p.get(root, root) != root:
            root = p[root]
        while p.get(x, x) != root:
            p[x], x = root, p[x]
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _band_pairs(col: np.ndarray, max_bucket_pairs: int) -> np.ndarray:
    """Sorted unique `a * rows + b` (a < b) of the rows sharing a key in one band column."""
    n = len(col)
    order = np.argsort(col, kind="stable")  # rows of one key stay in ascending order
    s = col[order]
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    lens = np.diff(np.r_[starts, n])
    run = np.repeat(np.arange(len(starts)), lens)
    size = lens[run]
    found = []
    star = np.flatnonzero((size > max_bucket_pairs) & (np.arange(n) != starts[run]))
    if len(star):  # a huge bucket: each row linked to its first, not every pair
        found.append(order[starts[run[star]]].astype(np.int64) * n + order[star])
    pos = np.flatnonzero((size > 1) & (size <= max_bucket_pairs))
    rank = pos - starts[run[pos]]
    for d in range(1, int(size[pos].max(initial=1))):
        keep = rank + d < size[pos]
        pos, rank = pos[keep], rank[keep]
        found.append(order[pos].astype(np.int64) * n + order[pos + d])
    return np.unique(np.concatenate(found)) if found else np.zeros(0, dtype=np.int64)


def candidate_pairs(bands: np.ndarray, cfg: MinHashConfig) -> np.ndarray:
    """(k, 2) row pairs (a < b) sharing at least one band key, sorted: per band, a sort and
    runs of equal keys (memory O(rows), never a rows x bands table), each pair kept as one
    int64 `a * rows + b` and merged into the pairs so far band by band, so repeats across
    bands never pile up. A bucket larger than `max_bucket_pairs` is linked as a star from
    its first row, not all pairs."""
    n = bands.shape[0]
    if n > 3_000_000_000:  # a * n + b must fit in an int64
        raise ValueError(f"{n} distinct texts in one clustering: more than the pair keys can hold (3e9)")
    seen = np.zeros(0, dtype=np.int64)
    for b in range(bands.shape[1]):
        new = _band_pairs(bands[:, b], cfg.max_bucket_pairs)
        if len(seen):
            at = np.minimum(np.searchsorted(seen, new), len(seen) - 1)
            new = new[seen[at] != new]
        if len(new):
            seen = np.sort(np.concatenate([seen, new]), kind="stable")  # two sorted runs: a merge
    return np.stack([seen // max(n, 1), seen % max(n, 1)], axis=1)


def verified_components(pairs: np.ndarray, n: int, sig_of: Callable[[np.ndarray], np.ndarray], cfg: MinHashConfig,
                        chunk: int = 16_384, max_rows: int = 1 << 18) -> tuple[np.ndarray, dict]:
    """Root per row after merging candidate pairs whose estimated Jaccard (share of equal
    MinHash values) reaches the threshold. Signatures are loaded only for rows in a
    candidate pair (on web data most rows are in none): all at once when they are at most
    `max_rows` (126 MB at 120 permutations), else for groups of `max_rows // 2` pairs in
    turn, so memory stays bounded at any scale; pairs are compared `chunk` at a time, so
    the gathered copies stay a few MB."""
    need = int(np.ceil(cfg.threshold * cfg.num_perm))
    uf = _UnionFind()
    verified = 0
    paired = np.unique(pairs)
    step = len(pairs) if len(paired) <= max_rows else max(1, max_rows // 2)
    for start in range(0, len(pairs), max(step, 1)):
        group = pairs[start : start + step]
        rows = paired if step == len(pairs) else np.unique(group)
        sig = sig_of(rows)
        for lo in range(0, len(group), chunk):
            part = group[lo : lo + chunk]
            a, b = np.searchsorted(rows, part[:, 0]), np.searchsorted(rows, part[:, 1])
            ok = (sig[a] == sig[b]).sum(axis=1) >= need
            verified += int(ok.sum())
            for x, y in part[ok].tolist():
                uf.union(x, y)
        del sig
    roots = np.arange(n, dtype=np.int64)
    for x in list(uf.parent):
        roots[x] = uf.find(x)
    return roots, {"candidate_pairs": int(len(pairs)), "verified_pairs": verified}


def cluster_keys(meta: pl.DataFrame, load: Callable[[str, np.ndarray], np.ndarray], cfg: MinHashConfig) -> tuple[pl.DataFrame, dict]:
    """Cluster documents from their keys without their text.

    `meta` has `id`, `exact`, `chars`, `has_sig`, `row` (where `load(column, rows)` finds the
    row's `bands` / `sig`), optional `priority`. Returns `id`, `cluster_id`, `dup_count`,
    `keep`, `dup_type` in `meta` order. One survivor per cluster: the highest `priority`
    (reference texts such as parallel sides win over web copies), then the longest text
    (most complete copy), ties by id; the cluster id is the survivor's id, so it is stable
    across reruns."""
    if "priority" not in meta.columns:
        meta = meta.with_columns(pl.lit(0).alias("priority"))
    meta = meta.with_row_index("pos")
    # one representative per distinct text: its first copy that carries a signature
    reps = meta.filter(pl.col("has_sig")).group_by("exact").agg(pl.col("pos").min().alias("rep_pos")).sort("rep_pos")
    meta = meta.join(reps.with_row_index("rep"), on="exact", how="left", maintain_order="left")
    if meta["rep"].null_count():
        missing = meta.filter(pl.col("rep").is_null())["id"][0]
        raise ValueError(f"no MinHash signature for the text of id {missing!r}: the key cache is inconsistent; delete it")
    rep_rows = meta["row"].gather(reps["rep_pos"]).to_numpy()
    bands = load("bands", rep_rows) if len(rep_rows) else np.zeros((0, cfg.bands), dtype=np.uint64)
    pairs = candidate_pairs(bands, cfg)
    del bands
    roots, stats = verified_components(pairs, len(rep_rows), lambda r: load("sig", rep_rows[r]), cfg)
    meta = meta.with_columns(pl.Series("comp", roots).gather(meta["rep"]))
    ranked = meta.sort(["comp", "priority", "chars", "id"], descending=[False, True, True, False])
    clusters = ranked.group_by("comp", maintain_order=True).agg(
        pl.col("id").first().alias("cluster_id"), pl.len().alias("dup_count"), pl.col("exact").n_unique().alias("distinct"))
    out = meta.join(clusters, on="comp", how="left", maintain_order="left").select(
        "id", "cluster_id", pl.col("dup_count").cast(pl.Int64), (pl.col("id") == pl.col("cluster_id")).alias("keep"),
        pl.when(pl.col("dup_count") == 1).then(pl.lit("unique")).when(pl.col("distinct") == 1).then(pl.lit("exact")).otherwise(pl.lit("near")).alias("dup_type"))
    n = meta.height
    stats.update({
        "docs": n,
        "distinct_texts": len(rep_rows),
        "exact_duplicates": n - len(rep_rows),
        "clusters": clusters.height,
        "removed": n - clusters.height,
        "config_hash": cfg.hash,
    })
    return out, stats


def frame_loader(keys: pl.DataFrame) -> Callable[[str, np.ndarray], np.ndarray]:
    """`load` for keys held in memory (`shard_keys` output)."""
    return lambda column, rows: keys[column].gather(rows).to_numpy()


def deduplicate(df: pl.DataFrame, cfg: MinHashConfig) -> tuple[pl.DataFrame, dict]:
    """Cluster the documents of one frame with `id`, `text` (optional `priority`); see `cluster_keys`."""
    keys = shard_keys(df, cfg)
    meta = keys.select("id", "exact", "chars", pl.col("sig").is_not_null().alias("has_sig")).with_row_index("row")
    if "priority" in df.columns:
        meta = meta.with_columns(df["priority"])
    return cluster_keys(meta, frame_loader(keys), cfg)
