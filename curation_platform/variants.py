"""Script and dialect variants as first-class labels.

A language code always names the script the text is actually written in (`ace_Arab`,
`jav_Java`, `tgl_Tglg`), never the language's usual script: a conversion is never
silent. Two things the LID model cannot do on its own are added here:

- scripts proper to one language (Baybayin, Javanese, Balinese, Buginese, Sundanese)
  that the model has never seen: the model's guess is implausible for the script, so
  the script's own language (from `langcodes`' likely-subtags data) is used;
- Jawi/Pegon (Arabic script with ڠ ڽ ڤ ڬ ۏ ...), which a stock model calls Arabic: the
  configured language of the Malay world (default `zsm`) is used, in `_Arab`.

Dialect or regional variants come from configurable word lists per language and are
carried as a label (`variant`), never used to drop text."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Mapping, Sequence

import langcodes

from curation_platform.langid import UND, to_flores_lang
from curation_platform.scripts import script_counts

# Letters of the Malay-world Arabic alphabets (Jawi, Pegon) that Arabic, Persian and Urdu do not use.
JAWI_LETTERS = frozenset("ڠڽڤڬۏݢڎ")
_ARABIC_LETTER = re.compile(r"[\u0600-\u06FF\u0750-\u077F]")
_WORD = re.compile(r"\w+", re.UNICODE)


@lru_cache(maxsize=512)
def likely_script(lang3: str) -> str:
    """The script a language is usually written in (CLDR likely subtags via langcodes)."""
    try:
        return langcodes.Language.get(lang3).maximize().script or ""
    except (langcodes.LanguageTagError, LookupError, ValueError):
        return ""


@lru_cache(maxsize=128)
def script_language(script: str) -> str | None:
    """The language a script belongs to when it is a second script of that language
    (Tglg -> tgl, Java -> jav, Bali -> ban): CLDR's likely language for `und-<Script>`,
    kept only when that language is usually written in another script. Primary scripts
    (Arab -> arb, Latn -> eng) are shared by many languages and never imply one."""
    try:
        lang = langcodes.Language.get(f"und-{script}").maximize()
    except (langcodes.LanguageTagError, LookupError, ValueError):
        return None
    if not lang.language or lang.language == "und":
        return None
    lang3 = to_flores_lang(lang.language)
    return lang3 if likely_script(lang3) not in ("", script) else None


def jawi_share(text: str) -> float:
    """Share of Arabic-script letters that only Jawi/Pegon use."""
    sample = text[:4000]
    arabic = len(_ARABIC_LETTER.findall(sample))
    return sum(ch in JAWI_LETTERS for ch in sample) / arabic if arabic else 0.0


def script_share(text: str, script: str) -> float:
    """Share of the text's letters written in `script`: the confidence of a script rule."""
    counts = script_counts(text)
    return round(counts.get(script, 0) / sum(counts.values()), 4) if counts else 0.0


def script_variant(lang: str, script: str, top: Sequence[tuple[str, float]], text: str, cfg: Mapping | None = None) -> tuple[str, str | None]:
    """(language code, rule) for a text: the rule that changed the model's label
    (`script_language`, `jawi`) or None when the model's label stands."""
    cfg = cfg or {}
    if script == "Arab" and jawi_share(text) >= float(cfg.get("jawi_min_share", 0.01)):
        lang3 = lang.split("_")[0] if lang != UND else ""
        jawi_langs = {to_flores_lang(c) for c in cfg.get("jawi_languages", ["zsm", "ind", "ace", "min", "bjn", "jav", "sun", "mad"])}
        if lang3 not in jawi_langs:  # the model said Arabic/Persian/Urdu for Jawi text
            default = cfg.get("jawi_default", "zsm")
            # Jawi letters say "a Malay-world language", not which one: `jawi_default: null` answers `und`
            return (f"{to_flores_lang(default)}_Arab" if default else UND), "jawi"
        return lang, None
    own = script_language(script)
    if own and cfg.get("script_language", True):
        plausible = any(likely_script(code.split("_")[0]) == script for code, _ in top)
        if not plausible and (lang == UND or lang.split("_")[0] != own):
            return f"{own}_{script}", "script_language"
    return lang, None


def compile_dialects(cfg: Mapping | None) -> dict[str, dict[str, frozenset[str]]]:
    """{lang: {variant: words}} from config, words lower-cased; `lang` keys normalised."""
    from curation_platform.langid import flores_code

    out: dict[str, dict[str, frozenset[str]]] = {}
    for lang, variants in (cfg or {}).items():
        out[flores_code(lang)] = {name: frozenset(w.lower() for w in words) for name, words in (variants or {}).items()}
    return out


def dialect_tag(text: str, lang: str, dialects: Mapping[str, Mapping[str, frozenset[str]]], min_hits: int = 2) -> str | None:
    """The variant whose word list has the most distinct hits (at least `min_hits`);
    None on a tie or too little evidence: a label, never a filter."""
    lists = dialects.get(lang)
    if not lists:
        return None
    tokens = {w.lower() for w in _WORD.findall(text[:20000])}
    hits = sorted(((len(tokens & words), name) for name, words in lists.items()), reverse=True)
    if not hits or hits[0][0] < min_hits or (len(hits) > 1 and hits[1][0] == hits[0][0]):
        return None
    return hits[0][1]
