"""The built-in proxy model: a character n-gram language model per language with
interpolated Witten-Bell smoothing, scored in bits per character on held-out text.

CPU-only and seconds to train, so the data -> train -> evaluate loop runs on a laptop
and in tests. Bits per character is comparable across runs for one language (not
across languages: scripts differ in information per character)."""

from __future__ import annotations

import math
from collections import Counter
from typing import Iterable

BOS = "\x02"


class CharNgramLM:
    def __init__(self, order: int = 5):
        if order < 1:
            raise ValueError("order must be >= 1")
        self.order = order
        self.counts: list[Counter[str]] = [Counter() for _ in range(order + 1)]  # counts[k+1][context of k chars + char]
        self.ctx_total: list[Counter[str]] = []
        self.ctx_types: list[Counter[str]] = []
        self.vocab: set[str] = set()

    def fit(self, texts: Iterable[tuple[str, int]] | Iterable[str]) -> "CharNgramLM":
        """Count n-grams; items may be (text, multiplicity) pairs (mixture copies)."""
        for item in texts:
            text, mult = item if isinstance(item, tuple) else (item, 1)
            if mult <= 0 or not text:
                continue
            padded = BOS * (self.order - 1) + text
            self.vocab.update(text)
            start = self.order - 1
            for k in range(self.order):
                grams = Counter(padded[i - k : i + 1] for i in range(start, len(padded)))
                if mult != 1:
                    for g in grams:
                        grams[g] *= mult
                self.counts[k + 1].update(grams)
        self.ctx_total = [Counter() for _ in range(self.order)]
        self.ctx_types = [Counter() for _ in range(self.order)]
        for k in range(self.order):
            total, types = self.ctx_total[k], self.ctx_types[k]
            for gram, c in self.counts[k + 1].items():
                total[gram[:-1]] += c
                types[gram[:-1]] += 1
        return self

    def prob(self, ctx: str, ch: str) -> float:
        """Interpolated Witten-Bell: P(c|h) = (C(h,c) + T(h) P(c|h')) / (C(h) + T(h))."""
        p = 1.0 / (len(self.vocab) + 1)  # uniform base, +1 for unseen characters
        for k in range(self.order):
            h = ctx[len(ctx) - k :] if k else ""
            total = self.ctx_total[k].get(h, 0)
            if not total:
                continue
            types = self.ctx_types[k][h]
            p = (self.counts[k + 1].get(h + ch, 0) + types * p) / (total + types)
        return p

    def bits_per_char(self, texts: Iterable[str]) -> float:
        bits, n = 0.0, 0
        for text in texts:
            padded = BOS * (self.order - 1) + text
            for i in range(self.order - 1, len(padded)):
                bits -= math.log2(self.prob(padded[i - self.order + 1 : i], padded[i]))
                n += 1
        return bits / n if n else float("nan")
