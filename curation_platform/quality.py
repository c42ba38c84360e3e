"""Heuristic quality signals (a tagger: it measures, it never decides).

Signals follow Gopher (Rae et al. 2021: length, mean word length, symbol ratio,
bullet/ellipsis lines, alphabetic words, stop words, repetition), C4 (lines ending
in terminal punctuation) and FineWeb (short lines, duplicated line characters).
Terminal punctuation includes the Devanagari danda, Myanmar and Khmer full stops and
CJK full stops so that non-Latin text is not penalised for its own punctuation."""

from __future__ import annotations

from itertools import filterfalse
from typing import Callable

import numpy as np

from curation_platform.lexicons import lexicon_hits
from curation_platform.words import words as default_words

_TERMINAL = tuple(".!?\"'”’)»:;…。！？।॥။។៕።")
_BULLETS = tuple("•‣◦⁃-*–—●▪·")
_ELLIPSIS = ("...", "…")


def _dup_fracs(items: list[str]) -> tuple[float, float]:
    """Share of items that repeat an earlier item, and share of characters in them."""
    if not items:
        return 0.0, 0.0
    seen: set[str] = set()
    dup_n = dup_chars = total_chars = 0
    for it in items:
        total_chars += len(it)
        if it in seen:
            dup_n += 1
            dup_chars += len(it)
        else:
            seen.add(it)
    return dup_n / len(items), (dup_chars / total_chars if total_chars else 0.0)


_MUL = np.uint64(0x100000001B3)
_SALT = np.uint64(0x9E3779B97F4A7C15)
_TOP_NS, _DUP_NS = (2, 3, 4), (5, 10)


def _gram_hashes(ids: np.ndarray, ns: list[int]) -> list[np.ndarray]:
    """One 64-bit hash per word n-gram for each n in `ns` (ascending): a wrapping polynomial
    over word hashes, extended one word at a time, salted with n so that grams of
    different lengths never share a hash."""
    out, h = [], ids.copy()
    with np.errstate(over="ignore"):
        for n in range(2, ns[-1] + 1):
            h = h[:-1] * _MUL + ids[n - 1 :]
            if n in ns:
                out.append(h + np.uint64(n) * _SALT)
    return out


def gram_stats(ws: list[str], lens: list[int]) -> dict[str, float]:
    """Gopher's repetition signals from one sort: the characters covered by the most
    frequent 2/3/4-gram (first seen wins a tie) and the characters inside 5/10-grams that
    occur more than once, each over all word characters. The n-grams of every length are
    hashed into one array and counted together: per-document numpy calls were the label
    stage's top cost."""
    out = {f"top_{n}gram_frac": 0.0 for n in _TOP_NS} | {f"dup_{n}gram_frac": 0.0 for n in _DUP_NS}
    total = sum(lens)
    ns = [n for n in (*_TOP_NS, *_DUP_NS) if len(ws) >= n]
    if not ns or not total:
        return out
    ids = np.fromiter(map(hash, ws), dtype=np.int64, count=len(ws)).view(np.uint64)
    parts = _gram_hashes(ids, ns)
    _, inv, counts = np.unique(np.concatenate(parts), return_inverse=True, return_counts=True)
    per_gram = counts[inv]
    lens_a = np.asarray(lens, dtype=np.int64)
    cum = np.concatenate(([0], np.cumsum(lens_a)))
    offset = 0
    for n, part in zip(ns, parts):
        c = per_gram[offset : offset + len(part)]
        offset += len(part)
        if n in _TOP_NS:
            top = int(c.max())
            if top > 1:
                i0 = int(np.argmax(c == top))
                out[f"top_{n}gram_frac"] = top * int(cum[i0 + n] - cum[i0]) / total
        else:
            starts = np.flatnonzero(c > 1)
            if len(starts):
                diff = np.zeros(len(ws) + 1, dtype=np.int64)
                diff[starts] += 1
                diff[starts + n] -= 1
                out[f"dup_{n}gram_frac"] = int(lens_a[np.cumsum(diff)[:-1] > 0].sum()) / total
    return out


def _alpha_share(tokens: list[str]) -> float:
    """Share of tokens with at least one letter (most are all letters: test those in C)."""
    if not tokens:
        return 0.0
    rest = list(filterfalse(str.isalpha, tokens))
    return (len(tokens) - len(rest) + sum(1 for t in rest if any(map(str.isalpha, t)))) / len(tokens)


def quality_signals(text: str, *, stop: frozenset[str] = frozenset(), words: Callable[[str], list[str]] = default_words,
                    lang: str = "", lexicons: dict | None = None) -> dict[str, float | None]:
    """All heuristic signals for one document, as plain floats (None = not measurable)."""
    ws = words(text)
    n_words = len(ws)
    lens = list(map(len, ws))
    total = sum(lens)
    lines = [ln.strip() for ln in text.split("\n") if ln.strip()]
    paras = [p.strip() for p in text.split("\n\n") if p.strip()]
    raw_tokens = text.split()
    n_lines = len(lines) or 1
    dup_line, dup_line_chars = _dup_fracs(lines)
    dup_para, _ = _dup_fracs(paras)
    stop_hits = sum(1 for w in ws if w in stop) if stop else None
    sig: dict[str, float | None] = {
        "n_chars": float(len(text)),
        "n_words": float(n_words),
        "n_lines": float(len(lines)),
        "mean_word_length": (total / n_words) if n_words else 0.0,
        "symbol_word_ratio": ((text.count("#") + text.count("...") + text.count("…")) / n_words) if n_words else 0.0,
        "bullet_lines_ratio": sum(ln.startswith(_BULLETS) for ln in lines) / n_lines,
        "ellipsis_lines_ratio": sum(ln.endswith(_ELLIPSIS) for ln in lines) / n_lines,
        "alpha_words_ratio": _alpha_share(raw_tokens),
        # a ratio over one or two lines is a coin toss (a paragraph ending in a quote or a number): not measured
        "lines_end_punct_ratio": sum(ln.endswith(_TERMINAL) for ln in lines) / n_lines if len(lines) >= 3 else None,
        "short_lines_ratio": sum(len(ln) <= 30 for ln in lines) / n_lines,
        "dup_line_frac": dup_line,
        "dup_line_char_frac": dup_line_chars,
        "dup_para_frac": dup_para,
        **gram_stats(ws, lens),
        "stop_words": float(stop_hits) if stop_hits is not None else None,
        "stop_word_ratio": (stop_hits / n_words if n_words else 0.0) if stop_hits is not None else None,
    }
    sig.update(lexicon_hits(text, ws, lang, lexicons or {}))
    return sig


SIGNAL_NAMES = tuple(quality_signals("x").keys())
