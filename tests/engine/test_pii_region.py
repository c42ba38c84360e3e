"""PII of the region (issue 18): national identifiers validated by checksum or structure,
names and addresses in five languages, look-alike numbers left alone, typed placeholders
and salted pseudonyms, every corpus's release redacted, and the LLM backend on a real
llama.cpp server. Values are planted into real FLORES sentences."""

from __future__ import annotations

import json
import random

import polars as pl
import pytest

from curation_platform.pii import WEB_TYPES, corpus_types, expand_types, find_pii, redact
from curation_platform.pii.ids import mykad_ok, nric_ok, thai_id_ok
from curation_platform.pii.plant import ADDRESS_INTRO, ADDRESSES, FIRST, IDS, LAST, LOOKALIKES, NAMES, STREETS, THAI_NAMES
from tests.conftest import scoped_env

FLORES = {"ind": "ind_Latn", "zsm": "zsm_Latn", "tgl": "tgl_Latn", "vie": "vie_Latn", "tha": "tha_Thai", "eng": "eng_Latn"}


@pytest.fixture(scope="module")
def base(flores):
    return {lang: flores(code)[500:] for lang, code in FLORES.items()}


@pytest.mark.parametrize("kind", sorted(IDS))
def test_each_identifier_is_redacted_with_its_type(kind, base):
    rng = random.Random(kind)
    gen, templates = IDS[kind]
    found = typed = 0
    for _ in range(40):
        lang = rng.choice(sorted(templates))
        value = gen(rng)
        out, counts = redact(f"{rng.choice(base[lang])} {rng.choice(templates[lang]).format(value)}.")
        found += value not in out
        typed += counts.get(kind, 0) > 0
    assert found >= 38 and typed >= 36, (kind, found, typed)


def test_validators_reject_a_wrong_check_digit():
    assert sum(thai_id_ok(f"110170020753{d}") for d in "0123456789") == 1  # one check digit of ten
    assert sum(nric_ok(f"S1234567{c}") for c in "ABCDEFGHIJZ") == 1
    assert mykad_ok("900101-14-5678") and not mykad_ok("901301-14-5678") and not mykad_ok("900101-00-5678")
    bad = next(f"110170020753{d}" for d in "0123456789" if not thai_id_ok(f"110170020753{d}"))
    assert "<THAI_ID>" not in redact(f"เลขบัตรประชาชน {bad}")[0]


def test_the_prefilters_never_hide_pii(base, monkeypatch):
    """`ids.CANDIDATE` and the detectors' gates only skip work: with them and without them,
    the same spans, on planted values, look-alikes and random runs of digits, separators,
    e-mail and URL pieces and context words."""
    import curation_platform.pii as pii
    from curation_platform.pii import ids

    rng = random.Random(5)
    texts = []
    for kind, (gen, templates) in sorted(IDS.items()):
        for _ in range(30):
            lang = rng.choice(sorted(templates))
            texts.append(f"{rng.choice(base[lang])} {rng.choice(templates[lang]).format(gen(rng))}.")
    texts += [LOOKALIKES[k](rng) for k in sorted(LOOKALIKES) for _ in range(30)]
    contact = ["+62 812-3456-7890", "0812 3456 7890", "(021) 555-1234", "+63 917 123 4567", "192.168.10.25", "2001:db8:85a3::8a2e:370:7334",
               "4111 1111 1111 1111", "5500-0000-0000-0004", "https://user:pass@example.com/x", "a.b@mail.co.id"]
    texts += [f"{rng.choice(base[lang])} {value}." for value in contact for lang in sorted(base)]
    pieces = [*"0123456789", " ", "-", ".", "/", ",", "(", ")", "+", ":", "@", "S", "A", "ab", "๑", "NIK ", "passport ", "CMND: ", "npwp ",
              "mykad ", "sss ", "tin ", "tel ", "hp ", "user@", "mail.co.id", "https://", "u:p@"]
    texts += ["".join(rng.choice(pieces) for _ in range(rng.randint(5, 40))) for _ in range(4000)]
    texts += [t for lang in sorted(base) for t in base[lang][:200]]
    ids_with, pii_with = [ids.find_ids(t) for t in texts], [find_pii(t) for t in texts]
    skipped = sum(not ids.CANDIDATE.search(t) for t in texts)
    gated = {d.kind: sum(not d.gate(t) for t in texts) for d in pii._DETECTORS}
    monkeypatch.setattr(ids, "CANDIDATE", __import__("re").compile(""))
    monkeypatch.setattr(pii, "_DETECTORS", [d._replace(gate=lambda t: True) for d in pii._DETECTORS])
    assert [ids.find_ids(t) for t in texts] == ids_with
    assert [find_pii(t) for t in texts] == pii_with
    found = {kind for spans in pii_with for _, _, kind in spans}
    assert {"EMAIL", "PHONE", "IP", "CARD", "NIK", "URL_CREDENTIALS"} <= found, found  # every gated detector fires somewhere
    assert sum(map(bool, ids_with)) > 300 and skipped > 1000 and min(gated.values()) > 500  # and each gate closes often


