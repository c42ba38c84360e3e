"""PII detection and redaction with typed placeholders, tuned for Southeast Asian text.

Candidates are found by regex and then validated (Luhn for cards, structure for the
Indonesian NIK, operator prefixes and lengths for phones), so ordinary numbers such as
prices ("Rp 1.500.000"), years and quantities stay. Order matters: URLs with
credentials and e-mails go first, so their digits are not re-read as phones."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import re
from collections import Counter
from typing import Callable, Iterable, NamedTuple

from curation_platform.pii import ids
from curation_platform.pii.ids import CARD_IIN, ID_TYPES, NEGATIVE_CONTEXT, ean13_ok, find_ids, luhn_ok  # noqa: F401 (luhn_ok: public here too)
from curation_platform.pii.ids import PLACEHOLDERS as ID_PLACEHOLDERS
from curation_platform.pii.names import find_addresses, find_names

PLACEHOLDERS = {"URL_CREDENTIALS": "<URL_CREDENTIALS>", "EMAIL": "<EMAIL>", **ID_PLACEHOLDERS, "CARD": "<CARD>", "NIK": "<NIK>",
                "IP": "<IP>", "PHONE": "<PHONE>", "ADDRESS": "<ADDRESS>", "NAME": "<NAME>"}
ALL_TYPES = list(PLACEHOLDERS)
# The web crawl's default: identifiers and contact data, not names (public figures fill the web).
WEB_TYPES = ["URL_CREDENTIALS", "EMAIL", *ID_TYPES, "CARD", "NIK", "IP", "PHONE"]
SALT_ENV = "CURATION_PII_SALT"
# groups a config may name instead of listing types
GROUPS = {"identifiers": [*ID_TYPES, "NIK"], "contact": ["EMAIL", "PHONE"], "network": ["IP", "URL_CREDENTIALS"], "financial": ["CARD"],
          "people": ["NAME", "ADDRESS"], "all": ALL_TYPES}
_NUMERIC = {"CARD", "NIK", "PHONE"}
_DIGIT = re.compile(r"\d")

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


def card_ok(raw: str) -> bool:
    """13-19 digits, a card network prefix, and the Luhn checksum. A bare 16-digit run that
    is also a valid NIK is read as a NIK (formatted card numbers have separators)."""
    digits = re.sub(r"\D", "", raw)
    if not (13 <= len(digits) <= 19 and CARD_IIN.match(digits) and luhn_ok(digits)):
        return False
    if len(digits) == 13 and raw.isdigit() and ean13_ok(digits):
        return False  # a bare 13-digit run with a valid EAN check digit is a barcode (13-digit cards are long retired)
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


# A gate per detector: something its every valid match holds, far cheaper to look for
# than the pattern (most text has none of it). A phone that `phone_ok` accepts has 8 digits
# or more, at most ") (" apart; cards and NIKs hold a run of six digits (`ids.CANDIDATE`).
_PHONE_GATE = re.compile(r"\d(?:[ .\-()]{0,3}\d){7}")
_IPV4_GATE = re.compile(r"\d\.\d")


def _id_run(text: str) -> object:
    return ids.CANDIDATE.search(text)  # looked up at call time (a test swaps the pattern)


class _Detector(NamedTuple):
    kind: str
    pattern: re.Pattern
    ok: Callable[[str], bool]
    gate: Callable[[str], object]


_DETECTORS: list[_Detector] = [
    _Detector("URL_CREDENTIALS", _URL_CRED, lambda s: True, lambda t: "://" in t and "@" in t),
    _Detector("EMAIL", _EMAIL, lambda s: True, lambda t: "@" in t),
    _Detector("CARD", _CARD, lambda s: card_ok(s), _id_run),
    _Detector("NIK", _NIK, nik_ok, _id_run),
    _Detector("IP", _IPV4, _ip_ok, _IPV4_GATE.search),
    _Detector("IP", _IPV6, _ip_ok, lambda t: t.count(":") >= 2),
    _Detector("PHONE", _PHONE, phone_ok, _PHONE_GATE.search),
]


def find_pii(text: str, types: Iterable[str] | None = None, names: Callable[[str], list[tuple[int, int]]] = find_names) -> list[tuple[int, int, str]]:
    """Non-overlapping (start, end, type) spans, earlier detectors winning overlaps:
    credentials and e-mails, then the national identifiers (formatted and checksummed
    first), cards, NIK, IP, phones, then addresses and names (`names`: the rules, or a
    model backend such as `pii.names.LLMNameFinder`)."""
    wanted = set(types) if types else None
    spans: list[tuple[int, int, str]] = []
    taken = bytearray(len(text) + 1)  # non-zero: claimed by an earlier detector

    def claim(s: int, e: int, kind: str) -> None:
        spans.append((s, e, kind))
        taken[s:e] = b"\x01" * (e - s)

    has_digit = _DIGIT.search(text) is not None  # every identifier, card, phone and IP has digits
    opened: dict[Callable[[str], object], bool] = {}
    for stage in ("pre", "ids", "post", "text"):
        if stage in ("ids", "post") and not has_digit:
            continue
        if stage == "ids":
            if wanted is None or wanted & set(ID_TYPES):
                for s, e, kind, _ in find_ids(text, wanted, taken):
                    spans.append((s, e, kind))
            continue
        if stage == "text":
            if wanted is None or "ADDRESS" in wanted:
                for s, e in find_addresses(text):
                    if not any(taken[s:e]):
                        claim(s, e, "ADDRESS")
            if wanted is None or "NAME" in wanted:
                for s, e in _with_repeats(text, names(text)):
                    if not any(taken[s:e]):
                        claim(s, e, "NAME")
            continue
        for kind, pattern, ok, gate in (_DETECTORS[:2] if stage == "pre" else _DETECTORS[2:]):
            if wanted and kind not in wanted:
                continue
            if gate not in opened:  # a gate shared by detectors (cards, NIKs) is looked for once
                opened[gate] = bool(gate(text))
            if not opened[gate]:
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
                if kind in _NUMERIC and NEGATIVE_CONTEXT.search(text[max(0, s - 40) : s]):
                    continue  # "invoice 5302...", "No. pesanan 0812...": a look-alike, not a person's number
                claim(s, e, kind)
    return sorted(spans)


def _with_repeats(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Name spans plus every later mention of the same name in the document ("Pak Sutrisno
    ... Sutrisno said"): the honorific marks the first mention only."""
    out = list(spans)
    for name in {text[s:e] for s, e in spans if e - s >= 3}:
        for m in re.finditer(r"(?<!\w)" + re.escape(name) + r"(?!\w)", text):
            out.append(m.span())
    return sorted(set(out))


