"""Per-language lexicons for open-set language ID: is this text made of the words of the
language the model named?

A softmax classifier always names one of its languages, with confidence, even for a
language it has never seen (Acehnese -> Sundanese at p = 0.999). The words tell it apart:
held-out Sundanese paragraphs have 19-36 % of their words outside the Sundanese training
vocabulary, Acehnese ones 75-89 %. So each language keeps the hashed vocabulary of its
training text and a calibrated ceiling on that out-of-vocabulary rate; text above the
ceiling is not that language.

Units are lower-cased words for scripts written with spaces, character bigrams for
scripts without them (Thai, Lao, Khmer, Myanmar, Han, Kana) and for Hangul (whose
space-separated words carry particles). Capitalised words (names, acronyms) and words
with digits are skipped: they say little about the language and much about the domain."""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np
import regex
import xxhash

_TOKEN = regex.compile(r"[\p{L}\p{M}]+")
_ASCII_WORD = re.compile(r"[A-Za-z]+")
# Scripts whose "words" are runs of characters: count character bigrams instead.
_BIGRAM_SCRIPTS = regex.compile(r"[\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}\p{Tibetan}]")
_MEMO_SIZE = 1 << 16
MIN_UNITS = 8          # fewer units than this: no verdict (a short line says too little)


def units(text: str) -> tuple[str, ...]:
    """The lexical units of a text (see the module docstring)."""
    if text.isascii():  # the common case, in C: the same units as below
        return tuple([t.lower() for t in _ASCII_WORD.findall(text) if not t[0].isupper()])
    out: list[str] = []
    for tok in _TOKEN.findall(text):
        if _BIGRAM_SCRIPTS.match(tok):
            out.extend(map(str.__add__, tok, tok[1:]) if len(tok) > 1 else (tok,))  # character bigrams, in C
        elif not tok[0].isupper():
            out.append(tok.lower())
    return tuple(out)


def _hashes(items: Iterable[str]) -> np.ndarray:
    return np.fromiter(map(xxhash.xxh32_intdigest, map(str.encode, items)), dtype=np.uint32)


@lru_cache(maxsize=2048)
def unit_hashes(text: str) -> np.ndarray:
    """The hashes of the text's units, as the lexicons hold them. Cached for the last 2,048
    texts: the confusable check and the pooled segment check ask for a text against another
    lexicon soon after (the counts per (text, language) are remembered in `Lexicons`). An
    array weighs 4 bytes a unit; the tuple of units cached before weighed ~10x its text."""
    return _hashes(units(text))


def _in_sorted(hashes: np.ndarray, vocab: np.ndarray) -> int:
    """How many of `hashes` are in `vocab` (sorted, unique)."""
    if not len(hashes) or not len(vocab):
        return 0
    at = np.searchsorted(vocab, hashes)
    at[at == len(vocab)] = 0
    return int(np.count_nonzero(vocab[at] == hashes))


def _oov_rate(us: Sequence[str], vocab: np.ndarray) -> float:
    """Share of `us` whose hash is not in `vocab` (sorted, unique)."""
    return 1.0 - _in_sorted(_hashes(us), vocab) / len(us)


_PROFILE = "__top__"   # npz key prefix of the function-word profiles
_PAIR = "__pair__"     # npz key prefix of the pairwise word weights (units, then weights)
_PAIR_W = "__pairw__"
PROFILE_UNITS = 300    # units in a profile: the language's most frequent ones


