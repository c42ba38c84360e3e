"""Writing-system detection from Unicode ranges (ISO 15924 codes, FLORES-200 style).

Script is a label in its own right for our languages (Javanese in Latin or Javanese
script, Malay in Latin or Jawi), and it decides how words are counted."""

from __future__ import annotations

import json
import re

import numpy as np

# (first code point, last code point, script). Anything not listed counts as Common.
_RANGES: list[tuple[int, int, str]] = [
    (0x0041, 0x005A, "Latn"), (0x0061, 0x007A, "Latn"), (0x00C0, 0x024F, "Latn"),
    (0x0250, 0x02AF, "Latn"), (0x1E00, 0x1EFF, "Latn"), (0x2C60, 0x2C7F, "Latn"), (0xA720, 0xA7FF, "Latn"),
    (0x0370, 0x03FF, "Grek"), (0x1F00, 0x1FFF, "Grek"),
    (0x0400, 0x052F, "Cyrl"), (0x2DE0, 0x2DFF, "Cyrl"), (0xA640, 0xA69F, "Cyrl"),
    (0x0530, 0x058F, "Armn"), (0x0590, 0x05FF, "Hebr"),
    (0x0600, 0x06FF, "Arab"), (0x0750, 0x077F, "Arab"), (0x08A0, 0x08FF, "Arab"),
    (0xFB50, 0xFDFF, "Arab"), (0xFE70, 0xFEFF, "Arab"),
    (0x0700, 0x074F, "Syrc"), (0x0780, 0x07BF, "Thaa"),
    (0x0900, 0x097F, "Deva"), (0x0980, 0x09FF, "Beng"), (0x0A00, 0x0A7F, "Guru"),
    (0x0A80, 0x0AFF, "Gujr"), (0x0B00, 0x0B7F, "Orya"), (0x0B80, 0x0BFF, "Taml"),
    (0x0C00, 0x0C7F, "Telu"), (0x0C80, 0x0CFF, "Knda"), (0x0D00, 0x0D7F, "Mlym"),
    (0x0D80, 0x0DFF, "Sinh"), (0x0E00, 0x0E7F, "Thai"), (0x0E80, 0x0EFF, "Laoo"),
    (0x0F00, 0x0FFF, "Tibt"), (0x1000, 0x109F, "Mymr"), (0xA9E0, 0xA9FF, "Mymr"), (0xAA60, 0xAA7F, "Mymr"),
    (0x10A0, 0x10FF, "Geor"), (0x1100, 0x11FF, "Hang"), (0x1200, 0x139F, "Ethi"),
    (0x1700, 0x171F, "Tglg"), (0x1780, 0x17FF, "Khmr"), (0x19E0, 0x19FF, "Khmr"),
    (0x1A00, 0x1A1F, "Bugi"), (0x1B00, 0x1B7F, "Bali"), (0x1B80, 0x1BBF, "Sund"),
    (0x3040, 0x309F, "Hira"), (0x30A0, 0x30FF, "Kana"), (0x31F0, 0x31FF, "Kana"),
    (0x3130, 0x318F, "Hang"), (0x3400, 0x4DBF, "Hani"), (0x4E00, 0x9FFF, "Hani"),
    (0xA980, 0xA9DF, "Java"), (0xAC00, 0xD7AF, "Hang"), (0xF900, 0xFAFF, "Hani"),
    (0xFF66, 0xFF9F, "Kana"), (0x20000, 0x2FA1F, "Hani"),
    # scripts of FLORES-200 and Southeast Asian labels that were Common before: their text had no script at all
    (0x07C0, 0x07FF, "Nkoo"), (0x13A0, 0x13FF, "Cher"), (0x1400, 0x167F, "Cans"), (0x1800, 0x18AF, "Mong"),
    (0x1720, 0x173F, "Hano"), (0x1740, 0x175F, "Buhd"), (0x1760, 0x177F, "Tagb"), (0x1900, 0x194F, "Limb"),
    (0x1950, 0x197F, "Tale"), (0x1980, 0x19DF, "Talu"), (0x1A20, 0x1AAF, "Lana"), (0x1BC0, 0x1BFF, "Batk"),
    (0x1C50, 0x1C7F, "Olck"), (0x2D30, 0x2D7F, "Tfng"), (0xA500, 0xA63F, "Vaii"), (0xA930, 0xA95F, "Rjng"),
    (0xAA00, 0xAA5F, "Cham"), (0xAA80, 0xAADF, "Tavt"), (0xABC0, 0xABFF, "Mtei"),
]
_RANGES.sort()
_NAMES = sorted({r[2] for r in _RANGES})

