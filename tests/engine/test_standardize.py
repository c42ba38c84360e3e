"""Standardize: legacy code pages, mojibake, NFC, control characters, boilerplate."""

from __future__ import annotations

import re
import unicodedata

import polars as pl
import pytest

from curation_platform.settings import load_config
from curation_platform.standardize import BoilerplateFilter, decode_bytes, normalize_text, standardize_frame

# legacy file -> (UTF-8 edition, encodings we accept as correct)
LEGACY = {
    "French_Francais-Latin1": ("fra", {"cp1252", "iso8859-1", "latin-1"}),
    "Hungarian_Magyar-Latin2": ("hun", {"cp1250", "iso8859-2"}),
    "Czech_Cesky-Latin2": ("ces", {"cp1250"}),
    "Russian-Cyrillic": ("rus", {"cp1251"}),
    "Arabic_Alarabia-Arabic": ("arb", {"cp1256"}),
    "Japanese_Nihongo-SJIS": ("jpn", {"cp932", "shift_jis"}),
    "Chinese_Mandarin-GB2312": ("cmn_hans", {"gb18030", "gb2312", "gbk"}),
}


def _letters(text: str) -> list[str]:
    return [c for c in text if not c.isascii() and c.isalpha()]


@pytest.mark.parametrize("name", sorted(LEGACY))
def test_legacy_udhr_decodes_to_its_utf8_edition(data_dir, name):
    ref_name, good = LEGACY[name]
    text, enc = decode_bytes((data_dir / "udhr/legacy" / name).read_bytes())
    text, _ = normalize_text(text)
    ref = (data_dir / "udhr/utf8" / f"{ref_name}.txt").read_text("utf-8")
    letters = _letters(text)
    # Similarity: share of decoded non-ASCII letters that occur in the UTF-8 edition
    # (1.0 = every accented/non-Latin letter decoded to a real letter of the language).
    share = sum(c in set(_letters(ref)) for c in letters) / len(letters)
    print(f"{name}: {enc} letters={len(letters)} share={share:.3f}")
    assert enc in good
    assert share >= 0.99
    if ref_name not in ("jpn", "cmn_hans"):  # spaced scripts: most words are the edition's words too
        words = set(re.findall(r"\w+", text.lower()))
        assert len(words & set(re.findall(r"\w+", ref.lower()))) / len(words) >= 0.95


def test_tcvn3_vietnamese_is_not_silently_mislabelled(data_dir):
    """TCVN3 has no codec in Python or charset-normalizer: we report it, we do not guess."""
    _, enc = decode_bytes((data_dir / "udhr/legacy/Vietnamese-TCVN").read_bytes())
    assert enc == "utf-8/replace"


def test_declared_charset_wins_over_detection():
    text = "Всеобщая декларация прав человека"
    assert decode_bytes(text.encode("cp1251"), "windows-1251") == (text, "cp1251")
    html = b"<html><head><meta charset='cp874'></head><body>" + "ภาษาไทย".encode("cp874") + b"</body></html>"
    out, enc = decode_bytes(html)
    assert enc == "cp874" and "ภาษาไทย" in out


def test_mojibake_nfc_control_and_whitespace_are_fixed_and_recorded():
    original = "Người dân Việt Nam rất thân thiện."
    broken = original.encode("utf-8").decode("latin-1")  # classic double-encoding
    fixed, changes = normalize_text(broken)
    assert fixed == original and "mojibake" in changes
    decomposed = unicodedata.normalize("NFD", "Phở bò Hà Nội")
    fixed, changes = normalize_text(decomposed + "\x00\x07  \t trailing   \r\n\n\n\nnext")
    assert fixed == "Phở bò Hà Nội trailing\n\nnext"
    assert {"nfc", "control_chars", "whitespace"} <= set(changes)


def test_boilerplate_lines_removed_by_pattern_and_by_repetition():
    cfg = load_config()["standardize"]
    bp = BoilerplateFilter(cfg["boilerplate_patterns"], cfg["short_line_chars"], cfg["repeated_line_min_docs"])
    docs = [f"Beranda\nBerita Utama Hari Ini\nArtikel nomor {i} tentang pertanian padi di desa.\nKami menggunakan cookie. Dengan melanjutkan Anda setuju dengan kebijakan kami." for i in range(4)]
    repeated = bp.repeated_lines(docs)
    assert "Berita Utama Hari Ini" in repeated
    cleaned, dropped = bp.clean(docs[0], repeated)
    assert cleaned == "Artikel nomor 0 tentang pertanian padi di desa."
    assert dropped == 3


def test_standardize_frame_keeps_rows_and_records_changes():
    df = pl.DataFrame({"id": ["a", "b"], "text": ["Caf\u00c3\u00a9 au lait est tr\u00c3\u00a8s bon.", "plain ascii text"]})
    out = standardize_frame(df, load_config()["standardize"])
    assert out.height == 2 and out["id"].to_list() == ["a", "b"]
    assert out["text"][0] == "Café au lait est très bon."
    assert out["std_changes"].to_list() == [["mojibake"], []]


def test_mojibake_shortcut_agrees_with_ftfy(flores, flores_codes):
    """Text without any character mojibake is made of skips ftfy's regex; on clean FLORES
    text of every language and on its mojibake through every code page ftfy knows, the
    verdict is ftfy's own."""
    import ftfy
    from ftfy.chardata import CHARMAP_ENCODINGS

    from curation_platform.standardize import _MOJIBAKE_CHARS, might_be_mojibake

    assert _MOJIBAKE_CHARS is not None  # the installed ftfy has the shape the shortcut needs
    bad = 0
    for code in flores_codes:
        for line in flores(code)[:15]:
            assert might_be_mojibake(line) == ftfy.is_bad(line), (code, line)
            for enc in CHARMAP_ENCODINGS:
                broken = line.encode("utf-8").decode(enc.replace("sloppy-", ""), errors="replace")
                assert might_be_mojibake(broken) == ftfy.is_bad(broken), (code, enc, broken)
                bad += ftfy.is_bad(broken)
    assert bad > 1000
