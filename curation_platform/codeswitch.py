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
from typing import Callable, Sequence

from curation_platform.langid import UND, LangPrediction, LanguageIdentifier
from curation_platform.scripts import SCRIPT_CHAR_WEIGHT, script_counts

_SENTENCE_END = re.compile(r"(?<=[.!?。！？।॥။។៕።؟])\s+|\n+")
NO_SENTENCE_PUNCT = frozenset({"Thai", "Laoo"})


@dataclass
class Mix:
    """Languages of one document: `shares` {lang: share of the labelled segments' content, in
    script-weighted characters}."""

    main: str = UND
    shares: dict[str, float] = field(default_factory=dict)
    switches: int = 0
    segments: int = 0
    labelled: float = 0.0      # share of the characters in segments with a language (not `und`)
    confidences: dict[str, float] = field(default_factory=dict)  # mean model score of each language's segments (weighted)
    main_unknown: bool = False  # the main language's segments, pooled, are not its words (open-set rule)

    @property
    def confidence(self) -> float:
        """Mean model score of the main language's segments (character-weighted)."""
        return self.confidences.get(self.main, 0.0)

    def share_of_all(self, lang: str) -> float:
        """`lang`'s share of all characters, `und` segments included."""
        return round(self.shares.get(lang, 0.0) * self.labelled, 4)

    @property
    def main_share(self) -> float:
        """The main language's share of all characters, `und` segments included: the
        language test of a document of several segments."""
        return self.share_of_all(self.main)

    @property
    def outside_main(self) -> float:
        return round(1.0 - self.shares.get(self.main, 0.0), 4) if self.shares else 0.0

    def share(self, lang: str) -> float:
        return self.shares.get(lang, 0.0)


