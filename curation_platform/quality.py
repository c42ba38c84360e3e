"""Heuristic quality signals (a tagger: it measures, it never decides).

Signals follow Gopher (Rae et al. 2021: length, mean word length, symbol ratio,
bullet/ellipsis lines, alphabetic words, stop words, repetition), C4 (lines ending
in terminal punctuation) and FineWeb (short lines, duplicated line characters).
Terminal punctuation includes the Devanagari danda, Myanmar and Khmer full stops and
CJK full stops so that non-Latin text is not penalised for its own punctuation."""

from __future__ import annotations

from collections import Counter
from typing import Callable

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


def _ngrams(ws: list[str], n: int) -> list[tuple[str, ...]]:
    return list(zip(*(ws[i:] for i in range(n))))


def _top_ngram_char_frac(ws: list[str], n: int, total: int) -> float:
    """Characters covered by the most frequent word n-gram / all word characters."""
    if len(ws) < n or not total:
        return 0.0
    gram, c = Counter(_ngrams(ws, n)).most_common(1)[0]
    return c * sum(map(len, gram)) / total if c > 1 else 0.0


def _dup_ngram_char_frac(ws: list[str], n: int, lens: list[int], total: int) -> float:
    """Characters inside word n-grams that occur more than once (Gopher)."""
    if len(ws) < n or not total:
        return 0.0
    grams = _ngrams(ws, n)
    counts = Counter(grams)
    if len(counts) == len(grams):
        return 0.0
    covered = bytearray(len(ws))
    for i, g in enumerate(grams):
        if counts[g] > 1:
            covered[i : i + n] = b"\x01" * n
    return sum(length for length, c in zip(lens, covered) if c) / total


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
        "alpha_words_ratio": (sum(any(c.isalpha() for c in t) for t in raw_tokens) / len(raw_tokens)) if raw_tokens else 0.0,
        "lines_end_punct_ratio": sum(ln.endswith(_TERMINAL) for ln in lines) / n_lines,
        "short_lines_ratio": sum(len(ln) <= 30 for ln in lines) / n_lines,
        "dup_line_frac": dup_line,
        "dup_line_char_frac": dup_line_chars,
        "dup_para_frac": dup_para,
        "top_2gram_frac": _top_ngram_char_frac(ws, 2, total),
        "top_3gram_frac": _top_ngram_char_frac(ws, 3, total),
        "top_4gram_frac": _top_ngram_char_frac(ws, 4, total),
        "dup_5gram_frac": _dup_ngram_char_frac(ws, 5, lens, total),
        "dup_10gram_frac": _dup_ngram_char_frac(ws, 10, lens, total),
        "stop_words": float(stop_hits) if stop_hits is not None else None,
        "stop_word_ratio": (stop_hits / n_words if n_words else 0.0) if stop_hits is not None else None,
    }
    sig.update(lexicon_hits(text, ws, lang, lexicons or {}))
    return sig


SIGNAL_NAMES = tuple(quality_signals("x").keys())
