"""Heuristic quality signals (a tagger: it measures, it never decides).

Signals follow Gopher (Rae et al. 2021: length, mean word length, symbol ratio,
bullet/ellipsis lines, alphabetic words, stop words, repetition), C4 (lines ending
in terminal punctuation) and FineWeb (short lines, duplicated line characters).
Terminal punctuation includes the Devanagari danda, Myanmar and Khmer full stops and
CJK full stops so that non-Latin text is not penalised for its own punctuation."""

from __future__ import annotations

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


def _gram_hashes(ids: np.ndarray, n: int) -> np.ndarray:
    """One 64-bit hash per word n-gram (a wrapping polynomial over word ids)."""
    m = len(ids) - n + 1
    h = np.zeros(m, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in range(n):
            h = h * _MUL + ids[k : k + m]
    return h


class _Grams:
    """Word n-gram statistics of one document, vectorised: the repetition signals were the
    label stage's top cost as Python Counters of tuples."""

    def __init__(self, ws: list[str], lens: list[int]):
        vocab: dict[str, int] = {}
        self.ids = np.fromiter((vocab.setdefault(w, len(vocab) + 1) for w in ws), dtype=np.uint64, count=len(ws))
        self.lens = np.asarray(lens, dtype=np.int64)
        self.cum = np.concatenate([[0], np.cumsum(self.lens)])
        self.total = int(self.cum[-1])

    def top_frac(self, n: int) -> float:
        """Characters covered by the most frequent n-gram (first seen wins a tie) / all word characters."""
        if len(self.ids) < n or not self.total:
            return 0.0
        _, first, counts = np.unique(_gram_hashes(self.ids, n), return_index=True, return_counts=True)
        c = int(counts.max())
        if c <= 1:
            return 0.0
        i0 = int(first[counts == c].min())
        return c * int(self.cum[i0 + n] - self.cum[i0]) / self.total

    def dup_frac(self, n: int) -> float:
        """Characters inside n-grams that occur more than once (Gopher)."""
        if len(self.ids) < n or not self.total:
            return 0.0
        _, inv, counts = np.unique(_gram_hashes(self.ids, n), return_inverse=True, return_counts=True)
        starts = np.flatnonzero(counts[inv] > 1)
        if not len(starts):
            return 0.0
        diff = np.zeros(len(self.ids) + 1, dtype=np.int64)
        np.add.at(diff, starts, 1)
        np.add.at(diff, starts + n, -1)
        return int(self.lens[np.cumsum(diff)[:-1] > 0].sum()) / self.total


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
    grams = _Grams(ws, lens)
    sig: dict[str, float | None] = {
        "n_chars": float(len(text)),
        "n_words": float(n_words),
        "n_lines": float(len(lines)),
        "mean_word_length": (total / n_words) if n_words else 0.0,
        "symbol_word_ratio": ((text.count("#") + text.count("...") + text.count("…")) / n_words) if n_words else 0.0,
        "bullet_lines_ratio": sum(ln.startswith(_BULLETS) for ln in lines) / n_lines,
        "ellipsis_lines_ratio": sum(ln.endswith(_ELLIPSIS) for ln in lines) / n_lines,
        "alpha_words_ratio": (sum(t.isalpha() or any(c.isalpha() for c in t) for t in raw_tokens) / len(raw_tokens)) if raw_tokens else 0.0,
        "lines_end_punct_ratio": sum(ln.endswith(_TERMINAL) for ln in lines) / n_lines,
        "short_lines_ratio": sum(len(ln) <= 30 for ln in lines) / n_lines,
        "dup_line_frac": dup_line,
        "dup_line_char_frac": dup_line_chars,
        "dup_para_frac": dup_para,
        "top_2gram_frac": grams.top_frac(2),
        "top_3gram_frac": grams.top_frac(3),
        "top_4gram_frac": grams.top_frac(4),
        "dup_5gram_frac": grams.dup_frac(5),
        "dup_10gram_frac": grams.dup_frac(10),
        "stop_words": float(stop_hits) if stop_hits is not None else None,
        "stop_word_ratio": (stop_hits / n_words if n_words else 0.0) if stop_hits is not None else None,
    }
    sig.update(lexicon_hits(text, ws, lang, lexicons or {}))
    return sig


SIGNAL_NAMES = tuple(quality_signals("x").keys())
