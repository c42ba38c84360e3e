"""The language-ID corpus: labelled text of several domains (wiki, news, health,
conversational, legal), one xz-compressed TSV per source with `sources.json` beside them
(repository, commit, licence, domain and counts of each), committed under
`training_data/langid/` so that training and its evaluation need no network.

A label's text from one domain says little about its text from another: the evaluation
units here are (label, domain) groups, so a model can be trained without a domain and
scored on it (leave-domain-out)."""

from __future__ import annotations

import io
import json
import lzma
import os
import random
from pathlib import Path
from typing import Iterable, Sequence

import polars as pl

CORPUS_ENV = "CURATION_LANGID_CORPUS"
COLUMNS = {"label": pl.Utf8, "domain": pl.Utf8, "text": pl.Utf8}


def default_corpus_dir() -> Path:
    """`$CURATION_LANGID_CORPUS`, else `training_data/langid` of the checkout."""
    return Path(os.environ.get(CORPUS_ENV) or Path(__file__).resolve().parents[1] / "training_data" / "langid")


def sources(folder: Path) -> dict[str, dict]:
    path = Path(folder) / "sources.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no language-ID corpus here (scripts/build_langid_corpus.py writes one)")
    return json.loads(path.read_text("utf-8"))


def read_source(path: Path) -> pl.DataFrame:
    """One source file; a line that is not `label<TAB>domain<TAB>text` is an error naming it."""
    with lzma.open(path, "rt", encoding="utf-8") as fh:
        raw = fh.read()
    for i, line in enumerate(raw.split("\n")[1:], 2):
        if line and line.count("\t") != 2:
            raise ValueError(f"{path}:{i}: expected label<TAB>domain<TAB>text, got {line[:80]!r}")
    df = pl.read_csv(io.StringIO(raw), separator="\t", quote_char=None, schema=COLUMNS)
    return df.with_columns(pl.lit(path.name.split(".")[0]).alias("source"))


def read_corpus(folder: Path | None = None, only: Iterable[str] | None = None) -> pl.DataFrame:
    """Every source (or those named in `only`) as one frame: label, domain, text, source."""
    folder = Path(folder or default_corpus_dir())
    names = sorted(sources(folder)) if only is None else list(only)
    return pl.concat([read_source(folder / f"{name}.tsv.xz") for name in names])


def read_heldout(folder: Path | None = None) -> pl.DataFrame:
    """FLORES-200 devtest lines 507-1012 of every language (`eval/`): in-domain text no
    model trains on, the held-out score of every FLORES label."""
    return read_source(Path(folder or default_corpus_dir()) / "eval" / "flores_devtest.tsv.xz")


def domains_by_label(df: pl.DataFrame) -> dict[str, list[str]]:
    rows = df.group_by("label").agg(pl.col("domain").unique().sort()).sort("label").iter_rows()
    return {label: list(domains) for label, domains in rows}


def paragraphs(texts: Sequence[str], min_words: int = 60, min_chars: int = 400) -> list[str]:
    """Consecutive texts of one group joined until they make a paragraph a web page would
    hold (`min_words` words, or `min_chars` characters in a script written without
    spaces); a text that is one already (a UDHR article) stands alone."""
    out: list[str] = []
    buf: list[str] = []
    words = chars = 0
    for text in texts:
        buf.append(text)
        words, chars = words + len(text.split()), chars + len(text) + (len(buf) > 1)  # as " ".join(buf) would count
        if words >= min_words or chars >= min_chars:
            out.append(" ".join(buf))
            buf, words, chars = [], 0, 0
    return out


def sentences(texts: Sequence[str], words: tuple[int, int] = (8, 25)) -> list[str]:
    """Texts of `words` words (by whitespace; a Thai, Lao, Khmer, Burmese, Chinese or Japanese
    line has few spaces, so for those 20-200 characters count instead)."""
    lo, hi = words
    out = []
    for text in texts:
        n = len(text.split())
        if lo <= n <= hi or (n < lo and 20 <= len(text) <= 200 and len(text) / max(n, 1) > 15):
            out.append(text)
    return out


def sample(items: Sequence[str], n: int, seed: int = 0) -> list[str]:
    return list(items) if len(items) <= n else random.Random(seed).sample(list(items), n)