@pytest.mark.parametrize("kind", sorted(LOOKALIKES))
def test_look_alike_numbers_stay(kind, base):
    rng = random.Random(kind)
    destroyed = 0
    for _ in range(100):
        phrase = LOOKALIKES[kind](rng)
        destroyed += phrase not in redact(f"{rng.choice(base[rng.choice(sorted(base))])} {phrase}.")[0]
    assert destroyed <= 2, (kind, destroyed)


@pytest.mark.parametrize("lang", sorted(NAMES))
def test_names_and_addresses_in_five_languages(lang, base):
    rng = random.Random(lang)
    names = addrs = 0
    for _ in range(40):
        name = rng.choice(THAI_NAMES) if lang == "tha" else f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        out = redact(f"{rng.choice(base[lang])} {rng.choice(NAMES[lang]).format(name)}")[0]
        names += all(part not in out for part in name.split())
        street, n, pc = rng.choice(STREETS), rng.randrange(1, 300), f"{rng.randrange(10000, 99999)}"
        addr = rng.choice(ADDRESSES[lang]).format(street=street, n=n, pc5=pc, pc4=pc[:4])
        out = redact(f"{rng.choice(base[lang])} {ADDRESS_INTRO[lang].format(addr)}")[0]
        addrs += "<ADDRESS>" in out and pc not in out and pc[:4] not in out
    assert names >= 32 and addrs >= 32, (lang, names, addrs)


def test_clean_sentences_of_every_language_are_untouched(data_dir):
    clean = [s for p in sorted((data_dir / "flores200" / "devtest").glob("*.devtest")) for s in p.read_text("utf-8").splitlines()[506:] if s.strip()]
    assert sum(redact(s, WEB_TYPES)[0] != s for s in clean) <= len(clean) * 0.001
    assert sum(redact(s)[0] != s for s in clean) <= len(clean) * 0.005  # names of people in the news, by design


def test_pseudonyms_are_consistent_and_need_a_secret_salt():
    text = "Nama saya Budi Santoso. Budi Santoso tinggal di Bandung, NIK 3273012501900003. Ibu Siti Rahayu juga."
    with pytest.raises(RuntimeError, match="CURATION_PII_SALT"):
        with scoped_env(CURATION_PII_SALT=None):
            redact(text, pseudonymize=True)
    with scoped_env(CURATION_PII_SALT="one"):
        a, counts = redact(text, pseudonymize=True)
    with scoped_env(CURATION_PII_SALT="two"):
        b, _ = redact(text, pseudonymize=True)
    first = a.split("Nama saya ")[1].split(".")[0]
    assert first.startswith("<NAME_") and a.count(first) == 2 and counts["NAME"] == 3  # the same person twice, one pseudonym
    assert "Budi" not in a and "3273012501900003" not in a and a != b  # another salt, other pseudonyms


def test_types_per_corpus_and_groups():
    from curation_platform.settings import load_config

    cfg = load_config()
    assert "NAME" not in corpus_types(cfg, "web_crawl") and "THAI_ID" in corpus_types(cfg, "web_crawl")
    assert "NAME" in corpus_types(cfg, "business") and "ADDRESS" in corpus_types(cfg, "business")
    assert expand_types(["contact"]) == ["EMAIL", "PHONE"]
    with pytest.raises(ValueError, match="unknown PII type"):
        expand_types(["SSN"])


