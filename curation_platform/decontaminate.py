"""Decontamination: training text must not contain evaluation text, exactly or as long
shared n-grams (GPT-3 / Llama style 13-gram overlap; shorter n for short sentences).

In scripts without spaces a "word" is a character, so the n-gram is longer there."""

from __future__ import annotations

from typing import Iterable

import xxhash

from curation_platform.words import words


def _n_for(tokens: list[str], n_words: int, n_chars: int) -> int:
    if not tokens:
        return n_words
    mean = sum(map(len, tokens)) / len(tokens)
    return n_chars if mean < 1.8 else n_words


def _grams(text: str, n_words: int, n_chars: int) -> set[int]:
    ws = words(text)
    n = _n_for(ws, n_words, n_chars)
    if len(ws) < n:
        return {xxhash.xxh64_intdigest("\x1f".join(ws).encode())} if ws else set()
    return {xxhash.xxh64_intdigest("\x1f".join(ws[i : i + n]).encode()) for i in range(len(ws) - n + 1)}


class ContaminationIndex:
    """Hashed n-grams of held-out texts; `is_contaminated(doc)` if any n-gram is shared."""

    def __init__(self, heldout: Iterable[str], n_words: int = 8, n_chars: int = 24):
        self.n_words, self.n_chars = n_words, n_chars
        self.grams: set[int] = set()
        self.count = 0
        for text in heldout:
            self.grams |= _grams(text, n_words, n_chars)
            self.count += 1

    def overlap(self, text: str) -> int:
        return len(_grams(text, self.n_words, self.n_chars) & self.grams)

    def is_contaminated(self, text: str) -> bool:
        return bool(self.grams) and self.overlap(text) > 0
