"""Known-bad documents made from good ones (menus, stutter, repeated sentences, word salad),
so quality teachers and classifiers can be scored against a construction truth."""

from __future__ import annotations

import random

KINDS = ("menu", "stutter", "repeat", "salad")


def corrupt(paragraph: str, kind: str, rng: random.Random) -> str:
    words = paragraph.split()
    if kind == "menu":
        return "\n".join(rng.sample(words, min(12, len(words)))) + "\nHome\nLogin\nContact"
    if kind == "stutter":
        return " ".join(words[:6] * 12)
    if kind == "repeat":
        first = paragraph.split(". ")[0].rstrip(".") + "."
        return " ".join([first] * 8)
    if kind == "salad":
        return " ".join(rng.sample(words, len(words)))
    raise ValueError(f"unknown corruption {kind!r}; known: {', '.join(KINDS)}")


def paired_corpus(sentences: dict[str, list[str]], per_language: int, sentences_per_doc: int = 6, seed: int = 0) -> list[dict]:
    """Per language: `per_language` clean paragraphs of consecutive sentences (truth 1) and
    as many corrupted ones (truth 0, the kinds in turn)."""
    rng = random.Random(seed)
    rows = []
    for lang, lines in sentences.items():
        for i in range(per_language):
            para = " ".join(lines[i * sentences_per_doc : (i + 1) * sentences_per_doc])
            kind = KINDS[i % len(KINDS)]
            rows.append({"id": f"{lang}-good-{i}", "text": para, "lang_hint": None, "truth": 1, "kind": "clean"})
            rows.append({"id": f"{lang}-bad-{i}", "text": corrupt(para, kind, rng), "lang_hint": None, "truth": 0, "kind": kind})
    return rows
