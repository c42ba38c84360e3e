"""PII planted into real FLORES sentences (Indonesian, Tagalog, Vietnamese, Thai) is
redacted with recall >= 0.95 per type; ordinary numbers (prices, years, dates, times,
quantities, the sentences' own numbers) are left alone."""

from __future__ import annotations

import random
import re
import subprocess
import sys

import pytest

from curation_platform.pii import find_pii, luhn_ok, nik_ok, redact

LANGS = {"ind_Latn": "ind", "tgl_Latn": "tgl", "vie_Latn": "vie", "tha_Thai": "tha"}


def _luhn_complete(prefix: str, length: int, rng: random.Random) -> str:
    body = prefix + "".join(str(rng.randrange(10)) for _ in range(length - len(prefix) - 1))
    for d in "0123456789":
        if luhn_ok(body + d):
            return body + d
    raise AssertionError


def _nik(rng: random.Random) -> str:
    day = rng.randrange(1, 29) + (40 if rng.random() < 0.5 else 0)
    return f"{rng.randrange(11, 95):02d}{rng.randrange(1, 80):02d}{rng.randrange(1, 40):02d}{day:02d}{rng.randrange(1, 13):02d}{rng.randrange(50, 100):02d}{rng.randrange(1, 9999):04d}"


def _phone(lang: str, rng: random.Random) -> str:
    d = lambda n: "".join(str(rng.randrange(10)) for _ in range(n))  # noqa: E731
    return rng.choice({
        "ind": [f"08{rng.randrange(11, 99)}-{d(4)}-{d(4)}", f"+62 8{rng.randrange(11, 99)} {d(4)} {d(4)}", f"(021) {d(3)}-{d(4)}", f"08{rng.randrange(11, 99)}{d(8)}"],
        "tgl": [f"09{d(2)} {d(3)} {d(4)}", f"+63 9{d(2)} {d(3)} {d(4)}", f"0917-{d(3)}-{d(4)}"],
        "vie": [f"09{d(1)} {d(3)} {d(4)}"[:4] + f"{d(1)} {d(3)} {d(3)}", f"+84 9{d(2)} {d(3)} {d(3)}", f"03{d(1)}.{d(3)}.{d(4)}"],
        "tha": [f"08{d(1)}-{d(3)}-{d(4)}", f"+66 8{d(1)} {d(3)} {d(4)}", f"02-{d(3)}-{d(4)}"],
    }[lang])


def _value(kind: str, lang: str, rng: random.Random) -> str:
    if kind == "EMAIL":
        return rng.choice(["budi.santoso", "maria_cruz", "nguyen.van.an", "somchai99", "cs-team"]) + f"{rng.randrange(100)}@" + rng.choice(["gmail.com", "yahoo.co.id", "company.com.ph", "fpt.vn", "mail.co.th"])
    if kind == "PHONE":
        return _phone(lang, rng)
    if kind == "CARD":
        raw = _luhn_complete(rng.choice(["4", "51", "55", "37"]), 16 if rng.random() < 0.8 else 15, rng)
        return " ".join(raw[i : i + 4] for i in range(0, len(raw), 4)) if rng.random() < 0.5 else "-".join(raw[i : i + 4] for i in range(0, len(raw), 4))
    if kind == "NIK":
        return _nik(rng)
    if kind == "IP":
        return ".".join(str(rng.randrange(1, 255)) for _ in range(4)) if rng.random() < 0.8 else f"2001:db8:{rng.randrange(1, 9999):x}::{rng.randrange(1, 999):x}"
    return f"https://{rng.choice(['admin', 'root', 'svc'])}:{rng.randrange(10**6)}pw@{rng.choice(['db', 'crm', 'erp'])}.internal.example.com/export"


TEMPLATES = {
    "ind": ["Hubungi {v} untuk info.", "Data: {v}.", "({v})"],
    "tgl": ["Makipag-ugnayan sa {v} para sa detalye.", "Ito ay {v}, salamat."],
    "vie": ["Liên hệ {v} để biết thêm.", "Thông tin: {v}."],
    "tha": ["ติดต่อ {v} ได้ทุกวัน", "ข้อมูล {v} ครับ"],
}
KINDS = ["EMAIL", "PHONE", "CARD", "NIK", "IP", "URL_CREDENTIALS"]


@pytest.fixture(scope="module")
def planted(flores):
    rng = random.Random(7)
    cases = []
    for code, lang in LANGS.items():
        sents = flores(code)
        for i in range(60):
            kind = KINDS[i % len(KINDS)] if lang == "ind" or KINDS[i % len(KINDS)] != "NIK" else "PHONE"
            value = _value(kind, lang, rng)
            text = sents[i] + " " + rng.choice(TEMPLATES[lang]).format(v=value)
            cases.append((lang, kind, value, text, sents[i]))
    return cases


def test_planted_pii_recall_per_type(planted):
    found: dict[str, list[bool]] = {}
    for _, kind, value, text, _ in planted:
        clean, _ = redact(text)
        found.setdefault(kind, []).append(value not in clean and f"<{kind}>" in clean)
    recall = {k: sum(v) / len(v) for k, v in found.items()}
    print("recall per type:", recall)
    assert all(r >= 0.95 for r in recall.values()), recall
    assert sum(sum(v) for v in found.values()) / sum(len(v) for v in found.values()) >= 0.97


def test_the_sentences_themselves_are_untouched(planted):
    """FLORES sentences carry years, prices, quantities and dates: none of it is an
    identifier or contact datum (names of the people in the news are, by design: see below)."""
    from curation_platform.pii import WEB_TYPES

    touched = [s for *_, s in planted if find_pii(s, WEB_TYPES)]
    assert len(touched) <= 2, touched  # at most a stray false positive in 240 real sentences
    named = [s for *_, s in planted if find_pii(s)]
    assert all({k for *_, k in find_pii(s)} <= {"NAME", "ADDRESS"} for s in named)
    assert len(named) <= 12, named  # "Dr. Ehud Ur", "Ông ...": titled names of real people


@pytest.mark.parametrize("text", [
    "Harga Rp 1.500.000 atau Rp 250.000 per bulan sejak tahun 2024.",
    "Presyo: ₱2,500.00 noong 2023; 1,250 katao ang dumalo.",
    "Giá 150.000 đồng, ngày 25/11/2026 lúc 10:30:00, dân số 98.000.000 người.",
    "ราคา 1,200 บาท ปี 2567 เวลา 10.30 น. จำนวน 3,456 คน",
    "Population 270,000,000; GDP grew 5.2% in 1998; order #20240115; version 1.2.3.",
])
def test_ordinary_numbers_stay(text):
    assert redact(text)[0] == text


def test_checksums_and_structure():
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")
    assert nik_ok("3201014508900003") and not nik_ok("3201019908900003")  # day 99 - 40 = 59: no such day
    clean, counts = redact("kartu 4111 1111 1111 1112 bukan kartu, 4111 1111 1111 1111 kartu")
    assert clean == "kartu 4111 1111 1111 1112 bukan kartu, <CARD> kartu" and counts == {"CARD": 1}


def test_curate_redact_cli():
    lines = "Email budi@contoh.co.id, HP 0812-3456-7890\nHarga Rp 250.000 tahun 2025\n"
    out = subprocess.run([sys.executable, "-m", "curation_platform.cli", "redact", "--stats"], input=lines, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "Email <EMAIL>, HP <PHONE>\nHarga Rp 250.000 tahun 2025\n"
    assert re.search(r"EMAIL=1 PHONE=1", out.stderr)
