"""National identifiers of Southeast Asia, each validated by its checksum or structure.

The shape follows Presidio's pattern recognizers (a name, patterns with a base score,
context words that raise the score, a validator), so a team that knows Presidio reads
these as such; the engine stays ours (no spaCy model to download, and faster than
Presidio's own regex path: see the README).
A candidate is redacted when its final score reaches `THRESHOLD`:

- a formatted value (dashes, dots, the letters of an NRIC) whose checksum or structure
  holds scores high on its own;
- a bare digit run that only a structure check supports needs a context word in the
  languages of the region ("NIK", "เลขบัตรประชาชน", "CCCD", "No. KP", "SSS" ...) within
  `CONTEXT_CHARS` before it;
- words that mark a look-alike ("invoice", "pesanan", "barcode", "EAN", "harga", "Rp",
  "versi" ...) just before it lower the score (Presidio's negative context).

EAN-13 barcodes, order and invoice numbers, prices, dates and version strings are the
look-alikes this is measured against (`bench/pii.py`)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Callable, Pattern

THRESHOLD = 0.5
CONTEXT_CHARS = 32
CONTEXT_BOOST = 0.35
NEGATIVE_PENALTY = 0.5

# Words before a number that say "this is not a person's identifier".
NEGATIVE_CONTEXT = re.compile(
    r"(?i)\b(invoice|inv|faktur|order|pesanan|pesan|no\.?\s*resi|resi|tracking|barcode|ean|sku|upc|isbn|kode\s*produk|product|"
    r"harga|price|rp|idr|usd|php|vnd|thb|rm|sgd|total|jumlah|versi|version|ver|build|model|serial\s*number|s/n|"
    r"hóa\s*đơn|mã\s*vạch|mã\s*đơn|đơn\s*hàng|giá|resibo|presyo)\b[\s:#.\-]*$"
    r"|(?:ใบแจ้งหนี้|บาร์โค้ด|ราคา|คำสั่งซื้อ|เลขพัสดุ|รหัสสินค้า)[\s:#.\-]*$"   # Thai: no spaces between words, so no \b
)


def _digits(raw: str) -> str:
    return re.sub(r"\D", "", raw)


def _valid_date(yy: int, mm: int, dd: int) -> bool:
    for century in (1900, 2000):
        try:
            date(century + yy, mm, dd)
            return True
        except ValueError:
            continue
    return False


def thai_id_ok(raw: str) -> bool:
    """13 digits, first 1-8, mod-11 check digit (weights 13..2)."""
    d = _digits(raw)
    if len(d) != 13 or d[0] in "09":
        return False
    check = (11 - sum(int(c) * w for c, w in zip(d[:12], range(13, 1, -1))) % 11) % 10
    return check == int(d[12])


def ean13_ok(raw: str) -> bool:
    d = _digits(raw)
    if len(d) != 13:
        return False
    total = sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(d[:12]))
    return (10 - total % 10) % 10 == int(d[12])


# MyKad place-of-birth codes: the states (01-16, 21-59) and the foreign-birth codes.
_MY_PB = set(range(1, 17)) | set(range(21, 60)) | set(range(60, 69)) | {71, 72} | set(range(74, 80)) | set(range(82, 94)) | {98, 99}


def mykad_ok(raw: str) -> bool:
    """YYMMDD-PB-NNNN: a real birth date and a place-of-birth code."""
    d = _digits(raw)
    return len(d) == 12 and _valid_date(int(d[:2]), int(d[2:4]), int(d[4:6])) and int(d[6:8]) in _MY_PB


_NRIC_W = (2, 7, 6, 5, 4, 3, 2)
_NRIC_TABLE = {"S": "JZIHGFEDCBA", "T": "JZIHGFEDCBA", "F": "XWUTRQPNMLK", "G": "XWUTRQPNMLK", "M": "KLJNPQRTUWX"}


def nric_ok(raw: str) -> bool:
    """Singapore NRIC / FIN: prefix letter, 7 digits, check letter (weights 2765432)."""
    s = raw.upper()
    if len(s) != 9 or s[0] not in _NRIC_TABLE or not s[1:8].isdigit():
        return False
    total = sum(int(c) * w for c, w in zip(s[1:8], _NRIC_W)) + {"T": 4, "G": 4, "M": 3}.get(s[0], 0)
    idx = total % 11
    if s[0] == "M":
        return _NRIC_TABLE["M"][10 - idx] == s[8]
    return _NRIC_TABLE[s[0]][idx] == s[8]


# Vietnamese province codes of the 12-digit CCCD (Circular 07/2016/TT-BCA).
_VN_PROVINCES = {1, 2, 4, 6, 8, 10, 11, 12, 14, 15, 17, 19, 20, 22, 24, 25, 26, 27, 30, 31, 33, 34, 35, 36, 37, 38, 40, 42, 44, 45, 46,
                 48, 49, 51, 52, 54, 56, 58, 60, 62, 64, 66, 67, 68, 70, 72, 74, 75, 77, 79, 80, 82, 83, 84, 86, 87, 89, 91, 92, 93, 94, 95, 96}


def cccd_ok(raw: str) -> bool:
    """Vietnamese CCCD: province code, century-and-sex digit, birth year (two digits), serial."""
    d = _digits(raw)
    if len(d) != 12 or int(d[:3]) not in _VN_PROVINCES:
        return False
    century = {0: 1900, 1: 1900, 2: 2000, 3: 2000, 4: 2100, 5: 2100}.get(int(d[3]))
    return century is not None and century + int(d[4:6]) <= date.today().year


def npwp_ok(raw: str) -> bool:
    """Indonesian NPWP: 15 digits (XX.XXX.XXX.X-XXX.XXX); the tax-office part is not 000."""
    d = _digits(raw)
    return len(d) == 15 and d[9:12] != "000" and d[:2] != "00"


def luhn_ok(digits: str) -> bool:
    total, alt = 0, False
    for ch in reversed(digits):
        n = int(ch)
        if alt:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
        alt = not alt
    return total % 10 == 0


CARD_IIN = re.compile(r"^(?:4|5[1-5]|2[2-7]|3[47]|6(?:011|5|4[4-9]|2))")


def philsys_ok(raw: str) -> bool:
    """PhilSys Card Number: 16 digits in groups of four; one that is a valid payment card
    number (network prefix + Luhn) is left to the card recognizer."""
    d = _digits(raw)
    return len(d) == 16 and not (CARD_IIN.match(d) and luhn_ok(d))


def _len_ok(*lengths: int) -> Callable[[str], bool]:
    return lambda raw: len(_digits(raw)) in lengths


@dataclass
class Recognizer:
    """Presidio's PatternRecognizer, reduced: patterns with base scores, context words, a validator."""

    entity: str
    patterns: list[tuple[Pattern, float]]
    context: Pattern | None = None
    validate: Callable[[str], bool] = lambda raw: True
    checked: bool = False   # a checksum, not only a shape: bare values are believed without context
    placeholder: str = field(default="")

    def __post_init__(self) -> None:
        self.placeholder = self.placeholder or f"<{self.entity}>"


