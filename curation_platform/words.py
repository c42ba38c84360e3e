"""Script-aware word splitting.

Thai, Lao, Khmer, Myanmar, Chinese and Japanese do not put spaces between words.
We do not pretend to segment them: in those scripts every base character (with its
combining marks) is one "word" token. That is character-based counting, chosen over
dictionary segmenters because it is fast, dependency-free, and consistent across
languages the segmenters do not cover; the policy uses per-script thresholds for it
(see `*_Thai` etc. in defaults.yaml)."""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

import regex

_UNSPACED = r"\p{Han}\p{Hiragana}\p{Katakana}\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}\p{Tibetan}\p{Javanese}\p{Balinese}"
_WORD = regex.compile(
    rf"(?:[{_UNSPACED}]\p{{M}}*)"                         # one character of an unspaced script
    rf"|(?:[\p{{L}}\p{{N}}](?:[^\s{_UNSPACED}\p{{P}}\p{{S}}]|['’_-](?=[\p{{L}}\p{{N}}]))*)"  # a spaced-script word
)


# The same tokens for ASCII text (after lower-casing: ASCII letters/digits, with every ASCII
# punctuation mark and symbol and the `regex` module's whitespace as separators), through the
# standard library's `re`, which is about 3x faster on it: most web text is ASCII.
_ASCII_WORD = re.compile(r"[a-z0-9](?:[^\t\n\x0b\x0c\r !-/:-@\[-`{-~]|['_-](?=[a-z0-9]))*")


def words(text: str) -> list[str]:
    """Word tokens (letters/digits), lower-cased; unspaced scripts give one token per character."""
    low = text.lower()
    return (_ASCII_WORD if low.isascii() else _WORD).findall(low)


@lru_cache(maxsize=256)
def stop_words(lang: str) -> frozenset[str]:
    """Stop list for a FLORES code from the packaged lists; empty when we have none."""
    try:
        text = resources.files("curation_platform").joinpath(f"data/stopwords/{lang}.txt").read_text("utf-8")
    except (FileNotFoundError, OSError):
        return frozenset()
    return frozenset(w.strip().lower() for w in text.splitlines() if w.strip() and not w.startswith("#"))