def segments(text: str, script: str = "", window: int = 200) -> list[str]:
    """Sentences (or lines); fixed windows of about `window` characters, cut at a space
    where there is one, for scripts without sentence punctuation."""
    if script in NO_SENTENCE_PUNCT:
        out = []
        for line in text.split("\n"):  # a line break still ends a segment
            i = 0
            while i < len(line):
                j = min(len(line), i + window)
                cut = line.rfind(" ", i + window // 2, j) if j < len(line) else j
                j = cut if cut > i else j
                out.append(line[i:j])
                i = j
        return [s.strip() for s in out if s.strip()]
    out = [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]
    return _joined(out, HAN_MIN_CHARS) if script in HAN_SCRIPTS else out


HAN_SCRIPTS = frozenset({"Hans", "Hant", "Hani"})
HAN_MIN_CHARS = 30  # a Han sentence of 8 characters says too little: Cantonese and Mandarin share most of them


def _joined(segs: list[str], min_chars: int) -> list[str]:
    """Consecutive segments joined until each holds `min_chars` characters (the last one
    joins the one before when it is still short)."""
    out: list[str] = []
    for seg in segs:
        if out and len(out[-1]) < min_chars:
            out[-1] += seg
        else:
            out.append(seg)
    if len(out) > 1 and len(out[-1]) < min_chars:
        last = out.pop()
        out[-1] += last
    return out


def _single_script(text: str, script: str) -> str | None:
    """The document's script when all its letters are in it, else None (detect per segment)."""
    if not script or script in ("Zyyy", "Jpan", "Hang", "Hans", "Hant"):
        return None
    if text.isascii():
        return "Latn" if script == "Latn" else None
    counts = script_counts(text, max_chars=len(text))
    return script if set(counts) == {script} else None


def language_mix(texts: Sequence[str], identifier: LanguageIdentifier, scripts: Sequence[str] | None = None,
                 min_chars: int = 15, doc_preds: Sequence[LangPrediction] | None = None,
                 relabel: Callable[[LangPrediction, str], str] | None = None) -> list[Mix]:
    """One `Mix` per text, with one batched model call over all segments. Segments shorter
    than `min_chars` (names, numbers, "OK.") take the language of the segment before them
    rather than a guess. With `doc_preds` (the document-level predictions), a document of
    one segment reuses its own prediction instead of a second model call. `relabel`
    (prediction, segment) -> code applies the document's script rules to each segment."""
    scripts = scripts or [""] * len(texts)
    per_doc = [segments(t or "", s) for t, s in zip(texts, scripts)]
    single = [bool(doc_preds) and len(segs) == 1 for segs in per_doc]
    flat = [seg for segs, one in zip(per_doc, single) if not one for seg in segs]
    if isinstance(identifier, LanguageIdentifier):  # segments of a one-script document share its script
        one_script = [_single_script(t or "", s) for t, s in zip(texts, scripts)]
        flat_scripts = [one_script[i] for i, segs in enumerate(per_doc) if not single[i] for _ in segs]
        flat_preds = iter(identifier.predict(flat, flat_scripts) if flat else [])
    else:
        flat_preds = iter(identifier.predict(flat) if flat else [])
    preds = [p for i, segs in enumerate(per_doc) for p in ([doc_preds[i]] if single[i] else [next(flat_preds) for _ in segs])]
    lexicons = getattr(identifier, "lexicons", None)
    out, k = [], 0
    for segs in per_doc:
        labels: list[str] = []
        for seg in segs:
            lang = relabel(preds[k], seg) if relabel else preds[k].lang
            k += 1
            if len(seg) < min_chars:  # names, numbers, "OK.": the language of the segment before
                lang = labels[-1] if labels else UND
            labels.append(lang)
        doc_preds_k = preds[k - len(segs) : k]
        out.append(_mix(segs, labels, doc_preds_k, lexicons))
    return out


def _mix(segs: list[str], labels: list[str], preds: Sequence[LangPrediction], lexicons) -> Mix:
    """The mix of one document. With lexicons, the main language's segments are checked
    together: short segments say too little alone, pooled they tell a language nobody
    trained for from the neighbour the model named for each of them."""
    # lengths in English-equivalent characters: 40 % of the sentences of a Chinese page in
    # English are not 70 % of its content because Latin letters are many
    size = [len(seg) * SCRIPT_CHAR_WEIGHT.get(p.script, 1.0) for seg, p in zip(segs, preds)]
    total_chars = sum(size)
    main_unknown = False

    def count() -> dict[str, float]:
        chars: dict[str, float] = {}
        for n, lang in zip(size, labels):
            if lang != UND:
                chars[lang] = chars.get(lang, 0) + n
        return chars

    chars = count()
    for _ in range(2 if lexicons is not None else 0):
        if not chars:
            break
        main = max(chars, key=chars.__getitem__)
        # the pooled segments' units are their own units end to end (no unit spans the space between them)
        label = next((p.top[0][0] for p, lang in zip(preds, labels) if lang == main and p.top), main)
        if not lexicons.unknown_pooled([seg for seg, lang in zip(segs, labels) if lang == main], label)[0]:
            break
        main_unknown = True
        labels = [UND if lang == main else lang for lang in labels]
        chars = count()
    if not chars:
        return Mix(segments=len(segs), main_unknown=main_unknown)
    total = sum(chars.values())
    shares = {lang: round(c / total, 4) for lang, c in sorted(chars.items(), key=lambda kv: -kv[1])}
    main = next(iter(shares))
    confidences = {}
    for lang in shares:
        own = [(n, p.score) for n, lab, p in zip(size, labels, preds) if lab == lang and p.lang != UND]
        confidences[lang] = round(sum(n * sc for n, sc in own) / sum(n for n, _ in own), 4) if own else 0.0
    seq = [lang for lang in labels if lang != UND]
    switches = sum(1 for a, b in zip(seq, seq[1:]) if a != b)
    return Mix(main=main, shares=shares, switches=switches, segments=len(segs), labelled=round(total / total_chars, 4) if total_chars else 0.0,
               confidences=confidences, main_unknown=main_unknown)


def _floor(min_share: dict[str, float] | float, lang: str) -> float:
    return float(min_share.get(lang, min_share.get("default", 0.3))) if isinstance(min_share, dict) else float(min_share)


def route(doc_lang: str, mix: Mix, targets: Sequence[str], min_share: dict[str, float] | float = 0.3) -> str:
    """The language a code-switched document is filed under: a target language among its
    segments with at least its minimum share wins over a non-target document label (the
    largest such share first); otherwise the document label stands."""
    if doc_lang in targets:
        return doc_lang
    ok = [(share, lang) for lang, share in mix.shares.items() if lang in targets and share >= _floor(min_share, lang)]
    return max(ok)[1] if ok else doc_lang


def meets_target(lang: str, mix: Mix, targets: Sequence[str], min_share: dict[str, float] | float = 0.3) -> bool:
    """A target-language document whose segments give the target at least its minimum
    share: mixed text scores low at document level, and that alone must not drop it."""
    return lang in targets and mix.share(lang) >= _floor(min_share, lang)