class Lexicons:
    """{language: sorted uint32 hashes of its units} and {language: OOV ceiling}. The
    hashes stay numpy arrays (1.3 MB for the bundled 322k): as Python sets they took 33 MB
    in every process, and each worker copied the pages its lookups touched.

    `profiles` holds each language's PROFILE_UNITS most frequent units (its function words):
    a new domain brings new content words, but the function words stay, and an unknown
    relative has its own. `evidence` combines the OOV rate, the profile share and the
    model's margin into one score (`evidence_score`), fitted on domains the model never saw."""

    def __init__(self, vocab: Mapping[str, np.ndarray], ceilings: Mapping[str, float] | None = None,
                 profiles: Mapping[str, np.ndarray] | None = None, evidence: Mapping | None = None):
        self.vocab = {lang: np.unique(h.astype(np.uint32)) for lang, h in vocab.items()}
        self.profiles = {lang: np.unique(h.astype(np.uint32)) for lang, h in (profiles or {}).items()}
        self.evidence = dict(evidence) if evidence else None
        self.pairs: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
        self.counts_by_lang: dict[str, Counter] = {}  # unit-hash counts of the training text, while training only
        self.ceilings = dict(ceilings or {})
        self._memo: dict[tuple[int, str], tuple[int, int]] = {}

    @property
    def ceilings(self) -> dict[str, float]:
        return self._ceilings

    @ceilings.setter
    def ceilings(self, values: Mapping[str, float]) -> None:
        """Setting the ceilings also sets `default_ceiling`: for a language with a lexicon but
        too little text to calibrate its own, the median of the calibrated ones. Without it,
        text of an unseen relative filed under such a language (a label with a few dozen
        training lines) would never be questioned."""
        self._ceilings = dict(values)
        vals = sorted(self._ceilings.values())
        self.default_ceiling = vals[len(vals) // 2] if vals else None

    @classmethod
    def build(cls, texts: Iterable[tuple[str, str]]) -> "Lexicons":
        freq: dict[str, Counter] = {}
        for lang, text in texts:
            freq.setdefault(lang, Counter()).update(_hashes(units(text)).tolist())
        lex = cls({lang: np.array(sorted(c), dtype=np.uint32) for lang, c in freq.items()},
                  profiles={lang: np.array([h for h, _ in c.most_common(PROFILE_UNITS)], dtype=np.uint32) for lang, c in freq.items()})
        lex.counts_by_lang = freq
        return lex

    def add_pair(self, a: str, b: str, min_count: int = 3, alpha: float = 0.5, min_weight: float = 1.0, max_units: int = 4000) -> int:
        """Word weights that tell close relatives `a` and `b` apart (naive Bayes log-odds of
        each unit in their training text; units used alike by both are left out): an OOV
        rate against a lexicon built from six domains hardly differs between Indonesian and
        Malay, the words each prefers do. Needs the counts `build` keeps; returns the units kept."""
        ca, cb = self.counts_by_lang[a], self.counts_by_lang[b]
        na, nb = sum(ca.values()), sum(cb.values())
        units_ = [h for h in set(ca) | set(cb) if ca.get(h, 0) + cb.get(h, 0) >= min_count]
        if not units_:
            return 0
        fa = np.array([ca.get(h, 0) for h in units_], dtype=float)
        fb = np.array([cb.get(h, 0) for h in units_], dtype=float)
        w = np.log((fa + alpha) / (na + alpha * len(units_))) - np.log((fb + alpha) / (nb + alpha * len(units_)))
        mass = np.where(np.abs(w) >= min_weight, (fa + fb) * np.abs(w), 0.0)  # the units that decide most often
        keep = np.argsort(-mass, kind="stable")[: min(max_units, int(np.count_nonzero(mass)))]
        keep = keep[np.argsort(np.array(units_, dtype=np.uint32)[keep])]
        self.pairs[(a, b)] = (np.array(units_, dtype=np.uint32)[keep], w[keep].astype(np.float16))
        return len(keep)

    def pair_score(self, text: str, a: str, b: str) -> float | None:
        """Mean log-odds of `a` over `b` of the text's units (positive: `a`); None without a
        pair table or without a unit that tells them apart."""
        table, sign = (self.pairs.get((a, b)), 1.0) if (a, b) in self.pairs else (self.pairs.get((b, a)), -1.0)
        if table is None:
            return None
        hashes, weights = table
        us = unit_hashes(text)
        if not len(us) or not len(hashes):
            return None
        at = np.searchsorted(hashes, us)
        at[at == len(hashes)] = 0
        hit = hashes[at] == us
        return sign * float(weights[at[hit]].astype(np.float32).sum()) / len(us) if hit.any() else None

    def profile_share(self, text: str, lang: str) -> float | None:
        """Share of the text's units among `lang`'s most frequent units; None without a
        profile or with fewer than MIN_UNITS units."""
        profile = self.profiles.get(lang)
        hashes = unit_hashes(text)
        if profile is None or len(hashes) < MIN_UNITS:
            return None
        return _in_sorted(hashes, profile) / len(hashes)

    def evidence_score(self, text: str, lang: str, margin: float) -> float | None:
        """The fitted evidence that `text` is `lang` (higher: more so); None where it cannot
        be judged (no evidence model, no profile, too few units)."""
        ev = self.evidence
        if ev is None:
            return None
        oov, share = self.oov(text, lang), self.profile_share(text, lang)
        if oov is None or share is None:
            return None
        w = ev["weights"]
        return w["oov"] * oov + w["profile"] * share + w["margin"] * margin + ev["bias"]

    def counts(self, text: str, lang: str) -> tuple[int, int] | None:
        """(units in `lang`'s vocabulary, units) of the text; None for a language without a
        lexicon. Remembered for the last ~65k (text, language) pairs: the open-set check, the
        confusable check, the OOV signal and the pooled segment check ask the same pairs in
        turn (a batch has tens of thousands of segments). Keyed by a 128-bit hash of the
        text: holding the texts themselves took up to 16M characters in every worker."""
        vocab = self.vocab.get(lang)
        if vocab is None:
            return None
        key = (xxhash.xxh3_128_intdigest(text.encode()), lang)
        got = self._memo.get(key)
        if got is None:
            hashes = unit_hashes(text)
            got = (_in_sorted(hashes, vocab), len(hashes))
            if len(self._memo) >= _MEMO_SIZE:
                self._memo.clear()
            self._memo[key] = got
        return got

    def oov(self, text: str, lang: str) -> float | None:
        """Share of the text's units outside `lang`'s vocabulary; None without a verdict
        (language without a lexicon, or fewer than MIN_UNITS units)."""
        return self.oov_pooled((text,), lang)

    def oov_pooled(self, texts: Iterable[str], lang: str) -> float | None:
        """`oov` of the texts' units taken together (no unit spans two texts), from each
        text's remembered counts."""
        hits = total = 0
        for text in texts:
            got = self.counts(text, lang)
            if got is None:
                return None
            hits, total = hits + got[0], total + got[1]
        return 1.0 - hits / total if total >= MIN_UNITS else None

    def unknown(self, text: str, lang: str, margin: float | None = None) -> tuple[bool, float | None]:
        """(the text is not `lang`, its OOV rate): above the language's ceiling, or, given
        the model's margin (top probability minus the second's), evidence below its threshold."""
        unknown, rate = self.unknown_pooled((text,), lang)
        if not unknown and margin is not None and self.evidence is not None:
            score = self.evidence_score(text, lang, margin)
            unknown = score is not None and score < self.evidence["threshold"]
        return unknown, rate

    def unknown_pooled(self, texts: Sequence[str], lang: str) -> tuple[bool, float | None]:
        """`unknown` for the texts' units taken together (a document's segments)."""
        ceiling = self.ceilings.get(lang, self.default_ceiling)
        if ceiling is None:
            return False, None
        rate = self.oov_pooled(texts, lang)
        return (rate is not None and rate > ceiling), rate

    def save(self, path: Path) -> None:
        """One .npz (hashes) beside one .json (ceilings); written atomically."""
        tmp = path.with_name(path.name + ".tmp.npz")
        pairs = {f"{_PAIR}{a}|{b}": h for (a, b), (h, _) in self.pairs.items()}
        pairs.update({f"{_PAIR_W}{a}|{b}": w for (a, b), (_, w) in self.pairs.items()})
        np.savez_compressed(tmp, **{lang: h for lang, h in self.vocab.items()}, **{_PROFILE + lang: h for lang, h in self.profiles.items()}, **pairs)
        tmp.replace(path)
        side = path.with_suffix(".json")
        extra = {"evidence": self.evidence} if self.evidence else {}
        side.with_name(side.name + ".tmp").write_text(json.dumps({"ceilings": self.ceilings, **extra}, sort_keys=True, indent=1), "utf-8")
        side.with_name(side.name + ".tmp").replace(side)

    @classmethod
    def load(cls, path: str | Path) -> "Lexicons":
        path = Path(path)
        with np.load(path) as z:
            vocab = {k: z[k] for k in z.files if not k.startswith("__")}
            profiles = {k[len(_PROFILE):]: z[k] for k in z.files if k.startswith(_PROFILE)}
            pairs = {tuple(k[len(_PAIR):].split("|")): (z[k], z[_PAIR_W + k[len(_PAIR):]]) for k in z.files if k.startswith(_PAIR)}
        side = json.loads(path.with_suffix(".json").read_text("utf-8")) if path.with_suffix(".json").is_file() else {}
        lex = cls(vocab, side.get("ceilings", {}), profiles, side.get("evidence"))
        lex.pairs = pairs  # type: ignore[assignment]
        return lex


def _chunk_rates(texts: Iterable[str], vocab: np.ndarray, chunk_units: int) -> list[float]:
    """OOV rates of consecutive texts cut into paragraphs of about `chunk_units` units."""
    rates, chunk = [], []
    for text in texts:
        chunk += units(text)
        if len(chunk) >= chunk_units:
            rates.append(_oov_rate(chunk, vocab))
            chunk = []
    return rates


def _vocab(texts: Iterable[str]) -> np.ndarray:
    return np.unique(_hashes(u for t in texts for u in units(t)))


def _quantile_of(rates: list[float], quantile: float) -> float:
    rates = sorted(rates)
    return rates[min(len(rates) - 1, int(quantile * (len(rates) - 1) + 0.5))]


def calibrate_ceilings(texts: Sequence[tuple[str, str]], *, domains: Mapping[tuple[str, str], str] | None = None, chunk_units: int = 60,
                       quantile: float = 0.99, margin: float = 0.15, floor: float = 0.35, cap: float = 0.9, min_chunks: int = 8,
                       seed: int = 0) -> tuple[dict[str, float], dict[str, dict]]:
    """Per-language OOV ceilings from the language's own text alone (no other language's
    text is used, so a language nobody has seen is never part of the calibration).

    Without `domains`: half of its sentences build a vocabulary, the other half, cut into
    paragraphs of about `chunk_units` units, measures the OOV rate; the ceiling is that
    rate's `quantile` plus `margin`, within [floor, cap].

    With `domains` ((language, text) -> domain): a language with text from two or more
    domains is calibrated across them (the vocabulary of all its other domains, the rates
    of each domain's paragraphs: the shift a new domain brings, measured); a language
    with one domain gets its half-split rate plus the median shift the cross-domain
    languages showed between their half-split and cross-domain rates."""
    by: dict[str, dict[str, None]] = {}
    for lang, text in texts:
        by.setdefault(lang, {})[text] = None
    rng = random.Random(seed)
    in_domain: dict[str, tuple[float, list[float]]] = {}
    cross: dict[str, tuple[float, list[float], int]] = {}
    for lang, uniq in sorted(by.items()):
        sents = list(uniq)
        rng.shuffle(sents)
        half = len(sents) // 2
        rates = _chunk_rates(sents[half:], _vocab(sents[:half]), chunk_units)
        if len(rates) >= min_chunks:
            in_domain[lang] = (_quantile_of(rates, quantile), rates)
        if domains is None:
            continue
        by_domain: dict[str, list[str]] = {}
        for text in sents:
            by_domain.setdefault(domains.get((lang, text), "?"), []).append(text)
        if len(by_domain) < 2:
            continue
        rates = []
        for dom, own in by_domain.items():
            rates += _chunk_rates(own, _vocab(t for d, other in by_domain.items() if d != dom for t in other), chunk_units)
        if len(rates) >= min_chunks:
            cross[lang] = (_quantile_of(rates, quantile), rates, len(by_domain))
    shifts = sorted(cross[lang][0] - in_domain[lang][0] for lang in cross if lang in in_domain)
    shift = max(0.0, shifts[len(shifts) // 2]) if shifts else 0.0
    ceilings, report = {}, {}
    for lang in sorted(set(in_domain) | set(cross)):
        if lang in cross:
            q, rates, n_domains = cross[lang]
            how = f"across {n_domains} domains"
        else:
            q, rates = in_domain[lang]
            q, how = q + shift, (f"one domain + median shift {shift:.3f}" if domains is not None else "half split")
        ceilings[lang] = round(min(cap, max(floor, q + margin)), 4)
        report[lang] = {"paragraphs": len(rates), "median_oov": round(sorted(rates)[len(rates) // 2], 4), "q": round(q, 4),
                        "ceiling": ceilings[lang], "method": how}
    return ceilings, report