# Scripts written without spaces between words: word statistics are per character.
UNSPACED = frozenset({"Thai", "Laoo", "Khmr", "Mymr", "Tibt", "Hani", "Hans", "Hant", "Hira", "Kana", "Jpan", "Java", "Bali"})

# English-equivalent characters per character (FLORES parallel text): a Chinese sentence
# holds what ~3 times as many Latin letters say. Used wherever lengths of two scripts meet.
SCRIPT_CHAR_WEIGHT = {"Hans": 3.2, "Hant": 3.2, "Hani": 3.2, "Jpan": 2.2, "Hang": 1.9}

def _han_variants() -> tuple[frozenset[str], frozenset[str]]:
    """Characters only Simplified / only Traditional Chinese uses (OpenCC's character tables,
    `scripts/build_han_variants.py`): with 40 common characters each, 1 Chinese sentence in
    9 matched neither and was called simplified by default."""
    from importlib import resources

    table = json.loads(resources.files("curation_platform").joinpath("data/han_variants.json").read_text("utf-8"))
    return frozenset(table["simplified_only"]), frozenset(table["traditional_only"])


_SIMPLIFIED, _TRADITIONAL = _han_variants()


# code point -> script id + 1 (0: Common), for every code point up to the last range
_TABLE = np.zeros(max(r[1] for r in _RANGES) + 2, dtype=np.int8)
for _start, _end, _name in _RANGES:
    _TABLE[_start : _end + 1] = _NAMES.index(_name) + 1


def _script_ids(text: str) -> np.ndarray:
    """Script id + 1 of each code point (0: Common)."""
    cps = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    return _TABLE[np.minimum(cps, len(_TABLE) - 1)]


def script_counts(text: str, max_chars: int = 2000) -> dict[str, int]:
    """Count letters per script in (a prefix of) the text; Common characters are ignored."""
    if not text:
        return {}
    counts = np.bincount(_script_ids(text[:max_chars]), minlength=len(_NAMES) + 1)
    return {_NAMES[i - 1]: int(c) for i, c in enumerate(counts.tolist()) if c and i}


_ASCII_LETTER = re.compile(r"[A-Za-z]")


def dominant_script(text: str, lang3: str | None = None) -> str:
    """FLORES-style script code for a text: Jpan for Japanese, Hang for Korean,
    Hans/Hant for Chinese, otherwise the script with the most letters (Zyyy if none)."""
    if text.isascii():  # the common case, decided in C: no need to count code points
        return "Latn" if _ASCII_LETTER.search(text, 0, 2000) else "Zyyy"
    counts = script_counts(text)
    if not counts:
        return "Zyyy"
    kana = counts.get("Hira", 0) + counts.get("Kana", 0)
    han = counts.get("Hani", 0)
    if lang3 == "jpn" or (kana and kana + han >= max(counts.values())):
        if kana + han >= max(counts.values()):
            return "Jpan"
    if lang3 == "kor" and counts.get("Hang"):
        return "Hang"
    best = max(counts, key=counts.__getitem__)
    if best == "Hani":
        sample = text[:2000]
        simp = sum(ch in _SIMPLIFIED for ch in sample)
        trad = sum(ch in _TRADITIONAL for ch in sample)
        return "Hant" if trad > simp else "Hans"
    return best
