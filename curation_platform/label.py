"""Label stage: the configured taggers (language, script, segment mix, quality signals,
...; see `curation_platform.taggers`) measure, then the compiled policy decides.

Only adds columns (`lang`, `lang_score`, `script`, `signals`, `languages`, `variant`,
`lang_rule`, `keep`, `drop_reason`, and the columns of taggers of your own): `languages`
is the segment-level mix (share of characters per language), `variant` a dialect/register
tag from word lists. The text is never touched."""

from __future__ import annotations

from typing import Iterable, Iterator

import polars as pl

from curation_platform import taggers
from curation_platform.langid import LanguageIdentifier
from curation_platform.langid_model import BUNDLED, load_model_dir, resolve_model_dir
from curation_platform.policy import apply_policy
from curation_platform.quality_model import effective_policy, load_scorer
from curation_platform.taggers.language import target_met
from curation_platform.workers import ordered_map

SIGNALS_DTYPE = taggers.SIGNALS_DTYPE
LANGUAGES_DTYPE = taggers.LANGUAGES_DTYPE


def identifier_from_config(cfg: dict) -> LanguageIdentifier:
    """The platform's own model (`langid.trained_dir`: `bundled`, the model shipped in the
    package, or a folder from `curate train-langid`), open-set and routed with the stock
    (or configured) fastText model for languages outside its label set. `trained_dir:
    stock` uses the stock model alone. The identifier keeps its `langid` config (`spec`),
    so a worker process can build the same one."""
    lid = cfg.get("langid", {})
    stock = LanguageIdentifier(lid.get("model"), k=lid.get("k", 3), min_score=lid.get("min_score", 0.4), max_chars=lid.get("max_chars", 4000))
    choice = lid.get("trained_dir", BUNDLED)
    ident = stock
    if choice != "stock":
        model_dir = resolve_model_dir(choice)
        if model_dir is None and choice not in (None, BUNDLED):
            raise FileNotFoundError(f"langid.trained_dir: {choice} holds no model.json (train one with `curate train-langid`)")
        if model_dir is not None:
            ident = load_model_dir(model_dir, stock, lid)
    ident.spec = dict(lid)
    return ident


def load_models(identifier) -> None:
    """Load the identifier's models now (the stock model is otherwise loaded by the first
    text ours is unsure of): a fork server then shares them with its workers."""
    stock = identifier.stock if hasattr(identifier, "stock") else identifier
    if isinstance(stock, LanguageIdentifier):
        stock.model  # noqa: B018 - the property loads the model once per process


def _batches(df: pl.DataFrame, size: int) -> Iterator[pl.DataFrame]:
    for start in range(0, df.height, size):
        yield df.slice(start, size)


class LabelStage:
    """The taggers and the policy of one config, loaded once: call it on frames."""

    def __init__(self, cfg: dict, identifier: LanguageIdentifier | None = None):
        self.cfg = cfg
        scorer = load_scorer(cfg)
        self.policy = effective_policy(cfg, scorer)
        self.context = taggers.Context(cfg, identifier or identifier_from_config(cfg), scorer)
        self.taggers = taggers.build(cfg, self.context)
        self.batch_size = int(cfg.get("langid", {}).get("batch_size", 1024))

    def warm(self) -> "LabelStage":
        """Load now what the first batch would load lazily: the stock model (asked only for
        the documents ours is unsure of) and the URIEL tables that place a language without
        calibrated thresholds. A fork server then holds them once for all its workers; each
        worker loaded its own copy before (13 MB for lid.176 alone). No thread is started."""
        load_models(self.context.identifier)
        try:
            from curation_platform import typology

            typology.load_tables(("genetic", "syntax"))  # what `settings.nearest_calibrated` reads
        except (ImportError, OSError, KeyError, ValueError):
            pass  # no URIEL data here: nothing to share
        return self

    def __call__(self, df: pl.DataFrame) -> pl.DataFrame:
        parts = [self.label_batch(b) for b in _batches(df, self.batch_size)] or [self.label_batch(df)]
        return pl.concat(parts) if len(parts) > 1 else parts[0]

    def label_batch(self, df: pl.DataFrame) -> pl.DataFrame:
        tagged = taggers.run(df, self.taggers)
        met = tagged["_target_met"] if "_target_met" in tagged.columns else None
        out = apply_policy(tagged, self.policy, met)
        return out.drop([c for c in out.columns if c.startswith("_") and c not in df.columns])


def label_frame(df: pl.DataFrame, cfg: dict, identifier: LanguageIdentifier | None = None) -> pl.DataFrame:
    """Label one shard (a frame with at least `text`; `lang_hint` is used when present)."""
    return LabelStage(cfg, identifier)(df)


def _stage(cfg: dict) -> LabelStage:
    return LabelStage(cfg).warm()


def _label(stage: LabelStage, df: pl.DataFrame) -> pl.DataFrame:
    return stage(df)


def _standardize_label(stage: LabelStage, df: pl.DataFrame) -> pl.DataFrame:
    from curation_platform.standardize import standardize_frame

    return stage(standardize_frame(df, stage.cfg.get("standardize", {})))


def label_batches(frames: Iterable[pl.DataFrame], cfg: dict, identifier: LanguageIdentifier | None = None, workers: int = 1,
                  standardize: bool = False) -> Iterator[pl.DataFrame]:
    """Label a stream of frames (batches) over `workers` processes, in order; each worker
    loads the models once. An identifier passed in is rebuilt in the workers from its
    `spec`; one without a spec (built by hand) keeps the work in this process.
    `standardize`: standardize each batch first (the CLI's input is raw)."""
    fn = _standardize_label if standardize else _label
    spec = getattr(identifier, "spec", None) if identifier is not None else None
    if workers > 1 and (identifier is None or spec is not None):
        yield from ordered_map(fn, frames, workers, _stage, ({**cfg, "langid": spec} if spec is not None else cfg,))
        return
    stage = LabelStage(cfg, identifier)
    for df in frames:
        yield fn(stage, df)


def reapply_policy(df: pl.DataFrame, cfg: dict) -> pl.DataFrame:
    """Re-decide keep/drop from stored labels: a threshold change needs no re-labelling."""
    return apply_policy(df, effective_policy(cfg, load_scorer(cfg)), target_met(df, cfg))
