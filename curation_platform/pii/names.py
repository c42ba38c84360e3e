"""Person names and street addresses in the languages of the region, by context.

Names are found where the text says a name follows: an honorific (Bapak/Ibu, Encik/Puan,
G./Gng., นาย/นาง/นางสาว, Anh/Chị ...) or a self-introduction ("Nama saya", "Ang
pangalan ko ay", "Tôi tên là", "ผมชื่อ", "atas nama" ...), then one to four name
words (capitalised words; for Thai, the script's words up to the next space pair).
Addresses start at a street or administrative word (Jl./Jalan, Phố/Đường, ถนน, Barangay,
Lorong ...) and run over the address-like words after it, through a postcode.
A model backend (NER or an LLM) plugs in behind the same function signature
(`pii.redact(..., backend=...)`); the rules here are the default, offline and fast."""

from __future__ import annotations

import regex

# Honorifics and titles that precede a person's name (case-sensitive where a lower-case
# form is an ordinary word: "bu" / "pak" inside sentences).
_HONORIFIC = (
    r"Bapak|Bpk\.?|Pak|Ibu|Bu|Sdr\.?|Sdri\.?|Saudara|Saudari|Nyonya|Ny\.|Tuan|Nona|"          # Indonesian
    r"Encik|Cik|Puan|Datuk|Dato'?|Datin|Tan Sri|Puan Sri|Haji|Hajah|"                         # Malay
    r"G\.|Gng\.|Bb\.|Ginoong|Ginang|Binibini|Gat|"                                             # Filipino
    r"Mr\.?|Mrs\.?|Ms\.?|Miss|Dr\.?|Prof\.?|"                                                  # English
    r"Ông|Bà|Anh|Chị|Cô|Chú|Bác|Em"                                                            # Vietnamese
)
_INTRO = (
    r"(?i:nama\s+saya(?:\s+adalah|\s+ialah)?|saya\s+bernama|atas\s+nama|a\.n\.|nama\s+lengkap(?:\s+saya)?|nama\s*:|"
    r"ang\s+pangalan\s+ko\s+ay|pangalan\s+ko\s+ay|ako\s+si|ako\s+po\s+si|"
    r"tôi\s+tên\s+là|tên\s+tôi\s+là|tôi\s+là|họ\s+và\s+tên\s*:?|họ\s+tên\s*:?|"
    r"my\s+name\s+is|name\s*:)"
)
# a name word: capitalised (Latin with diacritics), possibly hyphenated or with an apostrophe
_NAME_WORD = r"\p{Lu}(?:[\p{Ll}\p{M}'’\-]+|\.)"  # a word, or an initial
_NAME = rf"(?:{_NAME_WORD})(?:\s+(?:bin|binti|bt\.?|b\.|de|del|dela|dela\s+Cruz|van|von|{_NAME_WORD})){{0,3}}"
_LATIN_NAME = regex.compile(rf"(?<![\p{{L}}])(?:(?:{_HONORIFIC})\s+|{_INTRO}\s+)(?P<name>{_NAME})")
# Thai: a self-introduction then a name, or a title then a first name and a surname (one
# space between them); a title alone is too common ("800,000 นาย" counts soldiers,
# "นายกรัฐมนตรี" is the prime minister's office) to stand for a name without its surname.
_THAI_NAME = regex.compile(
    r"(?:ผมชื่อ|ฉันชื่อ|ดิฉันชื่อ|หนูชื่อ|กระผมชื่อ)\s*(?P<name>[\p{Thai}]{2,}(?:\s[\p{Thai}]{2,})?)"
    r"|(?<![\d,]\s?)(?:นางสาว|นาง|นาย|ด\.ช\.|ด\.ญ\.|เด็กชาย|เด็กหญิง)\s?(?P<name2>[\p{Thai}]{2,}\s[\p{Thai}]{2,})"
)
_THAI_STOP = regex.compile(r"(ครับ|ค่ะ|คะ|นะ|และ|ที่|เป็น|อยู่|จะ|ได้|มา|ไป)$")

