"""Sentence-pair signals (taggers) and the per-pair-language policy (mixer).

Signals follow OpusFilter / bicleaner hard rules: length ratio (script-aware),
special symbols, digits and digit-sequence mismatch, punctuation / URL / e-mail
mismatch, stop-word ratio per side, untranslated copies, repeated-character noise,
language id of both sides; plus cross-lingual similarity when embeddings are
available (`sim`, `margin`; null when not computed, never faked)."""

from __future__ import annotations

import json

import re
import unicodedata
from collections import Counter
from difflib import SequenceMatcher

import polars as pl

from curation_platform.langid import UND, LanguageIdentifier
from curation_platform.langid_model import known_languages
from curation_platform.scripts import SCRIPT_CHAR_WEIGHT, UNSPACED, dominant_script
from curation_platform.standardize import normalize_text
from curation_platform.words import stop_words, words

# Characters per unit of meaning relative to Latin (median eng/x character ratio on
# NTREX-128 and Tatoeba): Chinese ~3.2x denser, Japanese ~2.2x, Korean ~1.9x.
_DIGITS = re.compile(r"\d+(?:[.,]\d+)*")
_URL = re.compile(r"https?://\S+|www\.\S+", re.I)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_REPEAT = re.compile(r"(.)\1{4,}")
_PUNCT_MARKS = ("?", "!", "？", "！")

PAIR_SIGNALS = (
    "src_chars", "tgt_chars", "src_tokens", "tgt_tokens", "length_ratio_chars", "length_ratio_tokens",
    "src_special_ratio", "tgt_special_ratio", "src_digit_ratio", "tgt_digit_ratio", "digit_mismatch",
    "punct_mismatch", "url_mismatch", "email_mismatch", "src_stop_ratio", "tgt_stop_ratio",
    "copy_similarity", "repeat_noise", "src_lang_score", "tgt_lang_score",
)


def _special_ratio(text: str) -> float:
    if not text:
        return 0.0
    special = sum(1 for c in text if not (c.isalnum() or c.isspace() or unicodedata.category(c).startswith(("P", "M"))))
    return special / len(text)


def _ratio(a: float, b: float) -> float:
    lo, hi = min(a, b), max(a, b)
    return hi / lo if lo > 0 else (float("inf") if hi > 0 else 1.0)


def _digits(text: str) -> list[str]:
    return sorted(re.sub(r"[.,]", "", d) for d in _DIGITS.findall(unicodedata.normalize("NFKC", text)))


def _numbers_disagree(d_s: list[str], d_t: list[str]) -> bool:
    """True when the numbers of the two sides cannot be the same facts. A small number
    (<= 31) found on one side only is tolerated when the other side has no unmatched
    number: translators spell out "ten years" or turn "June" into "tháng 6"; a number
    that changed ("650" -> "651") leaves an unmatched number on both sides."""
    cs, ct = Counter(d_s), Counter(d_t)
    only_s, only_t = cs - ct, ct - cs
    if only_s and only_t:
        return True
    return any(len(n) > 2 or int(n) > 31 for n in (only_s or only_t))


