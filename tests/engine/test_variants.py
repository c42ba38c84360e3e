"""Script variants, dialect tags and code-switch routing in the label stage, on real
text: UDHR in Jawi, Baybayin and traditional Chinese; FLORES Tagalog + English mixes."""

from __future__ import annotations

import random

import polars as pl
import pytest

from curation_platform.label import label_frame
from curation_platform.langid import LanguageIdentifier, flores_code
from curation_platform.settings import load_config
from curation_platform.variants import compile_dialects, dialect_tag, jawi_share, script_language


@pytest.fixture(scope="module")
def ident():
    return LanguageIdentifier()


def _udhr(data_dir, name: str, chars: int = 3000) -> str:
    lines = (data_dir / "udhr" / "utf8" / f"{name}.txt").read_text("utf-8").splitlines()
    return " ".join(ln.strip() for ln in lines if len(ln.strip()) > 40)[:chars]


def test_udhr_scripts_get_their_script_variant_codes(data_dir, ident):
    names = ["mly_arab", "mly_latn", "tgl_tglg", "tgl", "cmn_hans", "cmn_hant", "arb", "urd", "khm", "mya"]
    df = pl.DataFrame({"text": [_udhr(data_dir, n) for n in names]})
    out = label_frame(df, load_config(), ident)
    got = dict(zip(names, out["lang"].to_list()))
    from_script = dict(zip(names, out["signals"].struct.field("lang_from_script").to_list()))
    assert got["mly_arab"] == "zsm_Arab" and from_script["mly_arab"] == 1.0  # the stock model says arb_Arab
    assert got["tgl_tglg"] == "tgl_Tglg" and from_script["tgl_tglg"] == 1.0  # Baybayin: the model has never seen it
    assert got["mly_latn"].endswith("_Latn") and got["tgl"] == "tgl_Latn"
    assert got["cmn_hans"] == "zho_Hans" and got["cmn_hant"] == "zho_Hant"
    # Arabic and Urdu are never taken for Jawi; primary scripts never imply a language
    assert got["arb"] == "arb_Arab" and got["urd"] == "urd_Arab" and from_script["arb"] == 0.0
    assert got["khm"] == "khm_Khmr" and got["mya"] == "mya_Mymr"
    # segments follow the same rule: the Jawi document's mix is Malay, not Arabic
    mix = dict(zip(names, out["languages"].to_list()))["mly_arab"]
    assert mix and mix[0]["lang"] == "zsm_Arab"
    assert jawi_share(_udhr(data_dir, "mly_arab")) > 0.05 and jawi_share(_udhr(data_dir, "arb")) == 0.0


def test_second_scripts_map_to_their_language_and_primary_scripts_do_not():
    assert {s: script_language(s) for s in ("Tglg", "Java", "Bali", "Bugi", "Sund")} == \
        {"Tglg": "tgl", "Java": "jav", "Bali": "ban", "Bugi": "bug", "Sund": "sun"}
    assert all(script_language(s) is None for s in ("Latn", "Arab", "Cyrl", "Deva", "Thai", "Khmr"))


def test_user_codes_are_normalised():
    assert {flores_code(c) for c in ("tl", "fil", "tgl", "tl-PH", "tgl_Latn")} == {"tgl_Latn"}
    assert flores_code("jv") == "jav_Latn" and flores_code("jv-Java") == "jav_Java" and flores_code("ace-Arab") == "ace_Arab"
    assert flores_code("ms") == "zsm_Latn" and flores_code("id") == "ind_Latn" and flores_code("km") == "khm_Khmr"
    with pytest.raises(ValueError, match="unknown language code"):
        flores_code("not a code")


