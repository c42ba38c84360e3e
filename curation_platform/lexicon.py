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
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np
import polars as pl
import regex
import xxhash

_TOKEN = regex.compile(r"[\p{L}\p{M}]+")
_ASCII_WORD = re.compile(r"[A-Za-z]+")
# Scripts whose "words" are runs of characters: count character bigrams instead.
_BIGRAM_SCRIPTS = regex.compile(r"[\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}\p{Tibetan}]")
_MEMO_SIZE, _MEMO_CHARS = 1 << 17, 1 << 25
MIN_UNITS = 8          # fewer units than this: no verdict (a short line says too little)


@lru_cache(maxsize=1024)
def units(text: str) -> tuple[str, ...]:
    """The lexical units of a text (see the module docstring). Cached for a few texts: the
    confusable check asks for the same text's units against each rival's lexicon (the
    counts per (text, language) are remembered in `Lexicons`)."""
    if text.isascii():  # the common case, in C: the same units as below
        return tuple(t.lower() for t in _ASCII_WORD.findall(text) if not t[0].isupper())
    out: list[str] = []
    for tok in _TOKEN.findall(text):
        if _BIGRAM_SCRIPTS.match(tok):
            out.extend(map(str.__add__, tok, tok[1:]) if len(tok) > 1 else (tok,))  # character bigrams, in C
        elif not tok[0].isupper():
            out.append(tok.lower())
    return tuple(out)


def _hashes(items: Iterable[str]) -> np.ndarray:
    return np.fromiter(map(xxhash.xxh32_intdigest, map(str.encode, items)), dtype=np.uint32)


def _oov_rate(us: Sequence[str], vocab: frozenset[int]) -> float:
    """Share of `us` whose hash is not in `vocab` (the map chain runs in C)."""
    return 1.0 - sum(map(vocab.__contains__, map(xxhash.xxh32_intdigest, map(str.encode, us)))) / len(us)


_P1, _P2, _P3, _P4, _P5 = (np.uint32(x) for x in (2654435761, 2246822519, 3266489917, 668265263, 374761393))


def _rotl(x: np.ndarray, r: int) -> np.ndarray:
    return (x << np.uint32(r)) | (x >> np.uint32(32 - r))


