"""Heuristic quality signals (a tagger: it measures, it never decides).

Signals follow Gopher (Rae et al. 2021: length, mean word length, symbol ratio,
bullet/ellipsis lines, alphabetic words, stop words, repetition), C4 (lines ending
in terminal punctuation) and FineWeb (short lines, duplicated line characters).
Terminal punctuation includes the Devanagari danda, Myanmar and Khmer full stops and
CJK full stops so that non-Latin text is not penalised for its own punctuation."""

from __future__ import annotations

from itertools import chain, filterfalse
from typing import Callable, Sequence

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
_TOP_NS, _DUP_NS = (2, 3, 4), (5, 10)


_DOC_SALT = np.uint64(0xC2B2AE3D27D4EB4F)
_GRAM_NAMES = tuple(f"top_{n}gram_frac" for n in _TOP_NS) + tuple(f"dup_{n}gram_frac" for n in _DUP_NS)


def gram_stats_batch(ws_list: Sequence[Sequence[str]], lens_list: Sequence[Sequence[int]]) -> dict[str, list[float]]:
    """Gopher's repetition signals of every document of a batch, from one sort: the
    characters covered by the most frequent 2/3/4-gram (first seen wins a tie) and the
    characters inside 5/10-grams that occur more than once, each over all word characters
    of the document. Word n-grams are a wrapping polynomial over word hashes, extended one
    word at a time over the batch's words end to end and salted with the document; an
    n-gram is counted only where its (n-1)-gram repeats (the others occur once), so each
    length costs one `np.unique` over ever fewer grams (per-document numpy calls were the
    label stage's top cost)."""
    n_docs = len(ws_list)
    out = {name: [0.0] * n_docs for name in _GRAM_NAMES}
    counts = np.fromiter(map(len, ws_list), dtype=np.int64, count=n_docs)
    total_words = int(counts.sum())
    if total_words < 2:
        return out
    ids = np.fromiter(map(hash, chain.from_iterable(ws_list)), dtype=np.int64, count=total_words).view(np.uint64)
    lens = np.fromiter(chain.from_iterable(lens_list), dtype=np.int64, count=total_words)
    doc = np.repeat(np.arange(n_docs), counts)
    ends = np.cumsum(counts)
    cum = np.concatenate(([0], np.cumsum(lens)))
    totals = cum[ends] - cum[ends - counts]
    end_of = ends[doc]
    salt = doc.astype(np.uint64) * _DOC_SALT
    h = ids.copy()
    first = np.arange(total_words)  # grams that may still repeat: those whose (n-1)-gram repeats
    with np.errstate(over="ignore"):
        for n in range(2, _DUP_NS[-1] + 1):
            h = h[:-1] * _MUL + ids[n - 1 :]
            first = first[first + n <= end_of[first]]  # no gram spans two documents
            if not len(first):
                break
            _, inv, cnt = np.unique(h[first] + salt[first], return_inverse=True, return_counts=True)
            c = cnt[inv.reshape(-1)]
            if n in _TOP_NS:
                d = doc[first]
                top = np.zeros(n_docs, dtype=np.int64)
                np.maximum.at(top, d, c)
                at = np.full(n_docs, total_words, dtype=np.int64)
                np.minimum.at(at, d, np.where(c == top[d], first, total_words))
                col = out[f"top_{n}gram_frac"]
                for i in np.flatnonzero(top > 1).tolist():
                    col[i] = int(top[i]) * int(cum[at[i] + n] - cum[at[i]]) / int(totals[i])
            first = first[c > 1]  # every occurrence of a repeated n-gram has a repeated (n-1)-gram
            if n in _DUP_NS and len(first):
                diff = np.zeros(total_words + 1, dtype=np.int64)
                diff[first] += 1
                diff[first + n] -= 1
                covered = np.cumsum(diff)[:-1] > 0
                dup_chars = np.bincount(doc[covered], weights=lens[covered], minlength=n_docs)
                col = out[f"dup_{n}gram_frac"]
                for i in np.flatnonzero(dup_chars).tolist():
                    col[i] = int(dup_chars[i]) / int(totals[i])
    return out


def gram_stats(ws: list[str], lens: list[int]) -> dict[str, float]:
    """`gram_stats_batch` of one document."""
    return {name: col[0] for name, col in gram_stats_batch([ws], [lens]).items()}


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
