"""Document taggers that are neither language nor quality: dialect / register variants
and PII counts."""

from __future__ import annotations

import polars as pl

from curation_platform.pii import WEB_TYPES, expand_types, find_pii
from curation_platform.taggers.base import Batch, Tagger, register
from curation_platform.variants import compile_dialects, dialect_tag


@register
class Variant(Tagger):
    """A dialect / register tag from the configured word lists (`variants.dialects`): a
    label, never a filter."""

    name = "variant"
    columns = {"variant": pl.String}

    def tag(self, batch: Batch):
        var_cfg = self.cfg.get("variants") or {}
        dialects = compile_dialects(var_cfg.get("dialects"))
        if not dialects:
            return {"variant": [None] * batch.frame.height}
        hits = int(var_cfg.get("dialect_min_hits", 2))
        return {"variant": [dialect_tag(t, lang, dialects, hits) for t, lang in zip(batch.texts, batch.column("lang"))]}


@register
class PiiCounts(Tagger):
    """PII spans per document (`pii_spans`, of the types in the tagger's `types` option or
    the web crawl's release types): a signal the policy can threshold (`max_pii_spans`)
    where a corpus must hold little personal data. Not in the default list (releases are
    redacted at construct; counting costs a second pass)."""

    name = "pii"
    signals = {"pii_spans": pl.Float64}

    def tag(self, batch: Batch):
        types = expand_types(self.options.get("types") or WEB_TYPES)
        return {"pii_spans": [float(len(find_pii(t, types))) for t in batch.texts]}