def xxh32_many(data: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """XXH32 (seed 0) of many byte strings, the slices data[start:start + length] of one
    uint8 buffer, as numpy over all strings of each length (`xxhash.xxh32_intdigest` per
    string was most of the open-set check's cost). Equal to xxhash's digests (tested)."""
    out = np.empty(len(starts), dtype=np.uint32)
    with np.errstate(over="ignore"):
        for length in np.unique(lengths).tolist():
            idx = np.flatnonzero(lengths == length)
            mat = data[starts[idx, None] + np.arange(length)] if length else np.zeros((len(idx), 0), dtype=np.uint8)
            words = mat[:, : length // 4 * 4].copy().view("<u4")  # little-endian 32-bit lanes
            pos = 0
            if length >= 16:
                v = [np.full(len(idx), x, dtype=np.uint32) for x in (_P1 + _P2, _P2, np.uint32(0), np.uint32(0) - _P1)]
                while pos + 16 <= length:
                    for lane in range(4):
                        v[lane] = _rotl(v[lane] + words[:, pos // 4 + lane] * _P2, 13) * _P1
                    pos += 16
                h = _rotl(v[0], 1) + _rotl(v[1], 7) + _rotl(v[2], 12) + _rotl(v[3], 18)
            else:
                h = np.full(len(idx), _P5, dtype=np.uint32)
            h = h + np.uint32(length)
            while pos + 4 <= length:
                h = _rotl(h + words[:, pos // 4] * _P3, 17) * _P4
                pos += 4
            while pos < length:
                h = _rotl(h + mat[:, pos].astype(np.uint32) * _P5, 11) * _P1
                pos += 1
            h ^= h >> np.uint32(15)
            h *= _P2
            h ^= h >> np.uint32(13)
            h *= _P3
            h ^= h >> np.uint32(16)
            out[idx] = h
    return out


_BIGRAM_START = r"^[\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}\p{Tibetan}]"


def unit_hashes(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(text index, XXH32 of the unit) for every unit of every text, the units cut as
    `units` cuts them, for a whole batch in polars (Rust regex) and numpy."""
    toks = (pl.DataFrame({"text": pl.Series(texts, dtype=pl.String)}).with_row_index("doc")
            .select("doc", pl.col("text").str.extract_all(r"[\p{L}\p{M}]+").alias("tok")).explode("tok").drop_nulls("tok"))
    bigram = pl.col("tok").str.contains(_BIGRAM_START)
    words = toks.filter(~bigram & ~pl.col("tok").str.contains(r"^\p{Uppercase}")).select("doc", pl.col("tok").str.to_lowercase())
    grams = (toks.filter(bigram).with_columns(i=pl.int_ranges(0, pl.max_horizontal(pl.col("tok").str.len_chars().cast(pl.Int64) - 1, 1)))
             .explode("i").select("doc", pl.col("tok").str.slice(pl.col("i"), 2)))
    us = pl.concat([words, grams])
    if not us.height:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.uint32)
    lengths = us["tok"].str.len_bytes().to_numpy().astype(np.int64)
    data = np.frombuffer(us["tok"].str.join("").item().encode("utf-8"), dtype=np.uint8)
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    return us["doc"].to_numpy().astype(np.int64), xxh32_many(data, starts, lengths)


class Lexicons:
    """{language: sorted uint32 hashes of its units} and {language: OOV ceiling}."""

    def __init__(self, vocab: Mapping[str, np.ndarray], ceilings: Mapping[str, float] | None = None):
        self.vocab = {lang: np.unique(h.astype(np.uint32)) for lang, h in vocab.items()}
        self._sets = {lang: frozenset(h.tolist()) for lang, h in self.vocab.items()}
        self.ceilings = dict(ceilings or {})
        self._memo: dict[tuple[str, str], tuple[int, int]] = {}
        self._memo_chars = 0

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
        acc: dict[str, set[int]] = {}
        for lang, text in texts:
            acc.setdefault(lang, set()).update(_hashes(units(text)).tolist())
        return cls({lang: np.array(sorted(s), dtype=np.uint32) for lang, s in acc.items()})

    def counts(self, text: str, lang: str) -> tuple[int, int] | None:
        """(units in `lang`'s vocabulary, units) of the text; None for a language without a
        lexicon. Remembered for the last ~100k (text, language) pairs (32M characters): the open-set check,
        the confusable check, the OOV signal and the pooled segment check ask the same
        pairs in turn (a batch has tens of thousands of segments)."""
        vocab = self._sets.get(lang)
        if vocab is None:
            return None
        key = (text, lang)
        got = self._memo.get(key)
        if got is None:
            us = units(text)
            got = (sum(map(vocab.__contains__, map(xxhash.xxh32_intdigest, map(str.encode, us)))), len(us))
            self._remember(key, got)
        return got

    def _remember(self, key: tuple[str, str], got: tuple[int, int]) -> None:
        self._memo_chars += len(key[0])
        if len(self._memo) >= _MEMO_SIZE or self._memo_chars > _MEMO_CHARS:  # bounded: it holds the texts
            self._memo.clear()
            self._memo_chars = len(key[0])
        self._memo[key] = got

    def forget(self) -> None:
        """Drop the remembered counts (the label stage does at each batch: they hold its texts)."""
        self._memo.clear()
        self._memo_chars = 0

    def count_many(self, texts: Sequence[str], langs: Sequence[str]) -> None:
        """`counts` of many (text, language) pairs at once, into the memo (the open-set check
        of a batch of documents or segments asks them all)."""
        todo = [i for i, (t, lang) in enumerate(zip(texts, langs)) if lang in self._sets and (t, lang) not in self._memo]
        if len(todo) < 2:
            return
        doc, hashes = unit_hashes([texts[i] for i in todo])
        n_units = np.bincount(doc, minlength=len(todo))
        hits = np.zeros(len(todo), dtype=np.int64)
        names = {lang: code for code, lang in enumerate(sorted({langs[i] for i in todo}))}
        unit_lang = np.array([names[langs[i]] for i in todo], dtype=np.int64)[doc]
        for lang, code in names.items():
            sel = np.flatnonzero(unit_lang == code)
            if len(sel):
                vocab = self.vocab[lang]
                at = np.minimum(np.searchsorted(vocab, hashes[sel]), len(vocab) - 1)
                hits += np.bincount(doc[sel], weights=vocab[at] == hashes[sel], minlength=len(todo)).astype(np.int64)
        for j, i in enumerate(todo):
            self._remember((texts[i], langs[i]), (int(hits[j]), int(n_units[j])))

    def oov(self, text: str, lang: str, us: Sequence[str] | None = None) -> float | None:
        """Share of the text's units (or of `us`, units already cut) outside `lang`'s
        vocabulary; None without a verdict (language without a lexicon, or fewer than
        MIN_UNITS units)."""
        if us is not None:
            vocab = self._sets.get(lang)
            return _oov_rate(us, vocab) if vocab is not None and len(us) >= MIN_UNITS else None
        got = self.counts(text, lang)
        return None if got is None or got[1] < MIN_UNITS else 1.0 - got[0] / got[1]

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

    def unknown(self, text: str, lang: str, us: Sequence[str] | None = None) -> tuple[bool, float | None]:
        """(the text is not `lang`, its OOV rate): above the language's ceiling."""
        ceiling = self.ceilings.get(lang, self.default_ceiling)
        if ceiling is None:
            return False, None
        rate = self.oov(text, lang, us)
        return (rate is not None and rate > ceiling), rate

    def unknown_pooled(self, texts: Sequence[str], lang: str) -> bool:
        """`unknown` for the texts' units taken together (a document's segments)."""
        ceiling = self.ceilings.get(lang, self.default_ceiling)
        if ceiling is None:
            return False
        rate = self.oov_pooled(texts, lang)
        return rate is not None and rate > ceiling

    def save(self, path: Path) -> None:
        """One .npz (hashes) beside one .json (ceilings); written atomically."""
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez_compressed(tmp, **{lang: h for lang, h in self.vocab.items()})
        tmp.replace(path)
        side = path.with_suffix(".json")
        side.with_name(side.name + ".tmp").write_text(json.dumps({"ceilings": self.ceilings}, sort_keys=True, indent=1), "utf-8")
        side.with_name(side.name + ".tmp").replace(side)

    @classmethod
    def load(cls, path: str | Path) -> "Lexicons":
        path = Path(path)
        with np.load(path) as z:
            vocab = {k: z[k] for k in z.files}
        side = path.with_suffix(".json")
        ceilings = json.loads(side.read_text("utf-8"))["ceilings"] if side.is_file() else {}
        return cls(vocab, ceilings)


def calibrate_ceilings(texts: Sequence[tuple[str, str]], *, chunk_units: int = 60, quantile: float = 0.99, margin: float = 0.15,
                       floor: float = 0.35, cap: float = 0.9, min_chunks: int = 8, seed: int = 0) -> tuple[dict[str, float], dict[str, dict]]:
    """Per-language OOV ceilings from the language's own text alone (no other language's
    text is used, so a language nobody has seen is never part of the calibration): half
    of its sentences build a vocabulary; the other half, cut into paragraphs of about
    `chunk_units` units, measures the OOV rate; the ceiling is that rate's `quantile` plus
    `margin`, within [floor, cap]. Half a vocabulary stands in for unseen domains."""
    by: dict[str, list[str]] = {}
    for lang, text in texts:
        by.setdefault(lang, []).append(text)
    rng = random.Random(seed)
    ceilings, report = {}, {}
    for lang, sents in sorted(by.items()):
        sents = list(dict.fromkeys(sents))
        rng.shuffle(sents)
        half = len(sents) // 2
        vocab = frozenset(_hashes(u for s in sents[:half] for u in units(s)).tolist())
        rates, chunk = [], []
        for s in sents[half:]:
            chunk += units(s)
            if len(chunk) >= chunk_units:
                rates.append(_oov_rate(chunk, vocab))
                chunk = []
        if len(rates) < min_chunks:
            continue  # too little text to calibrate: no ceiling, no verdict
        rates.sort()
        q = rates[min(len(rates) - 1, int(quantile * (len(rates) - 1) + 0.5))]
        ceilings[lang] = round(min(cap, max(floor, q + margin)), 4)
        report[lang] = {"paragraphs": len(rates), "median_oov": round(rates[len(rates) // 2], 4), "q": round(q, 4), "ceiling": ceilings[lang]}
    return ceilings, report
