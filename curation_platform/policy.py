"""The policy (a mixer: it decides). Labels are data; this turns them into keep/drop
with the first failing rule as the reason, per language, so a threshold can change
without re-labelling and every dropped row can be audited."""

from __future__ import annotations

from typing import Callable, Iterable, Mapping, Sequence

import polars as pl

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


# Policy keys that are not a threshold on a signal.
_NOT_SIGNALS = frozenset({"allowed_languages", "min_lang_score"})


def rule_table(policy_cfg: Mapping | None = None) -> dict[str, tuple[str, str]]:
    """{threshold key: (signal, "min" | "max")} in checking order: the built-in rules, then
    any other `min_<signal>` / `max_<signal>` key the policy sets (a signal of a tagger of
    your own), in sorted order."""
    table = {key: (signal, kind) for key, signal, kind in RULES}
    keys: set[str] = set()
    for section in ("default",):
        keys |= set((policy_cfg or {}).get(section) or {})
    for group in ("languages", "calibrated"):
        for values in ((policy_cfg or {}).get(group) or {}).values():
            keys |= set(values or {})
    for key in sorted(keys - set(table) - _NOT_SIGNALS):
        kind, _, signal = key.partition("_")
        if kind in ("min", "max") and signal:
            table[key] = (signal, kind)
    return table


def fails(value: pl.Expr, kind: str, threshold: pl.Expr) -> pl.Expr:
    """The rule drops the row: a threshold and a measured value, on the wrong side.
    A threshold of None, or a signal that could not be measured, switches it off."""
    cmp = value < threshold if kind == "min" else value > threshold
    return threshold.is_not_null() & value.is_not_null() & cmp


def _per_language(values: Mapping[str, object], lang: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    distinct = set(values.values())
    if len(distinct) <= 1:
        return pl.lit(next(iter(distinct), None), dtype)
    return lang.replace_strict(dict(values), default=None, return_dtype=dtype)


def compile_policy(policy_cfg: dict, langs: Iterable[str], signal: Callable[[str], pl.Expr], *, lang: pl.Expr = pl.col("lang"),
                   score: pl.Expr = pl.col("lang_score"), target_met: pl.Expr | None = None) -> pl.Expr:
    """The per-language policy as one polars expression: the first failing rule's name
    (null = keep), evaluated on a whole frame. `langs` are the languages the frame can hold
    (their thresholds are resolved once); `signal(name)` reads a signal; a row with
    `target_met` (a code-switch target with its share) passes the language tests."""
    langs = sorted(set(langs))
    pols = {code: language_policy(policy_cfg, code) for code in langs}
    if target_met is not None:
        score = pl.when(target_met).then(1.0).otherwise(score)
    n_chars = signal("n_chars")
    allowed = {code: not p.get("allowed_languages") or code in p["allowed_languages"] for code, p in pols.items()}
    reasons = [
        pl.when(n_chars.is_null() | (n_chars == 0)).then(pl.lit("empty_text")),
        pl.when(lang == UND).then(pl.lit("lang_und")),
        pl.when(~_per_language(allowed, lang, pl.Boolean).fill_null(True)).then(pl.lit("language_not_allowed")),
        pl.when(fails(score, "min", _per_language({c: p.get("min_lang_score") for c, p in pols.items()}, lang, pl.Float64))).then(pl.lit("min_lang_score")),
    ]
    for key, (name, kind) in rule_table(policy_cfg).items():
        value = signal(name)
        if name == "lang_share" and target_met is not None:
            value = pl.when(target_met).then(None).otherwise(value)
        thresholds = {c: (float(p[key]) if p.get(key) is not None else None) for c, p in pols.items()}
        if any(v is not None for v in thresholds.values()):
            reasons.append(pl.when(fails(value, kind, _per_language(thresholds, lang, pl.Float64))).then(pl.lit(key)))
    return pl.coalesce(reasons)


def signal_reader(schema: Mapping[str, pl.DataType]) -> Callable[[str], pl.Expr]:
    """Signals from a labelled frame: a field of the `signals` struct, else a top-level
    column (a tagger's own), else null."""
    fields = {f.name for f in schema["signals"].fields} if isinstance(schema.get("signals"), pl.Struct) else set()

    def read(name: str) -> pl.Expr:
        if name in fields:
            return pl.col("signals").struct.field(name).cast(pl.Float64)
        if name in schema:
            return pl.col(name).cast(pl.Float64)
        return pl.lit(None, pl.Float64)

    return read


def apply_policy(frame: pl.DataFrame, policy_cfg: dict, target_met: Sequence[bool] | pl.Series | None = None) -> pl.DataFrame:
    """`keep` and `drop_reason` for every row of a labelled frame."""
    if frame.is_empty():
        return frame.with_columns(pl.lit(None, pl.Boolean).alias("keep"), pl.lit(None, pl.String).alias("drop_reason"))
    met = pl.Series("_met", list(target_met), dtype=pl.Boolean) if target_met is not None else None
    work = frame.with_columns(met) if met is not None else frame
    reason = compile_policy(policy_cfg, work["lang"].unique().drop_nulls().to_list(), signal_reader(work.schema),
                            target_met=pl.col("_met") if met is not None else None)
    out = work.with_columns(reason.alias("drop_reason")).with_columns(pl.col("drop_reason").is_null().alias("keep"))
    cols = [c for c in frame.columns if c not in ("keep", "drop_reason")]
    return out.select(*cols, "keep", "drop_reason") if "keep" not in frame.columns else out.select(*frame.columns)


def decide(lang: str, lang_score: float, signals: Mapping[str, float | None], policy_cfg: dict) -> tuple[bool, str | None]:
    """(keep, first failing rule) for one document: the compiled policy on one row."""
    row = pl.DataFrame({"lang": [lang], "lang_score": [float(lang_score)],
                        **{k: pl.Series(k, [None if v is None else float(v)], dtype=pl.Float64) for k, v in signals.items()}})
    out = apply_policy(row, policy_cfg)
    return bool(out["keep"][0]), out["drop_reason"][0]
