"""PII detection and redaction with typed placeholders, tuned for Southeast Asian text.

Candidates are found by regex and then validated (Luhn for cards, structure for the
Indonesian NIK, operator prefixes and lengths for phones), so ordinary numbers such as
prices ("Rp 1.500.000"), years and quantities stay. Order matters: URLs with
credentials and e-mails go first, so their digits are not re-read as phones."""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from typing import Callable, Iterable

PLACEHOLDERS = {"URL_CREDENTIALS": "<URL_CREDENTIALS>", "EMAIL": "<EMAIL>", "CARD": "<CARD>", "NIK": "<NIK>",
                "IP": "<IP>", "PHONE": "<PHONE>"}

_URL_CRED = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s/:@]+:[^\s/@]+@[^\s/?#]+[^\s]*")
_EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}")
_CARD = re.compile(r"(?<![\d.,])(?:\d[ -]?){12,18}\d(?![\d.,]\d)")
_NIK = re.compile(r"(?<![\d.,])\d{16}(?![\d.,]\d)")
_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.]*\d)")
_IPV6 = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{1,4}:){2,7}[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{1,4})*(?![\w:])")
# A phone-like run: optional +country, then digits with spaces, dots, dashes or one (area) group.
_PHONE = re.compile(r"(?<![\w+])(?:\+|00)?\(?\d{1,4}\)?(?:[ .\-]?\(?\d{1,5}\)?){2,6}(?![\w])")

# Country calling codes of the region (and a few frequent others); local prefixes per country.
_CC = ("62", "60", "63", "84", "66", "65", "95", "855", "856", "673", "670", "1", "44", "61", "81", "82", "86", "91")
_LOCAL = [
    re.compile(r"^08[1-9]\d{7,10}$"),      # ID mobile 08xx, 10-13 digits
    re.compile(r"^0[2-7]\d{7,9}$"),        # ID / TH / VN landlines with area code
    re.compile(r"^01\d{8,9}$"),            # MY mobile 01x
    re.compile(r"^09\d{9}$"),              # PH mobile 09xx xxx xxxx
    re.compile(r"^0[35789]\d{8}$"),        # VN mobile 03/05/07/08/09 + 8
    re.compile(r"^0[689]\d{8}$"),          # TH mobile 06/08/09 + 8
]


def luhn_ok(digits: str) -> bool:
    total, alt = 0, False
    for ch in reversed(digits):
        d = int(ch)
        if alt:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
        alt = not alt
    return total % 10 == 0


_IIN = re.compile(r"^(?:4|5[1-5]|2[2-7]|3[47]|6(?:011|5|4[4-9]|2))")


def card_ok(raw: str) -> bool:
    """13-19 digits, a card network prefix, and the Luhn checksum. A bare 16-digit run that
    is also a valid NIK is read as a NIK (formatted card numbers have separators)."""
    digits = re.sub(r"\D", "", raw)
    if not (13 <= len(digits) <= 19 and _IIN.match(digits) and luhn_ok(digits)):
        return False
    return not (raw.isdigit() and nik_ok(digits))


def nik_ok(digits: str) -> bool:
    """Indonesian NIK: province 11-94, a birth date DDMMYY (women add 40 to the day), a serial."""
    if len(digits) != 16 or not (11 <= int(digits[:2]) <= 94):
        return False
    day, month = int(digits[6:8]), int(digits[8:10])
    day = day - 40 if day > 40 else day
    return 1 <= day <= 31 and 1 <= month <= 12 and digits[12:] != "0000"


def phone_ok(raw: str) -> bool:
    digits = re.sub(r"\D", "", raw)
    if raw.startswith("00"):
        digits, raw = digits[2:], "+" + raw[2:]
    if raw.startswith("+"):
        return 8 <= len(digits) <= 15 and digits.startswith(_CC)
    if not raw.startswith(("0", "(0")):
        return False
    # a bare digit run needs a phone's shape: separators, or the exact length of a local number
    return any(p.match(digits) for p in _LOCAL)


def _ip_ok(raw: str) -> bool:
    try:
        ip = ipaddress.ip_address(raw)
    except ValueError:
        return False
    return not (ip.version == 6 and raw.count(":") < 3)  # "10:30:00" is a time, not an address


_DETECTORS: list[tuple[str, re.Pattern, Callable[[str], bool]]] = [
    ("URL_CREDENTIALS", _URL_CRED, lambda s: True),
    ("EMAIL", _EMAIL, lambda s: True),
    ("CARD", _CARD, lambda s: card_ok(s)),
    ("NIK", _NIK, nik_ok),
    ("IP", _IPV4, _ip_ok),
    ("IP", _IPV6, _ip_ok),
    ("PHONE", _PHONE, phone_ok),
]


def find_pii(text: str, types: Iterable[str] | None = None) -> list[tuple[int, int, str]]:
    """Non-overlapping (start, end, type) spans, earlier detectors winning overlaps."""
    wanted = set(types) if types else None
    spans: list[tuple[int, int, str]] = []
    taken = [False] * (len(text) + 1)
    for kind, pattern, ok in _DETECTORS:
        if wanted and kind not in wanted:
            continue
        for m in pattern.finditer(text):
            s, e = m.span()
            raw = m.group().strip()
            # trailing punctuation that closes a sentence is not part of the value
            while raw and raw[-1] in ".,;:)]}>\"'" and kind != "PHONE":
                raw, e = raw[:-1], e - 1
            if kind == "PHONE":
                raw = raw.rstrip(".-")
                e = s + len(m.group().rstrip(".- "))
            if not raw or any(taken[s:e]) or not ok(raw):
                continue
            spans.append((s, e, kind))
            for i in range(s, e):
                taken[i] = True
    return sorted(spans)


def redact(text: str, types: Iterable[str] | None = None) -> tuple[str, Counter]:
    """Text with each PII span replaced by its placeholder, and counts per type."""
    spans = find_pii(text, types)
    counts: Counter = Counter()
    out, last = [], 0
    for s, e, kind in spans:
        out.append(text[last:s])
        out.append(PLACEHOLDERS[kind])
        counts[kind] += 1
        last = e
    out.append(text[last:])
    return "".join(out), counts