def pair_signals(src: str, tgt: str, src_lang: str, tgt_lang: str) -> dict[str, float | None]:
    """All rule signals of one pair (language id is added separately, in batches)."""
    ws, wt = words(src), words(tgt)
    s_script, t_script = dominant_script(src), dominant_script(tgt)
    s_len = len(src) * SCRIPT_CHAR_WEIGHT.get(s_script, 1.0)
    t_len = len(tgt) * SCRIPT_CHAR_WEIGHT.get(t_script, 1.0)
    ss, st = stop_words(src_lang), stop_words(tgt_lang)
    d_s, d_t = _digits(src), _digits(tgt)
    norm_s, norm_t = " ".join(ws), " ".join(wt)
    copy = SequenceMatcher(None, norm_s, norm_t, autojunk=False).ratio() if norm_s and norm_t and abs(len(norm_s) - len(norm_t)) < 0.5 * max(len(norm_s), len(norm_t)) else 0.0
    return {
        "src_chars": float(len(src)), "tgt_chars": float(len(tgt)),
        "src_tokens": float(len(ws)), "tgt_tokens": float(len(wt)),
        "length_ratio_chars": round(_ratio(s_len, t_len), 4),
        "length_ratio_tokens": round(_ratio(len(ws), len(wt)), 4) if s_script == t_script else None,
        "src_special_ratio": round(_special_ratio(src), 4), "tgt_special_ratio": round(_special_ratio(tgt), 4),
        "src_digit_ratio": round(sum(c.isdigit() for c in src) / len(src), 4) if src else 0.0,
        "tgt_digit_ratio": round(sum(c.isdigit() for c in tgt) / len(tgt), 4) if tgt else 0.0,
        "digit_mismatch": float(_numbers_disagree(d_s, d_t)),
        "punct_mismatch": float(any((m in src) != (m in tgt) for m in _PUNCT_MARKS) and not (any(m in src for m in _PUNCT_MARKS) and any(m in tgt for m in _PUNCT_MARKS))),
        "url_mismatch": float(len(_URL.findall(src)) != len(_URL.findall(tgt))),
        "email_mismatch": float(sorted(_EMAIL.findall(src)) != sorted(_EMAIL.findall(tgt))),
        "src_stop_ratio": round(sum(w in ss for w in ws) / len(ws), 4) if ss and ws else None,
        "tgt_stop_ratio": round(sum(w in st for w in wt) / len(wt), 4) if st and wt else None,
        "copy_similarity": round(copy, 4),
        "repeat_noise": float(bool(_REPEAT.search(src) or _REPEAT.search(tgt))),
    }


def _lang_ok(pred, declared: str, known: set[str], text: str, min_chars: int, relatives: set[str] = frozenset()) -> tuple[bool, float]:
    """Declared language among the model's top-k (close languages are confusable on
    one sentence), a measured confusable of the prediction (`relatives`, FLORES codes),
    `und` (the model names no other language), a language the model has no label for, or
    a side too short for language id to mean anything (similarity still catches those);
    plus its probability."""
    want = declared.split("_")[0]
    probs = {code.split("_")[0]: p for code, p in pred.top}
    if want not in known or len(text) < min_chars or pred.lang == UND:
        return True, probs.get(want, 0.0)
    return want in probs or pred.lang in relatives, probs.get(want, 0.0)


def _word_equiv(tokens: float, chars: float, script: str) -> float:
    """Tokens, or for scripts without spaces (tokens are characters) about chars / 4."""
    return chars / 4 if script in UNSPACED else tokens


# (threshold key, signal, "min" | "max" | "flag"), checked in this order after the language checks.
PAIR_RULES: tuple[tuple[str, str, str], ...] = (
    ("max_copy_similarity", "copy_similarity", "max"),
    ("min_tokens", "min_side_tokens", "min"),
    ("max_tokens", "max_side_tokens", "max"),
    ("max_length_ratio", "length_ratio_chars", "max"),
    ("max_special_ratio", "max_special_ratio", "max"),
    ("drop_digit_mismatch", "digit_mismatch", "flag"),
    ("drop_url_mismatch", "url_mismatch", "flag"),
    ("drop_email_mismatch", "email_mismatch", "flag"),
    ("drop_repeat_noise", "repeat_noise", "flag"),
    ("drop_punct_mismatch", "punct_mismatch", "flag"),
    ("min_stop_ratio", "min_stop_ratio", "min"),
    ("min_sim", "sim", "min"),
    ("min_margin", "margin", "min"),
)


def decide_pair(sig: dict, pol: dict) -> tuple[bool, str | None]:
    if not sig.get("src_chars") or not sig.get("tgt_chars"):
        return False, "empty_side"
    if pol.get("check_lang", True):
        if not sig.get("src_lang_ok"):
            return False, "src_lang_mismatch"
        if not sig.get("tgt_lang_ok"):
            return False, "tgt_lang_mismatch"
    for key, signal, kind in PAIR_RULES:
        threshold, value = pol.get(key), sig.get(signal)
        if threshold is None or threshold is False or value is None:
            continue
        if kind == "flag" and value:
            return False, key.removeprefix("drop_")
        if (kind == "min" and value < threshold) or (kind == "max" and value > threshold):
            return False, key
    return True, None