def pseudonym(kind: str, value: str, salt: str) -> str:
    """A typed placeholder that is the same for the same value (salted hash): training text
    keeps who-is-who without the value."""
    digest = hmac.new(salt.encode(), f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()[:8]
    return f"<{kind}_{digest}>"


def redact(text: str, types: Iterable[str] | None = None, *, pseudonymize: bool = False,
           names: Callable[[str], list[tuple[int, int]]] = find_names) -> tuple[str, Counter]:
    """Text with each PII span replaced by its placeholder, and counts per type. With
    `pseudonymize`, the placeholder carries a salted hash of the value (salt from
    $CURATION_PII_SALT; required then), so one value keeps one pseudonym."""
    salt = os.environ.get(SALT_ENV) if pseudonymize else None
    if pseudonymize and not salt:
        raise RuntimeError(f"pseudonyms need a secret salt in ${SALT_ENV}")
    spans = find_pii(text, types, names)
    counts: Counter = Counter()
    out, last = [], 0
    for s, e, kind in spans:
        out.append(text[last:s])
        out.append(pseudonym(kind, text[s:e], salt) if salt else PLACEHOLDERS[kind])
        counts[kind] += 1
        last = e
    out.append(text[last:])
    return "".join(out), counts


def expand_types(types: Iterable[str] | None) -> list[str] | None:
    """Config types -> PII types: group names (`identifiers`, `contact`, `network`,
    `financial`, `people`, `all`) expand; None means all; unknown names are an error."""
    if types is None:
        return None
    out: list[str] = []
    for t in types:
        names = GROUPS.get(t, [t])
        bad = [n for n in names if n not in PLACEHOLDERS]
        if bad:
            raise ValueError(f"unknown PII type {bad[0]!r}: use {', '.join(ALL_TYPES)} or a group ({', '.join(GROUPS)})")
        out += [n for n in names if n not in out]
    return out


def corpus_types(cfg: dict, corpus: str) -> list[str] | None:
    """The PII types redacted in `corpus`'s release (`pii.corpora`); [] = none, None = all."""
    corpora = (cfg.get("pii") or {}).get("corpora") or {}
    return expand_types(corpora.get(corpus, corpora.get("default", WEB_TYPES)))


def redact_release(texts: Iterable[str], corpora: Iterable[str | None], cfg: dict) -> tuple[list[str], Counter]:
    """Released texts with each corpus's PII types redacted (`pii.corpora`), and the counts."""
    pseudonymize = bool((cfg.get("pii") or {}).get("pseudonymize"))
    cache: dict[str | None, list[str] | None] = {}
    out, total = [], Counter()
    for text, corpus in zip(texts, corpora):
        if corpus not in cache:
            cache[corpus] = corpus_types(cfg, corpus or "default")
        types = cache[corpus]
        if types == [] or not text:
            out.append(text)
            continue
        clean, counts = redact(text, types, pseudonymize=pseudonymize)
        out.append(clean)
        total.update(counts)
    return out, total


def pii_card_lines(counts: dict[str, dict[str, int]], key: str = "language") -> list[str]:
    """A markdown table of redactions per language (or pair) and type, for data cards."""
    if not counts:
        return ["none found"]
    kinds = sorted({k for c in counts.values() for k in c})
    return [f"| {key} | " + " | ".join(kinds) + " |", "|---|" + "---:|" * len(kinds)] + \
        [f"| {lang} | " + " | ".join(str(c.get(k, 0)) for k in kinds) + " |" for lang, c in sorted(counts.items())]