def test_dialect_tags_are_labels_never_filters(flores):
    cfg = load_config()
    dialects = compile_dialects(cfg["variants"]["dialects"])
    krama = "Kula badhe nyuwun pirsa, menapa panjenengan sampun dhahar? Inggih, kula sampun."
    ngoko = "Aku arep takon, kowe wis mangan durung? Iya, aku wis mangan saka omah."
    assert dialect_tag(krama, "jav_Latn", dialects) == "krama" and dialect_tag(ngoko, "jav_Latn", dialects) == "ngoko"
    assert dialect_tag("Saya mau makan nasi goreng hari ini.", "ind_Latn", dialects) is None  # no list for the language
    jav = flores("jav_Latn")[600:700]
    base = label_frame(pl.DataFrame({"text": jav}), cfg)
    cfg2 = {**cfg, "variants": {**cfg["variants"], "dialects": {}}}
    without = label_frame(pl.DataFrame({"text": jav}), cfg2)
    assert base["keep"].to_list() == without["keep"].to_list()  # tags change no decision
    assert base["variant"].drop_nulls().len() > 0 and without["variant"].null_count() == len(jav)


def test_taglish_is_kept_and_routed_to_the_target(flores):
    rng = random.Random(3)
    tgl, eng = flores("tgl_Latn")[600:800], flores("eng_Latn")[600:800]
    docs, truth = [], []
    for i in range(20):  # ~70 % Tagalog, ~30 % English by characters, shuffled sentence order
        sents = [(s, "tgl") for s in tgl[i * 7 : i * 7 + 5]] + [(s, "eng") for s in eng[i * 7 : i * 7 + 2]]
        rng.shuffle(sents)
        docs.append(" ".join(s for s, _ in sents))
        truth.append(sum(len(s) for s, k in sents if k == "eng") / sum(len(s) for s, _ in sents))
    eng2, tgl2 = flores("eng_Latn")[850:900], flores("tgl_Latn")[850:900]
    english_led = [" ".join(eng2[i * 6 : i * 6 + 4] + tgl2[i * 6 : i * 6 + 2]) for i in range(8)]  # ~40 % Tagalog
    cfg = load_config()
    cfg = {**cfg, "codeswitch": {**cfg["codeswitch"], "targets": ["tl"]}}
    out = label_frame(pl.DataFrame({"text": docs + english_led}), cfg)
    taglish, eng_led = out[:20], out[20:]
    assert taglish["lang"].to_list() == ["tgl_Latn"] * 20 and taglish["keep"].all()
    eng_share = [next((m["share"] for m in mix if m["lang"] == "eng_Latn"), 0.0) for mix in taglish["languages"].to_list()]
    assert max(abs(s - t) for s, t in zip(eng_share, truth)) <= 0.1  # measured: mean 0.0004, max 0.0013
    outside = taglish["signals"].struct.field("code_switch_share").to_list()
    assert all(o >= e - 1e-3 for o, e in zip(outside, eng_share))  # outside Tagalog = English + any LID confusion (ceb)
    assert eng_led["lang"].to_list() == ["tgl_Latn"] * 8 and eng_led["keep"].all()
    routed = eng_led["signals"].struct.field("routed_from_label").to_list()
    # measured: 4 of 8 are English (or und) at document level and routed; the model already calls the rest Tagalog
    assert sum(routed) >= 3
    # without targets, or with a higher floor for Tagalog, the routed ones are not Tagalog
    plain = label_frame(pl.DataFrame({"text": english_led}), load_config())
    strict = {**cfg, "codeswitch": {**cfg["codeswitch"], "min_share": {"default": 0.3, "tgl": 0.6}}}
    high = label_frame(pl.DataFrame({"text": english_led}), strict)
    for frame in (plain, high):
        assert all(lang != "tgl_Latn" for lang, r in zip(frame["lang"].to_list(), routed) if r)


def test_reapplying_the_policy_keeps_routed_documents(flores):
    from curation_platform.label import reapply_policy

    eng, tgl = flores("eng_Latn")[850:900], flores("tgl_Latn")[850:900]
    docs = [" ".join(eng[i * 6 : i * 6 + 4] + tgl[i * 6 : i * 6 + 2]) for i in range(8)]
    cfg = load_config()
    cfg = {**cfg, "codeswitch": {**cfg["codeswitch"], "targets": ["tgl"]}}
    out = label_frame(pl.DataFrame({"text": docs}), cfg)
    again = reapply_policy(out, cfg)
    assert again["keep"].to_list() == out["keep"].to_list() and again["keep"].all()
