"""A tagger written outside the package, as a user would: loaded by its dotted path."""

from __future__ import annotations

import polars as pl

from curation_platform.taggers import Batch, Tagger


class ShoutingTagger(Tagger):
    """Share of letters in upper case: a signal the policy can threshold (`max_shouting`)
    and a column that travels into the release."""

    name = "shouting"
    columns = {"shouting": pl.Float64}

    def tag(self, batch: Batch):
        letters = pl.col("text").str.count_matches(r"\p{L}")
        upper = pl.col("text").str.count_matches(r"\p{Lu}")
        return {"shouting": pl.when(letters > 0).then(upper / letters).otherwise(0.0).round(4)}  # an expression over the batch
