"""Standardize: bytes to clean Unicode text.

Low-resource web text is where legacy code pages and mojibake survive longest, so
decoding is detected rather than assumed, and every change is recorded in
`std_changes` instead of silently rewriting the text."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from typing import Iterable

import ftfy
import polars as pl
from charset_normalizer import from_bytes

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b\u2028\u2029\ufeff\ufffe]")
_SPACES = re.compile(r"[ \t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+")
_BLANK_LINES = re.compile(r"\n{3,}")
_CHARSET_IN_META = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)


def _valid_codec(name: str | None) -> str | None:
    if not name:
        return None
    import codecs

    try:
        return codecs.lookup(name.strip().strip("\"'")).name
    except LookupError:
        return None


def decode_bytes(data: bytes, declared: str | None = None) -> tuple[str, str]:
    """Decode bytes to text and name the encoding used.

    Order: BOM, strict UTF-8, a declared charset (HTTP header or <meta>) that decodes
    without errors, then statistical detection (charset-normalizer). Last resort is
    UTF-8 with replacement characters, reported as `utf-8/replace`."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace"), "utf-16"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    candidates = [declared]
    m = _CHARSET_IN_META.search(data[:4096])
    if m:
        candidates.append(m.group(1).decode("ascii", "ignore"))
    for cand in candidates:
        codec = _valid_codec(cand)
        if codec and codec not in ("utf-8", "ascii"):
            try:
                return data.decode(codec), codec
            except (UnicodeDecodeError, LookupError):
                pass
    best = from_bytes(data).best()
    if best is not None and best.encoding:
        return str(best), best.encoding
    return data.decode("utf-8", errors="replace"), "utf-8/replace"


def _mojibake_prefilter() -> re.Pattern[str] | None:
    """A class of characters every match of ftfy's badness regex contains one of (each of
    its alternatives needs a character from a non-ASCII set), so that text with none of
    them skips `ftfy.is_bad`, which was a third of standardize's time on non-Latin text.
    None, and ftfy runs on every non-ASCII text, when the installed ftfy's regex does not
    have that shape."""
    try:
        from re import _constants as sre_c
        from re import _parser as sre_parse

        from ftfy.badness import BADNESS_RE

        if BADNESS_RE.flags & re.IGNORECASE:
            return None
        tree = sre_parse.parse(BADNESS_RE.pattern, BADNESS_RE.flags)
        [(op, (_, branches))] = tree.data
        assert op is sre_c.BRANCH
    except Exception:  # another ftfy, another Python: no shortcut
        return None
    parts: list[str] = []
    for branch in branches:
        needed = []
        for op, av in branch.data:
            if op is sre_c.LITERAL and av >= 128:
                needed = [re.escape(chr(av))]
            elif op is sre_c.IN and av and all((o is sre_c.LITERAL and a >= 128) or (o is sre_c.RANGE and a[0] >= 128) for o, a in av):
                needed = [re.escape(chr(a)) if o is sre_c.LITERAL else f"{re.escape(chr(a[0]))}-{re.escape(chr(a[1]))}" for o, a in av]
            if needed:
                break
        if not needed:
            return None
        parts += needed
    return re.compile("[" + "".join(parts) + "]")


_MOJIBAKE_CHARS = _mojibake_prefilter()


def might_be_mojibake(text: str) -> bool:
    """ftfy's verdict, asked only of text that has a character mojibake is made of."""
    if text.isascii() or (_MOJIBAKE_CHARS is not None and not _MOJIBAKE_CHARS.search(text)):
        return False
    return ftfy.is_bad(text)


def normalize_text(text: str, *, ftfy_fix: bool = True, nfc: bool = True, strip_control: bool = True) -> tuple[str, list[str]]:
    """Repair and normalise one text; return it with the list of changes made."""
    changes: list[str] = []
    if ftfy_fix and might_be_mojibake(text):
        fixed = ftfy.fix_text(text, normalization="NFC")
        if fixed != text:
            text = fixed
            changes.append("mojibake")
    if nfc and not text.isascii():
        normed = unicodedata.normalize("NFC", text)
        if normed != text:
            text = normed
            changes.append("nfc")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if strip_control:
        stripped = _CONTROL.sub("", text)
        if stripped != text:
            text = stripped
            changes.append("control_chars")
    lines = [line.strip() for line in _SPACES.sub(" ", text).split("\n")]
    cleaned = _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()
    if cleaned != text:
        changes.append("whitespace")
    return cleaned, changes


class BoilerplateFilter:
    """Drops navigation/cookie/footer lines: by pattern, and short lines repeated
    across many documents of the same shard (menus that every page carries)."""

    def __init__(self, patterns: Iterable[str], short_line_chars: int = 30, repeated_line_min_docs: int = 3):
        self.patterns = [re.compile(p) for p in patterns]
        self.short = short_line_chars
        self.min_docs = repeated_line_min_docs

    def repeated_lines(self, texts: Iterable[str]) -> set[str]:
        counts: Counter[str] = Counter()
        for text in texts:
            counts.update({ln for ln in text.split("\n") if 0 < len(ln) <= self.short})
        return {ln for ln, c in counts.items() if c >= self.min_docs}

    def clean(self, text: str, repeated: set[str]) -> tuple[str, int]:
        kept, dropped = [], 0
        for line in text.split("\n"):
            if line and (line in repeated or any(p.search(line) for p in self.patterns)):
                dropped += 1
                continue
            kept.append(line)
        return _BLANK_LINES.sub("\n\n", "\n".join(kept)).strip(), dropped


def standardize_frame(df: pl.DataFrame, cfg: dict) -> pl.DataFrame:
    """Standardize the `text` column of one shard; add `std_changes` (list of change names)."""
    bp = BoilerplateFilter(cfg.get("boilerplate_patterns", []), cfg.get("short_line_chars", 30), cfg.get("repeated_line_min_docs", 3))
    texts, all_changes = [], []
    normalized = []
    for text in df["text"].to_list():
        new, changes = normalize_text(text or "", ftfy_fix=cfg.get("ftfy", True), nfc=cfg.get("nfc", True), strip_control=cfg.get("strip_control", True))
        normalized.append(new)
        all_changes.append(changes)
    repeated = bp.repeated_lines(normalized)
    for new, changes in zip(normalized, all_changes):
        cleaned, dropped = bp.clean(new, repeated)
        if dropped:
            changes.append("boilerplate_lines")
        texts.append(cleaned)
    return df.with_columns(
        pl.Series("text", texts, dtype=pl.String),
        pl.Series("std_changes", all_changes, dtype=pl.List(pl.String)),
    )