def pair_policy(cfg: dict, src_lang: str, tgt_lang: str) -> dict:
    """Thresholds for a language pair: default <- `pairs["src-tgt"]` (either order)."""
    pol = dict(cfg.get("default", {}))
    pairs = cfg.get("pairs", {}) or {}
    pol.update(pairs.get(f"{tgt_lang}-{src_lang}", {}) or {})
    pol.update(pairs.get(f"{src_lang}-{tgt_lang}", {}) or {})
    return pol


def label_pairs(df: pl.DataFrame, cfg: dict, identifier: LanguageIdentifier, similarity: dict[str, list] | None = None) -> pl.DataFrame:
    """Standardize both sides, add one column per signal, then keep/drop_reason.
    `similarity` ({"sim": [...], "margin": [...]}) comes from the embeddings step; without it
    those columns are null and their rules are off."""
    bcfg = cfg.get("bitext", {})
    std = cfg.get("standardize", {})
    src = [normalize_text(t or "", ftfy_fix=std.get("ftfy", True))[0] for t in df["src_text"].to_list()]
    tgt = [normalize_text(t or "", ftfy_fix=std.get("ftfy", True))[0] for t in df["tgt_text"].to_list()]
    src_langs, tgt_langs = df["src_lang"].to_list(), df["tgt_lang"].to_list()
    known = known_languages(identifier)
    relatives = getattr(identifier, "confusable_with", lambda lang: set())
    ps, pt = identifier.predict(src), identifier.predict(tgt)
    rows, keeps, reasons = [], [], []
    sims = similarity or {}
    for i in range(len(src)):
        sig = pair_signals(src[i], tgt[i], src_langs[i], tgt_langs[i])
        pol = pair_policy(bcfg.get("policy", {}), src_langs[i], tgt_langs[i])
        min_chars = int(pol.get("lang_check_min_chars", 20))
        s_ok, s_p = _lang_ok(ps[i], src_langs[i], known, src[i], min_chars, relatives(src_langs[i]))
        t_ok, t_p = _lang_ok(pt[i], tgt_langs[i], known, tgt[i], min_chars, relatives(tgt_langs[i]))
        sig.update({"src_lang_score": round(s_p, 4), "tgt_lang_score": round(t_p, 4)})
        sig["sim"] = sims.get("sim", [None] * len(src))[i]
        sig["margin"] = sims.get("margin", [None] * len(src))[i]
        if pol.get("min_margin") is None and sig["margin"] is not None:  # no absolute threshold: the corpus's own calibration
            pol = {**pol, "min_margin": sims["min_margin"][i]}
        derived = {
            "src_lang_ok": s_ok, "tgt_lang_ok": t_ok,
            "min_side_tokens": min(sig["src_tokens"], sig["tgt_tokens"]),
            "max_side_tokens": max(_word_equiv(sig["src_tokens"], sig["src_chars"], ps[i].script), _word_equiv(sig["tgt_tokens"], sig["tgt_chars"], pt[i].script)),
            "max_special_ratio": max(sig["src_special_ratio"], sig["tgt_special_ratio"]),
            "min_stop_ratio": min(v for v in (sig["src_stop_ratio"], sig["tgt_stop_ratio"]) if v is not None) if sig["src_stop_ratio"] is not None or sig["tgt_stop_ratio"] is not None else None,
        }
        keep, reason = decide_pair({**sig, **derived}, pol)
        sig["src_lang_pred"], sig["tgt_lang_pred"] = ps[i].lang, pt[i].lang
        rows.append(sig)
        keeps.append(keep)
        reasons.append(reason)
    sig_df = pl.DataFrame(rows, schema={**{k: pl.Float64 for k in PAIR_SIGNALS}, "sim": pl.Float64, "margin": pl.Float64, "src_lang_pred": pl.String, "tgt_lang_pred": pl.String})
    cal = sims.get("calibration") or {}
    cal_json = {pair: json.dumps(c, sort_keys=True) for pair, c in cal.items()}
    return pl.concat([df.with_columns(pl.Series("src_text", src), pl.Series("tgt_text", tgt)), sig_df], how="horizontal").with_columns(
        pl.Series("margin_calibration", [cal_json.get(f"{a}-{b}") for a, b in zip(src_langs, tgt_langs)], dtype=pl.String),
        pl.Series("keep", keeps, dtype=pl.Boolean), pl.Series("drop_reason", reasons, dtype=pl.String)
    )