def _ctx(*words: str) -> Pattern:
    return re.compile(r"(?i)(?:" + "|".join(words) + r")[^\n]{0," + str(CONTEXT_CHARS) + r"}$")


_B = r"(?<![\w.,\-/])"   # not glued to another number, word or path
_E = r"(?![\w\-/]|[.,]\d)"

RECOGNIZERS: list[Recognizer] = [
    Recognizer("THAI_ID", [(re.compile(_B + r"\d-\d{4}-\d{5}-\d{2}-\d" + _E), 0.85), (re.compile(_B + r"\d \d{4} \d{5} \d{2} \d" + _E), 0.85),
                           (re.compile(_B + r"\d{13}" + _E), 0.45)],
               _ctx(r"เลขประจำตัวประชาชน", r"เลขบัตรประชาชน", r"บัตรประชาชน", r"บัตรประจำตัว", r"เลขประจำตัว", r"thai\s*id", r"national\s*id", r"id\s*card", r"citizen"),
               thai_id_ok, checked=True),
    Recognizer("MYKAD", [(re.compile(_B + r"\d{6}-\d{2}-\d{4}" + _E), 0.8), (re.compile(_B + r"\d{12}" + _E), 0.3)],
               _ctx(r"mykad", r"mypr", r"my\s*kad", r"no\.?\s*k\.?p", r"kad\s*pengenalan", r"nric", r"\bic\b", r"i/c", r"no\.?\s*ic", r"pengenalan"),
               mykad_ok),
    Recognizer("SG_NRIC", [(re.compile(r"(?<![\w])[STFGMstfgm]\d{7}[A-Za-z](?![\w])"), 0.9)],
               _ctx(r"nric", r"fin\b", r"\bic\b", r"identity"), nric_ok, checked=True),
    Recognizer("VN_CCCD", [(re.compile(_B + r"\d{12}" + _E), 0.3), (re.compile(_B + r"\d{3} \d{3} \d{3} \d{3}" + _E), 0.3)],
               _ctx(r"cccd", r"căn\s*cước", r"can\s*cuoc", r"cmnd", r"chứng\s*minh", r"số\s*định\s*danh", r"định\s*danh", r"citizen\s*id"),
               cccd_ok),
    Recognizer("VN_CMND", [(re.compile(_B + r"\d{9}" + _E), 0.1)], _ctx(r"cmnd", r"chứng\s*minh(?:\s*nhân\s*dân)?", r"cmtnd"), _len_ok(9)),
    Recognizer("NPWP", [(re.compile(_B + r"\d{2}\.\d{3}\.\d{3}\.\d-\d{3}\.\d{3}" + _E), 0.85), (re.compile(_B + r"\d{15}" + _E), 0.2)],
               _ctx(r"npwp", r"nomor\s*pokok\s*wajib\s*pajak", r"wajib\s*pajak", r"tax\s*id"), npwp_ok),
    Recognizer("PH_SSS", [(re.compile(_B + r"\d{2}-\d{7}-\d" + _E), 0.75), (re.compile(_B + r"\d{10}" + _E), 0.15)],
               _ctx(r"\bsss\b", r"social\s*security"), _len_ok(10)),
    Recognizer("PH_UMID", [(re.compile(_B + r"\d{4}-\d{7}-\d" + _E), 0.75)], _ctx(r"umid", r"\bcrn\b", r"common\s*reference"), _len_ok(12)),
    Recognizer("PH_PHILSYS", [(re.compile(_B + r"\d{4}-\d{4}-\d{4}-\d{4}" + _E), 0.55), (re.compile(_B + r"\d{4} \d{4} \d{4} \d{4}" + _E), 0.4)],
               _ctx(r"philsys", r"\bpcn\b", r"\bpsn\b", r"philid", r"phil\s*id", r"national\s*id", r"pambansang"), lambda raw: philsys_ok(raw)),
    Recognizer("PH_TIN", [(re.compile(_B + r"\d{3}-\d{3}-\d{3}(?:-\d{3,5})?" + _E), 0.6), (re.compile(_B + r"\d{9}(?:\d{3})?" + _E), 0.1)],
               _ctx(r"\btin\b", r"taxpayer", r"tax\s*identification", r"bir"), _len_ok(9, 12, 13, 14)),
    Recognizer("PASSPORT", [(re.compile(r"(?<![\w])[A-Z]{1,2} ?\d{6,8}[A-Z]?(?![\w])"), 0.2), (re.compile(r"(?<![\w])\d{8,9}(?![\w])"), 0.0)],
               _ctx(r"passport", r"paspor", r"pasaporte", r"pasport", r"hộ\s*chiếu", r"ho\s*chieu", r"หนังสือเดินทาง", r"no\.?\s*paspor"),
               lambda raw: True),
]


