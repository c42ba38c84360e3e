"""Product-quantized fastText models (`.ftz`) predicted through dense matrices.

A quantized model decodes every word and n-gram row from its product-quantizer codes on
each prediction; that decoding made our language-ID model 1.6x and lid.176 1.2-1.5x
slower than the same rows held dense. At load the rows are decoded once, from the file,
into the very floats a prediction adds (centroid x norm, in float32), and the model is
given the dense matrices: its predictions are the same floats, bit for bit. A check on a
few texts confirms it, and a model that does not pass keeps its codes. Memory: rows x dim
x 4 bytes (12.8 MB for ours, 3.2 MB for lid.176); decoding takes under 0.1 s."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

_MAGIC = 793712314
_ARGS_BYTES = 12 * 4 + 8  # fastText's Args: twelve int32 and one double
_KSUB = 256               # centroids per sub-quantizer


def _pq(data: bytes, off: int) -> tuple[tuple[int, int, int, np.ndarray], int]:
    """A ProductQuantizer: (nsubq, dsub, lastdsub, centroids), and the offset after it."""
    dim, nsubq, dsub, lastdsub = struct.unpack_from("<iiii", data, off)
    off += 16
    centroids = np.frombuffer(data, np.float32, dim * _KSUB, off)
    return (nsubq, dsub, lastdsub, centroids), off + dim * _KSUB * 4


def quantized_input(path: str | Path) -> np.ndarray | None:
    """The input matrix of a `.ftz`, decoded (rows x dim, float32); None for a file that is
    not a fastText model with a quantized input matrix. The layout is fastText's
    `saveModel`: magic, version, args, dictionary (entries, pruned n-gram index), then the
    QuantMatrix (qnorm flag, shape, codes, quantizer, norm codes and their quantizer)."""
    data = Path(path).read_bytes()
    head = 8 + _ARGS_BYTES
    if len(data) < head + 28 or struct.unpack_from("<i", data, 0)[0] != _MAGIC:
        return None
    bucket = struct.unpack_from("<i", data, 8 + 8 * 4)[0]
    size, nwords = struct.unpack_from("<ii", data, head)
    prune_size = struct.unpack_from("<q", data, head + 20)[0]
    off = head + 28
    for _ in range(size):  # entries: a NUL-terminated word, an int64 count, an int8 type
        off = data.index(b"\0", off) + 1 + 8 + 1
    off += 8 * max(prune_size, 0)  # (int32, int32) pairs
    if off + 2 + 16 + 4 > len(data) or not data[off]:
        return None
    qnorm = bool(data[off + 1])
    rows, dim = struct.unpack_from("<qq", data, off + 2)
    if rows != nwords + (prune_size if prune_size > 0 else bucket):  # not the layout read here
        return None
    codesize = struct.unpack_from("<i", data, off + 18)[0]
    off += 22
    codes = np.frombuffer(data, np.uint8, codesize, off).reshape(rows, -1)
    (nsubq, dsub, lastdsub, centroids), off = _pq(data, off + codesize)
    out = np.empty((rows, dim), dtype=np.float32)
    for m in range(nsubq):
        d = lastdsub if m == nsubq - 1 else dsub
        block = centroids[m * _KSUB * dsub : m * _KSUB * dsub + _KSUB * d].reshape(_KSUB, d)
        out[:, m * dsub : m * dsub + d] = block[codes[:, m]]
    if qnorm:
        norm_codes = np.frombuffer(data, np.uint8, rows, off)
        (_, _, _, norm_centroids), _ = _pq(data, off + rows)
        out *= norm_centroids[norm_codes][:, None]
    return out


def densify(model, path: str | Path, probe: list[str] | None = None):
    """The model (loaded from `path`) with dense matrices when that predicts the same
    floats on `probe` (default: lines of its own vocabulary), else loaded again as it was."""
    if not model.f.isQuant():
        return model
    try:
        output = np.array(model.f.getOutputMatrix())  # raises when the output was quantized too
        dense = quantized_input(path)
    except (OSError, ValueError, struct.error, RuntimeError):
        return model
    if dense is None or dense.shape[1] != output.shape[1]:
        return model
    words = model.get_words()
    texts = probe or [" ".join(words[i :: 97][:40]) for i in range(8)]
    la, pa = model.predict(texts, k=-1)
    model.set_matrices(dense, output)
    lb, pb = model.predict(texts, k=-1)
    if la != lb or not all(np.array_equal(a, b) for a, b in zip(pa, pb)):
        import fasttext

        return fasttext.load_model(str(path))  # not the same floats here: keep the codes
    model.dense_rows = dense.shape[0]
    return model
