"""Per-language lexicons (taboo words, honorifics) as labels: counted, never used to
drop text by default. They feed the `culture` level of the evaluation loop.

Entries in scripts written with spaces match whole word tokens; entries in scripts
without spaces (Thai, Khmer, ...) match as substrings."""

from __future__ import annotations

from functools import lru_cache

from curation_platform.scripts import UNSPACED, script_counts

LEXICON_KINDS = ("taboo", "honorific")


@lru_cache(maxsize=4096)
def _unspaced(entry: str) -> bool:
    counts = script_counts(entry)
    return bool(counts) and max(counts, key=counts.__getitem__) in UNSPACED


def lexicon_hits(text: str, tokens: list[str], lang: str, lexicons: dict) -> dict[str, float | None]:
    """{"taboo_hits": n, "honorific_hits": n}; None where the language has no such lexicon."""
    out: dict[str, float | None] = {}
    token_set = None
    for kind in LEXICON_KINDS:
        entries = ((lexicons or {}).get(kind) or {}).get(lang)
        if not entries:
            out[f"{kind}_hits"] = None
            continue
        if token_set is None:
            token_set = {}
            for t in tokens:
                token_set[t] = token_set.get(t, 0) + 1
        lowered = text.lower()
        n = 0
        for e in entries:
            e = e.lower()
            n += lowered.count(e) if _unspaced(e) else token_set.get(e, 0)
        out[f"{kind}_hits"] = float(n)
    return out
