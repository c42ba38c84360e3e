"""Segment-level language id on top of the document label: real low-resource text mixes
languages (Taglish, Indonesian with English terms), and one label per document would
throw away exactly the text these languages have.

Segments are sentences (terminal punctuation of many scripts, and line breaks); scripts
written without sentence punctuation fall back to fixed character windows. Each segment
gets a language; the document gets the share of characters per language, the share
outside its main language and the number of switches between consecutive segments."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Sequence

from curation_platform.langid import UND, LanguageIdentifier

_SENTENCE_END = re.compile(r"(?<=[.!?。！？।॥။។៕።؟])\s+|\n+")
NO_SENTENCE_PUNCT = frozenset({"Thai", "Laoo"})


@dataclass
class Mix:
    """Languages of one document: `shares` {lang: share of characters in labelled segments}."""

    main: str = UND
    shares: dict[str, float] = field(default_factory=dict)
    switches: int = 0
    segments: int = 0

    @property
    def outside_main(self) -> float:
        return round(1.0 - self.shares.get(self.main, 0.0), 4) if self.shares else 0.0

    def share(self, lang: str) -> float:
        return self.shares.get(lang, 0.0)


def segments(text: str, script: str = "", window: int = 200) -> list[str]:
    """Sentences (or lines); fixed windows of about `window` characters, cut at a space
    where there is one, for scripts without sentence punctuation."""
    if script in NO_SENTENCE_PUNCT:
        out, i = [], 0
        while i < len(text):
            j = min(len(text), i + window)
            cut = text.rfind(" ", i + window // 2, j) if j < len(text) else j
            j = cut if cut > i else j
            out.append(text[i:j])
            i = j
        return [s.strip() for s in out if s.strip()]
    return [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]


def language_mix(texts: Sequence[str], identifier: LanguageIdentifier, scripts: Sequence[str] | None = None,
                 min_chars: int = 15) -> list[Mix]:
    """One `Mix` per text, with one batched model call over all segments. Segments shorter
    than `min_chars` (names, numbers, "OK.") take the language of the segment before them
    rather than a guess."""
    scripts = scripts or [""] * len(texts)
    per_doc = [segments(t or "", s) for t, s in zip(texts, scripts)]
    flat = [seg for segs in per_doc for seg in segs]
    preds = identifier.predict(flat) if flat else []
    out, k = [], 0
    for segs in per_doc:
        chars: dict[str, int] = {}
        langs: list[str] = []
        for seg in segs:
            lang = preds[k].lang
            k += 1
            if len(seg) < min_chars or lang == UND:
                lang = langs[-1] if langs else UND
            if lang == UND:
                continue
            langs.append(lang)
            chars[lang] = chars.get(lang, 0) + len(seg)
        total = sum(chars.values())
        if not total:
            out.append(Mix(segments=len(segs)))
            continue
        shares = {lang: round(c / total, 4) for lang, c in sorted(chars.items(), key=lambda kv: -kv[1])}
        switches = sum(1 for a, b in zip(langs, langs[1:]) if a != b)
        out.append(Mix(main=next(iter(shares)), shares=shares, switches=switches, segments=len(segs)))
    return out


def route(doc_lang: str, mix: Mix, targets: Sequence[str], min_share: dict[str, float] | float = 0.3) -> str:
    """The language a code-switched document is filed under: a target language among its
    segments with at least its minimum share wins over a non-target document label (the
    largest such share first); otherwise the document label stands."""
    floor = (lambda lang: min_share.get(lang, min_share.get("default", 0.3))) if isinstance(min_share, dict) else (lambda lang: min_share)
    if doc_lang in targets:
        return doc_lang
    ok = [(share, lang) for lang, share in mix.shares.items() if lang in targets and share >= floor(lang)]
    return max(ok)[1] if ok else doc_lang
