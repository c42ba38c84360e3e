"""The policy (a mixer: it decides). Labels are data; this turns them into keep/drop
with the first failing rule as the reason, per language, so a threshold can change
without re-labelling and every dropped row can be audited."""

from __future__ import annotations

from typing import Mapping

from curation_platform.langid import UND
from curation_platform.settings import language_policy

# (threshold key, signal name, "min" | "max"), checked in this order.
RULES: tuple[tuple[str, str, str], ...] = (
    ("min_lang_share", "lang_share", "min"),      # the main language's share of a multi-segment document
    ("min_words", "n_words", "min"),
    ("max_words", "n_words", "max"),
    ("min_mean_word_length", "mean_word_length", "min"),
    ("max_mean_word_length", "mean_word_length", "max"),
    ("max_symbol_word_ratio", "symbol_word_ratio", "max"),
    ("max_bullet_lines_ratio", "bullet_lines_ratio", "max"),
    ("max_ellipsis_lines_ratio", "ellipsis_lines_ratio", "max"),
    ("min_alpha_words_ratio", "alpha_words_ratio", "min"),
    ("min_stop_words", "stop_words", "min"),
    ("min_stop_word_ratio", "stop_word_ratio", "min"),
    ("min_lines_end_punct_ratio", "lines_end_punct_ratio", "min"),
    ("max_dup_line_frac", "dup_line_frac", "max"),
    ("max_dup_para_frac", "dup_para_frac", "max"),
    ("max_dup_line_char_frac", "dup_line_char_frac", "max"),
    ("max_top_2gram_frac", "top_2gram_frac", "max"),
    ("max_top_3gram_frac", "top_3gram_frac", "max"),
    ("max_top_4gram_frac", "top_4gram_frac", "max"),
    ("max_dup_5gram_frac", "dup_5gram_frac", "max"),
    ("max_dup_10gram_frac", "dup_10gram_frac", "max"),
    ("min_quality_model", "quality_model", "min"),   # the trained classifier's P(high quality), when one is loaded
)


def decide(lang: str, lang_score: float, signals: Mapping[str, float | None], policy_cfg: dict) -> tuple[bool, str | None]:
    """(keep, first failing rule). A threshold of None, or a signal that could not be
    measured (None, e.g. no stop list for the language), switches that rule off."""
    pol = language_policy(policy_cfg, lang)
    if not signals.get("n_chars"):
        return False, "empty_text"
    if lang == UND:
        return False, "lang_und"
    allowed = pol.get("allowed_languages")
    if allowed and lang not in allowed:
        return False, "language_not_allowed"
    min_score = pol.get("min_lang_score")
    if min_score is not None and lang_score < min_score:
        return False, "min_lang_score"
    for key, signal, kind in RULES:
        threshold = pol.get(key)
        value = signals.get(signal)
        if threshold is None or value is None:
            continue
        if (kind == "min" and value < threshold) or (kind == "max" and value > threshold):
            return False, key
    return True, None
