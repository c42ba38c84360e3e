"""Product-quantized fastText models (`.ftz`) predicted through dense matrices.

A quantized model decodes every word and n-gram row from its product-quantizer codes on
each prediction; that decoding made our language-ID model 1.6x and lid.176 1.2-1.5x
slower than the same rows held dense. At load, each row is decoded once (`get_input_vector`
adds exactly the floats a prediction adds) and the model is given the dense matrices, so
its predictions are the same floats, bit for bit: a check on a few texts confirms it, and
a model that does not pass keeps its codes. Memory: rows x dim x 4 bytes (12.8 MB for
ours, 3.2 MB for lid.176), and a second or so per process to decode."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

_MAGIC = 793712314
_ARGS_BYTES = 12 * 4 + 8  # fastText's Args: twelve int32 and one double


def quantized_rows(path: str | Path) -> int | None:
    """Rows of the quantized input matrix of a `.ftz` (read from its header: the dictionary,
    then the matrix's shape); None for a file that is not a quantized fastText model."""
    with open(path, "rb") as fh:
        head = fh.read(8 + _ARGS_BYTES + 28)
        if len(head) < 8 + _ARGS_BYTES + 28 or struct.unpack_from("<i", head, 0)[0] != _MAGIC:
            return None
        size, _nwords, _nlabels = struct.unpack_from("<iii", head, 8 + _ARGS_BYTES)
        _ntokens, prune_size = struct.unpack_from("<qq", head, 8 + _ARGS_BYTES + 12)
        rest = fh.read()
    off = 0
    for _ in range(size):  # entries: a NUL-terminated word, an int64 count, an int8 type
        off = rest.index(b"\0", off) + 1 + 8 + 1
    off += 8 * max(prune_size, 0)  # the pruned n-gram index: (int32, int32) pairs
    if off + 1 + 1 + 16 > len(rest) or not rest[off]:  # not quantized
        return None
    rows, _dim = struct.unpack_from("<qq", rest, off + 2)  # after quant_input and qnorm flags
    return int(rows)


def densify(model, path: str | Path, probe: list[str] | None = None):
    """The model (loaded from `path`) with dense matrices when that predicts the same
    floats on `probe` (default: lines of its own vocabulary), else loaded again as it was."""
    if not model.f.isQuant():
        return model
    try:
        rows = quantized_rows(path)
        output = np.array(model.f.getOutputMatrix())  # raises when the output was quantized too
    except (OSError, ValueError, struct.error, RuntimeError):
        return model
    if not rows:
        return model
    words = model.get_words()
    texts = probe or [" ".join(words[i :: 97][:40]) for i in range(8)]
    la, pa = model.predict(texts, k=-1)
    model.set_matrices(np.vstack([model.get_input_vector(i) for i in range(rows)]), output)
    lb, pb = model.predict(texts, k=-1)
    if la != lb or not all(np.array_equal(a, b) for a, b in zip(pa, pb)):
        import fasttext

        return fasttext.load_model(str(path))  # not the same floats here: keep the codes
    model.dense_rows = rows
    return model
