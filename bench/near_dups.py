"""Realistic edits for planted near-duplicates (stdlib only, shared by the benchmarks).

Edit rates are counted in *units*: whitespace-separated words in spaced scripts and
characters (a base character with its combining marks) in scripts written without spaces
(Thai, Lao, Khmer, Myanmar, Han, Kana), so
"5% edited" means the same amount of change in every script and does not favour any
tool's tokenizer. The operations are the ones seen between web copies of one text:
typos, dropped, inserted and substituted words, swapped neighbours; `web_variant` also
wraps a copy in page furniture (a header, a byline, a footer) and reflows its lines."""

from __future__ import annotations

import random
import re
import unicodedata

# Mean whitespace-token length above which a text is treated as written without spaces.
UNSPACED_MEAN_TOKEN_CHARS = 12.0
_PUNCT = re.compile(r"[^\w\s]+", re.UNICODE)

HEADERS = [
    "Home » News » World",
    "Posted on 12 March 2024 by admin",
    "Share on Facebook | Share on Twitter | WhatsApp",
    "Updated: 2023-11-05 08:41",
    "Skip to content",
]
FOOTERS = [
    "Related posts",
    "© 2024 Example Media. All rights reserved.",
    "Tags: news, world, society",
    "Read more",
    "Leave a comment",
]


def is_unspaced(text: str) -> bool:
    """True for text whose whitespace tokens are too long to be words (no spaces between words)."""
    tokens = text.split()
    return bool(tokens) and sum(map(len, tokens)) / len(tokens) > UNSPACED_MEAN_TOKEN_CHARS


def characters(text: str) -> list[str]:
    """User-perceived characters: each base character with the combining marks after it."""
    out: list[str] = []
    for ch in text:
        if out and unicodedata.category(ch).startswith("M"):
            out[-1] += ch
        else:
            out.append(ch)
    return out


def units(text: str) -> list[str]:
    """The neutral units edit rates and `true_jaccard` count: words, or characters when unspaced."""
    if is_unspaced(text):
        return [c for c in characters(text.lower()) if not c.isspace() and not _PUNCT.fullmatch(c)]
    return [w for w in _PUNCT.sub(" ", text.lower()).split() if w]


def true_jaccard(a: str, b: str, n: int = 5) -> float:
    """Jaccard of the unit n-gram sets of two texts: the ground-truth similarity, tool-neutral."""

    def grams(text: str) -> set[tuple[str, ...]]:
        u = units(text)
        return {tuple(u[i : i + n]) for i in range(max(1, len(u) - n + 1))}

    ga, gb = grams(a), grams(b)
    return len(ga & gb) / len(ga | gb) if ga or gb else 1.0


def _typo(word: str, rng: random.Random) -> str:
    if len(word) < 2:
        return word + word
    i = rng.randrange(len(word) - 1)
    op = rng.randrange(3)
    if op == 0:  # swap two neighbouring letters
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if op == 1:  # drop a letter
        return word[:i] + word[i + 1 :]
    return word[:i] + word[i] + word[i:]  # double a letter


def _edit_tokens(tokens: list[str], n_edits: int, rng: random.Random, *, chars: bool) -> list[str]:
    # substitutes and insertions come from the same text (same language)
    pool = [t for t in tokens if not t.isspace()] or list(tokens)
    for _ in range(n_edits):
        if not tokens:
            break
        i = rng.randrange(len(tokens))
        op = rng.random()
        if op < 0.30 and not chars:
            tokens[i] = _typo(tokens[i], rng)
        elif op < 0.55 and len(tokens) > 5:
            tokens.pop(i)
        elif op < 0.75:
            tokens.insert(i, rng.choice(pool))
        elif op < 0.90:
            tokens[i] = rng.choice(pool)
        elif i + 1 < len(tokens):
            tokens[i], tokens[i + 1] = tokens[i + 1], tokens[i]
        else:
            tokens[i] = rng.choice(pool)
    return tokens


def edit_units(text: str, rate: float, rng: random.Random) -> str:
    """Edit about `rate` of the text's units (at least one when rate > 0); line breaks are kept."""
    if rate <= 0:
        return text
    if is_unspaced(text):
        chars = characters(text)
        n_edits = max(1, round(rate * sum(1 for c in chars if not c.isspace())))
        return "".join(_edit_tokens(chars, n_edits, rng, chars=True))
    tokens = text.split(" ")
    n_edits = max(1, round(rate * len(text.split())))
    return " ".join(_edit_tokens(tokens, n_edits, rng, chars=False))


def web_variant(text: str, rng: random.Random) -> str:
    """A web copy of `text`: 1-3% of units edited, maybe a header/footer line, maybe two lines joined."""
    out = edit_units(text, rng.choice((0.01, 0.02, 0.03)), rng)
    lines = out.split("\n")
    if len(lines) > 2 and rng.random() < 0.3:
        j = rng.randrange(len(lines) - 1)
        lines[j : j + 2] = [lines[j] + " " + lines[j + 1]]
    if rng.random() < 0.5:
        lines.insert(0, rng.choice(HEADERS))
    if rng.random() < 0.5:
        lines.append(rng.choice(FOOTERS))
    return "\n".join(lines)
