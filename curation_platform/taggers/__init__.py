"""The label stage as an ordered list of taggers (each measures one thing over a batch
of documents), then the compiled policy (which decides). The default order:

    langid        the model's prediction (ours, open-set; stock lid.176 for the rest)
    segments      the segment-level language mix
    hint          a declared language where the model cannot tell it apart
    script        script rules (Jawi, scripts only one language writes)
    segment_vote  a multi-segment document takes its main language
    codeswitch    routing to a code-switch target; switch share and count
    quality       Gopher / C4 / FineWeb heuristics
    stopwords     stop words of the document's language
    lexicons      taboo words and honorifics (counted, never a filter by default)
    quality_model P(high quality) from the trained classifier, when one is loaded
    variant       dialect / register tags

`label.taggers` in the config chooses and orders them; an entry is a registry name
(`quality`, `quality@1`), a dotted path to a `Tagger` subclass of your own, or a mapping
{use: ..., release: true, **options}. Registered but off by default: `pii` (PII spans)."""

from __future__ import annotations

from typing import Iterable, Mapping, Sequence

import polars as pl

from curation_platform.taggers import documents, language, quality  # noqa: F401  (registration)
from curation_platform.taggers.base import REGISTRY, Batch, Context, Tagger, register, resolve
from curation_platform.taggers.language import LANGUAGES_DTYPE

DEFAULT_TAGGERS = ("langid", "segments", "hint", "script", "segment_vote", "codeswitch", "quality", "stopwords", "lexicons", "quality_model", "variant")

# The `signals` struct's fields in a stable order (absent taggers leave theirs null), so
# every labelled shard has one schema; signals of other taggers follow in tagger order.
SIGNAL_ORDER = ("n_chars", "n_words", "n_lines", "mean_word_length", "symbol_word_ratio", "bullet_lines_ratio", "ellipsis_lines_ratio",
                "alpha_words_ratio", "lines_end_punct_ratio", "short_lines_ratio", "dup_line_frac", "dup_line_char_frac", "dup_para_frac",
                "top_2gram_frac", "top_3gram_frac", "top_4gram_frac", "dup_5gram_frac", "dup_10gram_frac", "stop_words", "stop_word_ratio",
                "taboo_hits", "honorific_hits", "lang_from_hint", "quality_model", "code_switch_share", "code_switch_switches",
                "routed_from_label", "lang_from_script", "lang_share", "lang_oov")
SIGNALS_DTYPE = pl.Struct({name: pl.Float64 for name in SIGNAL_ORDER})
# The label stage's own columns, in output order (after the input's).
STAGE_COLUMNS = {"lang": pl.String, "lang_score": pl.Float64, "script": pl.String, "signals": SIGNALS_DTYPE, "languages": LANGUAGES_DTYPE,
                 "variant": pl.String, "lang_rule": pl.String}


def tagger_specs(cfg: dict) -> list:
    return list(((cfg.get("label") or {}).get("taggers")) or DEFAULT_TAGGERS)


def build(cfg: dict, context: Context) -> list[Tagger]:
    """The configured taggers, instantiated once for the stage's run."""
    return [cls(context, **options) for cls, options in map(resolve, tagger_specs(cfg))]


def release_columns(cfg: dict) -> list[str]:
    """Top-level columns of taggers configured with `release: true`: they travel into the release."""
    out: list[str] = []
    for spec in tagger_specs(cfg):
        cls, options = resolve(spec)
        if options.get("release"):
            out += [c for c in cls.columns if not c.startswith("_") and c not in STAGE_COLUMNS and c not in out]
    return out


def run(frame: pl.DataFrame, taggers: Sequence[Tagger]) -> pl.DataFrame:
    """One batch through every tagger; returns the input's columns, the stage's columns
    (signals packed into the struct), other taggers' top-level columns and `_` working
    columns (for the policy; dropped by the stage)."""
    batch = Batch(frame)
    signal_names: list[str] = []
    for tagger in taggers:
        cols = tagger.tag(batch)
        dtypes = {**tagger.columns, **tagger.signals}
        series = [c.alias(name) if isinstance(c, (pl.Series, pl.Expr)) else pl.Series(name, c, dtype=dtypes.get(name))
                  for name, c in cols.items()]
        batch.frame = batch.frame.with_columns([s.cast(dtypes[s.name]) if isinstance(s, pl.Series) and s.name in dtypes else s for s in series])
        signal_names += [s for s in tagger.signals if s not in signal_names]
    fr = batch.frame
    extra = [s for s in signal_names if s not in SIGNAL_ORDER]
    fields = [pl.col(s).cast(pl.Float64) if s in fr.columns else pl.lit(None, pl.Float64).alias(s) for s in (*SIGNAL_ORDER, *extra)]
    fr = fr.with_columns(pl.struct(fields).alias("signals"))
    stage = [fr[c] if c in fr.columns else pl.Series(c, [None] * fr.height, dtype=dtype) for c, dtype in STAGE_COLUMNS.items()]
    others = [fr[c] for c in dict.fromkeys(c for t in taggers for c in t.columns) if c not in STAGE_COLUMNS and c in fr.columns]
    return frame.with_columns(stage).with_columns(others)

__all__ = ["REGISTRY", "Batch", "Context", "Tagger", "register", "resolve", "build", "run", "release_columns", "DEFAULT_TAGGERS",
           "SIGNAL_ORDER", "SIGNALS_DTYPE", "STAGE_COLUMNS", "LANGUAGES_DTYPE"]