def score(rec: Recognizer, base: float, before: str) -> float:
    """Base score, raised by a context word just before, lowered by a look-alike's word."""
    s = base
    if rec.context is not None and rec.context.search(before):
        s += CONTEXT_BOOST if base > 0 else THRESHOLD
    if NEGATIVE_CONTEXT.search(before[-CONTEXT_CHARS:]):
        s -= NEGATIVE_PENALTY
    return s


# Every recognizer's pattern holds six digits or more, each next to the last or one space,
# dot or hyphen away: text without such a run holds no identifier (most text with digits
# has years and counts), so the twenty patterns are not run on it.
CANDIDATE = re.compile(r"\d(?:[ .\-]?\d){5}")


def find_ids(text: str, wanted: set[str] | None = None, taken: bytearray | None = None) -> list[tuple[int, int, str, float]]:
    """(start, end, entity, score) of identifiers at or above THRESHOLD, first recognizer
    winning an overlap (formatted, checksummed types first). `taken`: characters already
    claimed by another detector (non-zero), marked here too."""
    if not CANDIDATE.search(text):
        return []
    taken = taken if taken is not None else bytearray(len(text) + 1)
    out = []
    for rec in RECOGNIZERS:
        if wanted and rec.entity not in wanted:
            continue
        for pattern, base in rec.patterns:
            for m in pattern.finditer(text):
                s, e = m.span()
                if any(taken[s:e]) or not rec.validate(m.group()):
                    continue
                before = text[max(0, s - CONTEXT_CHARS - 40) : s]
                sc = score(rec, base, before)
                if rec.entity == "THAI_ID" and base < 0.5 and ean13_ok(m.group()) and not (rec.context and rec.context.search(before)):
                    sc = 0.0  # a bare 13-digit run that is also a valid EAN-13 is a barcode unless the text says otherwise
                elif rec.checked and base < 0.5 and sc < THRESHOLD and not NEGATIVE_CONTEXT.search(before[-CONTEXT_CHARS:]):
                    sc = THRESHOLD  # the checksum holds: believed without context
                if sc >= THRESHOLD:
                    out.append((s, e, rec.entity, round(sc, 3)))
                    taken[s:e] = b"\x01" * (e - s)
    return out


ID_TYPES = [r.entity for r in RECOGNIZERS]
PLACEHOLDERS = {r.entity: r.placeholder for r in RECOGNIZERS}