# words that start an address (capitalised: lower-case "jalan", "đường", "phố", "xã" are
# ordinary words); a house number before a lower-case Vietnamese street word also starts one
_STREET = (
    r"Jl\.|Jln\.|Jalan|Gg\.|Gang|Lorong|Lrg\.|Persiaran|Lebuh|Kg\.|Perumahan|Komplek|Kompleks|Blok|"
    r"Phố|Đường|Ngõ|Hẻm|Số\s+nhà|(?<=\d\s)(?:phố|đường|ngõ|hẻm)|"
    r"Barangay|Brgy\.?|Bgy\.|Purok|Sitio"
)
_STREET_SUFFIX = r"Street|St\.|Avenue|Ave\.|Road|Rd\.|Boulevard|Blvd\."
# address words that may follow the street name
_ADDR_WORD = (
    r"No\.?|Nomor|RT|RW|Kel\.|Kelurahan|Kec\.|Kecamatan|Kab\.|Kabupaten|Kota|Provinsi|Prov\.|Daerah|Negeri|Mukim|Seksyen|"
    r"Phường|phường|Quận|quận|Huyện|huyện|Tỉnh|tỉnh|Thành\s+phố|thành\s+phố|TP\.|Tp\.|P\.|Q\.|"
    r"City|Province|Municipality|Bldg\.|Unit|Floor|Flr\.|Lot|Blk\.?|Phase|Village|Subd\.|Subdivision"
)
_TOKEN = rf"(?:{_ADDR_WORD}|\p{{Lu}}[\p{{L}}\p{{M}}'’.\-]*|\d+[A-Za-z]?(?:[/\-]\d+[A-Za-z]?)*|[IVX]+)"
_TAIL = rf"(?:[ ,]+(?:{_TOKEN}|dan\s+|and\s+)){{0,14}}(?:[ ,]+\d{{4,6}})?"
_LATIN_ADDR = regex.compile(rf"(?<![\p{{L}}\d])(?:\d+[A-Za-z]?(?:/\d+[A-Za-z]?)*\s+)?(?:{_STREET})\s+{_TOKEN}{_TAIL}"
                            # "12 Rizal Street, Barangay ...": a house number, a name, a street type
                            rf"|(?<![\p{{L}}\d])\d+[A-Za-z]?\s+(?:\p{{Lu}}[\p{{L}}\p{{M}}'’.\-]*\s+){{1,3}}(?:{_STREET_SUFFIX}){_TAIL}"
                            rf"|(?<![\p{{L}}\d])(?:\p{{Lu}}[\p{{L}}\p{{M}}'’.\-]*\s+){{1,3}}(?:{_STREET_SUFFIX}),{_TAIL}")
_THAI_ADDR = regex.compile(
    r"(?:เลขที่\s*\d[\d/]*\s*)?(?:หมู่(?:ที่)?\s*\d+\s*)?(?:ซอย|ซ\.|ถนน|ถ\.)\s*\S+(?:\s*(?:ถนน|ถ\.|แขวง|ตำบล|ต\.|เขต|อำเภอ|อ\.|จังหวัด|จ\.)\s*[\p{Thai}]+){0,5}(?:(?:\s*[\p{Thai}]+)?\s*\d{5})?"
    r"|(?:แขวง|ตำบล|ต\.)\s*[\p{Thai}]+(?:\s*(?:เขต|อำเภอ|อ\.|จังหวัด|จ\.)\s*[\p{Thai}]+){1,3}(?:(?:\s*[\p{Thai}]+)?\s*\d{5})?"
)


def find_names(text: str) -> list[tuple[int, int]]:
    """Spans of person names (the name words only, the honorific stays)."""
    out = []
    for m in _LATIN_NAME.finditer(text):
        s, e = m.span("name")
        name = m.group("name").rstrip(".")
        out.append((s, s + len(name)))
    for m in _THAI_NAME.finditer(text):
        group = "name" if m.group("name") else "name2"
        name = m.group(group)
        # the name ends where a particle or verb begins (Thai has no spaces between words)
        trimmed = _THAI_STOP.sub("", name)
        if len(trimmed) >= 2:
            s = m.start(group)
            out.append((s, s + len(trimmed)))
    return out


def find_addresses(text: str) -> list[tuple[int, int]]:
    """Spans of street addresses (street word through postcode)."""
    out = []
    for pattern in (_LATIN_ADDR, _THAI_ADDR):
        for m in pattern.finditer(text):
            s, e = m.span()
            span = text[s:e].rstrip(" ,.")
            if len(span) >= 6:
                out.append((s, s + len(span)))
    return out


FEW_SHOT = (
    "List the person names in each text, separated by ' | ', or 'none'.\n\n"
    "Text: Nama saya Budi Santoso dan saya tinggal di Bandung.\nNames: Budi Santoso\n\n"
    "Text: Harga beras naik lagi minggu ini.\nNames: none\n\n"
    "Text: Ang pangalan ko ay Maria Reyes.\nNames: Maria Reyes\n\n"
    "Text: {text}\nNames:"
)


class LLMNameFinder:
    """The model backend behind `find_names`'s signature: an OpenAI-compatible completions
    server (llama.cpp, vLLM, a hosted API) lists the names; a listed name counts only where
    it occurs verbatim in the text, so the model can add recall but never invent a span.
    Off by default (`pii.backend: rules`); answers are cached by prompt hash."""

    def __init__(self, client, max_chars: int = 1500):
        self.client, self.max_chars = client, max_chars

    def __call__(self, text: str) -> list[tuple[int, int]]:
        return self.many([text])[0]

    def many(self, texts: list[str]) -> list[list[tuple[int, int]]]:
        from curation_platform.llm import Request

        reqs = [Request(FEW_SHOT.format(text=t[: self.max_chars].replace("\n", " ")), temperature=0.0, max_tokens=32, stop=("\n",)) for t in texts]
        out = []
        for text, done in zip(texts, self.client.generate(reqs)):
            names = [n.strip(" .,;") for n in done.text.split("|")]
            spans = []
            for name in names:
                if len(name) < 3 or name.lower() == "none" or not name[:1].isupper():
                    continue
                for m in regex.finditer(r"(?<!\p{L})" + regex.escape(name) + r"(?!\p{L})", text):
                    spans.append(m.span())
            out.append(sorted(set(find_names(text)) | set(spans)))
        return out