def test_every_release_is_redacted_with_counts(tmp_path, flores):
    """Web-crawl documents through label -> dedup -> construct: the released text carries
    placeholders, the raw values are nowhere in the release, and the manifest and card count them."""
    from curation_platform.label import label_frame
    from curation_platform.pipeline import construct_corpus, dedup_corpus
    from curation_platform.settings import load_config
    from curation_platform.storage import write_parquet

    cfg = load_config()
    sents = flores("ind_Latn")
    values = ["budi.santoso@example.co.id", "3273012501900003", "01.234.567.8-901.234"]
    docs = []
    for i in range(12):
        body = "\n".join(sents[i * 8 : i * 8 + 8])
        if i < 3:
            body += f"\nHubungi {values[0]} atau NIK {values[1]}, NPWP {values[2]}."
        docs.append({"id": f"d{i}", "text": body, "corpus": "web_crawl", "source": "s", "locator": f"u{i}", "license": "cc-by"})
    labelled = label_frame(pl.DataFrame(docs), cfg)
    write_parquet(labelled, tmp_path / "lab.parquet")
    dedup_corpus([tmp_path / "lab.parquet"], tmp_path / "dedup.parquet", cfg)
    manifest, _ = construct_corpus([tmp_path / "lab.parquet"], tmp_path / "dedup.parquet", tmp_path / "release", cfg)
    released = pl.read_parquet(tmp_path / "release" / "current" / "ind_Latn" / "*.parquet")
    text = "\n".join(released["text"].to_list())
    assert all(v not in text for v in values) and text.count("<EMAIL>") == 3 and text.count("<NPWP>") == 3
    assert manifest["pii_redacted"]["ind_Latn"] == {"EMAIL": 3, "NIK": 3, "NPWP": 3}
    card = (tmp_path / "release" / "current" / "README.md").read_text()
    assert "## PII redacted in this release" in card and "| ind_Latn | 3 | 3 | 3 |" in card
    assert json.loads((tmp_path / "release" / "current" / "manifest.json").read_text())["pii_redacted"]


def test_parallel_release_is_redacted(tmp_path, data_dir):
    from curation_platform.bitext import construct_bitext, dedup_bitext, label_bitext_frame
    from curation_platform.label import identifier_from_config
    from curation_platform.settings import load_config
    from curation_platform.storage import write_parquet

    cfg = load_config()
    rows = [ln.split("\t")[:2] for ln in (data_dir / "parallel" / "ntrex128" / "eng-ind.tsv").read_text("utf-8").splitlines()[:30]]
    rows[0] = [rows[0][0] + " Call +62 812 3456 7890.", rows[0][1] + " Hubungi +62 812 3456 7890."]
    df = pl.DataFrame({"pair_id": [f"p{i}" for i in range(len(rows))], "src_text": [r[0] for r in rows], "tgt_text": [r[1] for r in rows],
                       "src_lang": ["eng_Latn"] * len(rows), "tgt_lang": ["ind_Latn"] * len(rows), "source": ["ntrex"] * len(rows),
                       "locator": [str(i) for i in range(len(rows))], "license": ["cc-by-sa"] * len(rows), "score": [None] * len(rows)})
    write_parquet(label_bitext_frame(df, cfg, identifier_from_config(cfg)), tmp_path / "lab.parquet")
    dedup_bitext([tmp_path / "lab.parquet"], tmp_path / "dd.parquet", cfg)
    manifest = construct_bitext([tmp_path / "lab.parquet"], tmp_path / "dd.parquet", tmp_path / "rel", cfg)
    pairs = pl.read_parquet(tmp_path / "rel" / "current" / "eng_Latn-ind_Latn" / "pairs.parquet")
    assert not pairs.filter(pl.col("src_text").str.contains("3456") | pl.col("tgt_text").str.contains("3456")).height
    assert manifest["pii_redacted"]["eng_Latn-ind_Latn"] == {"PHONE": 2}


def test_llm_backend_finds_names_through_the_same_interface(llm_server, tmp_path):
    """The model backend on a real llama.cpp server (Gemma 3 270M): it may add names, never
    spans that are not in the text, and the rules' names stay found."""
    from curation_platform.llm import LLMClient, LLMSettings
    from curation_platform.pii.names import LLMNameFinder, find_names

    client = LLMClient(LLMSettings(base_url=llm_server, model="gemma-3-270m", temperature=0.0, max_tokens=32, concurrency=2), cache_path=tmp_path / "c.sqlite")
    finder = LLMNameFinder(client)
    texts = ["Nama saya Budi Santoso dan saya guru.", "Kemarin Siti Rahayu pergi ke pasar bersama Ahmad.", "Harga cabai naik 10 persen."]
    spans = finder.many(texts)
    for text, found in zip(texts, spans):
        assert set(find_names(text)) <= set(found)
        assert all(0 <= s < e <= len(text) and text[s:e][0].isupper() for s, e in found)
    out, counts = redact(texts[0], ["NAME"], names=finder)
    assert "Budi Santoso" not in out and counts["NAME"] >= 1


def test_curate_redact_with_the_llm_backend(llm_server):
    import subprocess
    import sys
    from pathlib import Path

    curate = str(Path(sys.executable).parent / "curate")
    out = subprocess.run([curate, "redact", "--llm-url", llm_server, "--types", "people,identifiers", "--stats"],
                         input="Nama saya Budi Santoso, NIK 3273012501900003.\n", capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "Nama saya <NAME>, NIK <NIK>.\n" and "NAME=1" in out.stderr
