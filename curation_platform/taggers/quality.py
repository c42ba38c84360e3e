"""Heuristic quality signals over a batch (Gopher, C4, FineWeb; see
`curation_platform.quality` for the definitions, which this computes column-wise):
line, paragraph and token statistics are polars string expressions over the whole batch;
the n-gram repetition counts are numpy over the batch's words; only word tokenisation
runs per document (the `regex` tokeniser has look-aheads that polars' engine lacks)."""

from __future__ import annotations

import polars as pl

from curation_platform.lexicons import lexicon_hits
from curation_platform.quality import _BULLETS, _TERMINAL, gram_stats_batch
from curation_platform.taggers.base import Batch, Tagger, register
from curation_platform.words import stop_words, words

# Python's str.isspace() characters: str.strip() and str.split() cut at exactly these
WHITESPACE = "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
_TOKEN = "[^" + "".join(f"\\x{{{ord(c):x}}}" for c in WHITESPACE) + "]+"


def _class(chars: str) -> str:
    return "[" + "".join(f"\\x{{{ord(c):x}}}" for c in chars) + "]"


def _items(sep: str) -> pl.Expr:
    """Non-empty stripped pieces of the text split at `sep` (lines, paragraphs)."""
    return pl.col("text").fill_null("").str.split(sep).list.eval(pl.element().str.strip_chars(WHITESPACE)).list.eval(pl.element().filter(pl.element() != ""))


def _dup_frac(items: pl.Expr) -> pl.Expr:
    n = items.list.len()
    return pl.when(n > 0).then((n - items.list.n_unique()).cast(pl.Float64) / n.cast(pl.Float64)).otherwise(0.0)


def _dup_char_frac(items: pl.Expr) -> pl.Expr:
    total = items.list.eval(pl.element().str.len_chars().sum()).list.first()
    dup = items.list.eval(pl.element().str.len_chars().filter(~pl.element().is_first_distinct()).sum()).list.first()
    return pl.when(total > 0).then(dup.cast(pl.Float64) / total.cast(pl.Float64)).otherwise(0.0)


def _share(items: pl.Expr, test: pl.Expr, denominator: pl.Expr) -> pl.Expr:
    return items.list.eval(test).list.sum().cast(pl.Float64) / denominator.cast(pl.Float64)


def text_signals(frame: pl.DataFrame) -> pl.DataFrame:
    """The signals that need no word list, for every row at once."""
    text = pl.col("text").fill_null("")
    lines, paras = _items("\n"), _items("\n\n")
    n_lines = lines.list.len()
    tokens = text.str.extract_all(_TOKEN)
    n_tokens = tokens.list.len()
    el = pl.element()
    return frame.select(
        text.str.len_chars().cast(pl.Float64).alias("n_chars"),
        n_lines.cast(pl.Float64).alias("n_lines"),
        _share(lines, el.str.contains("^" + _class("".join(_BULLETS))), pl.max_horizontal(n_lines, 1)).alias("bullet_lines_ratio"),
        _share(lines, el.str.ends_with("...") | el.str.ends_with("…"), pl.max_horizontal(n_lines, 1)).alias("ellipsis_lines_ratio"),
        pl.when(n_tokens > 0).then(_share(tokens, el.str.contains(r"\p{L}"), n_tokens)).otherwise(0.0).alias("alpha_words_ratio"),
        # a ratio over one or two lines is a coin toss (a paragraph ending in a quote or a number): not measured
        pl.when(n_lines >= 3).then(_share(lines, el.str.contains(_class("".join(_TERMINAL)) + "$"), n_lines)).otherwise(None).alias("lines_end_punct_ratio"),
        _share(lines, el.str.len_chars() <= 30, pl.max_horizontal(n_lines, 1)).alias("short_lines_ratio"),
        _dup_frac(lines).alias("dup_line_frac"),
        _dup_char_frac(lines).alias("dup_line_char_frac"),
        _dup_frac(paras).alias("dup_para_frac"),
        (text.str.count_matches("#", literal=True) + text.str.count_matches("...", literal=True)
         + text.str.count_matches("…", literal=True)).alias("_symbols"),
    )


def batch_words(batch: Batch) -> list[list[str]]:
    """Word tokens per document, computed once per batch for every tagger that counts words."""
    if "words" not in batch.shared:
        batch.shared["words"] = [words(t) for t in batch.texts]
    return batch.shared["words"]


_GRAMS = ("top_2gram_frac", "top_3gram_frac", "top_4gram_frac", "dup_5gram_frac", "dup_10gram_frac")


@register
class Quality(Tagger):
    """Gopher / C4 / FineWeb heuristics: length, word length, symbols, bullets and
    ellipses, alphabetic tokens, terminal punctuation, short and duplicated lines and
    paragraphs, n-gram repetition."""

    name = "quality"
    signals = {name: pl.Float64 for name in ("n_chars", "n_words", "n_lines", "mean_word_length", "symbol_word_ratio", "bullet_lines_ratio",
                                             "ellipsis_lines_ratio", "alpha_words_ratio", "lines_end_punct_ratio", "short_lines_ratio",
                                             "dup_line_frac", "dup_line_char_frac", "dup_para_frac", *_GRAMS)}

    def tag(self, batch: Batch):
        cols = text_signals(batch.frame)
        ws = batch_words(batch)
        n_words = [len(w) for w in ws]
        lens = [list(map(len, w)) for w in ws]
        grams = gram_stats_batch(ws, lens)
        symbols = cols["_symbols"].to_list()
        out = {c: cols[c] for c in cols.columns if not c.startswith("_")}
        out["n_words"] = [float(n) for n in n_words]
        out["mean_word_length"] = [sum(ln) / n if n else 0.0 for ln, n in zip(lens, n_words)]
        out["symbol_word_ratio"] = [s / n if n else 0.0 for s, n in zip(symbols, n_words)]
        return {**out, **grams}


@register
class StopWords(Tagger):
    """Stop words of the document's language (Gopher's rule); null without a stop list."""

    name = "stopwords"
    signals = {"stop_words": pl.Float64, "stop_word_ratio": pl.Float64}

    def tag(self, batch: Batch):
        counts, ratios = [], []
        for ws, lang in zip(batch_words(batch), batch.column("lang")):
            stop = stop_words(lang) if lang and lang != "und" else frozenset()
            hits = sum(1 for w in ws if w in stop) if stop else None
            counts.append(float(hits) if hits is not None else None)
            ratios.append((hits / len(ws) if ws else 0.0) if hits is not None else None)
        return {"stop_words": counts, "stop_word_ratio": ratios}


@register
class Lexicons(Tagger):
    """Taboo words and honorifics of the document's language (`lexicons` config): counted,
    never used to drop text by default."""

    name = "lexicons"
    signals = {"taboo_hits": pl.Float64, "honorific_hits": pl.Float64}

    def tag(self, batch: Batch):
        lex = self.cfg.get("lexicons") or {}
        hits = [lexicon_hits(t, ws, lang, lex) for t, ws, lang in zip(batch.texts, batch_words(batch), batch.column("lang"))]
        return {k: [h[k] for h in hits] for k in self.signals}


@register
class QualityModel(Tagger):
    """P(high quality) from the trained classifier (`quality_model.trained_dir`), when one is loaded."""

    name = "quality_model"
    signals = {"quality_model": pl.Float64}

    def tag(self, batch: Batch):
        scorer = self.context.scorer
        return {"quality_model": scorer.score(batch.texts) if scorer else [None] * batch.frame.height}
