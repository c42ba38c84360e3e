"""What a tagger is, the registry of them, and how the config names one.

A tagger measures, it never decides (dolma's taggers, datatrove's small steps): it takes
a batch of documents (a polars frame with every column the taggers before it wrote) and
returns its own columns. Columns it lists in `signals` go into the `signals` struct,
where the compiled policy can threshold them (`min_<signal>` / `max_<signal>`); the rest
are top-level columns. A tagger has a versioned name (`langid@1`); bump the version when
its output changes, so stored labels say which measurement made them."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, ClassVar, Mapping, Sequence

import polars as pl


@dataclass
class Context:
    """What the taggers of one label stage share for its whole run: the config, the
    language identifier, the quality scorer (loaded once, not per batch)."""

    cfg: dict
    identifier: Any = None
    scorer: Any = None


@dataclass
class Batch:
    """One batch of documents on its way through the taggers. `shared` holds per-batch
    Python objects several taggers read (model predictions, segment mixes, word lists)."""

    frame: pl.DataFrame
    shared: dict = field(default_factory=dict)

    @property
    def texts(self) -> list[str]:
        if "texts" not in self.shared:
            self.shared["texts"] = [t or "" for t in self.frame["text"].to_list()]
        return self.shared["texts"]

    def column(self, name: str, default: Any = None) -> list:
        return self.frame[name].to_list() if name in self.frame.columns else [default] * self.frame.height


class Tagger:
    """Base class: set `name`, `version`, `columns` / `signals` ({name: dtype}) and `tag`."""

    name: ClassVar[str] = ""
    version: ClassVar[int] = 1
    columns: ClassVar[Mapping[str, pl.DataType]] = {}
    signals: ClassVar[Mapping[str, pl.DataType]] = {}

    def __init__(self, context: Context, **options: Any):
        self.context, self.options = context, options

    @property
    def cfg(self) -> dict:
        return self.context.cfg

    @classmethod
    def id(cls) -> str:
        return f"{cls.name}@{cls.version}"

    def tag(self, batch: Batch) -> Mapping[str, Sequence | pl.Series | pl.Expr]:
        raise NotImplementedError


REGISTRY: dict[str, type[Tagger]] = {}


def register(cls: type[Tagger]) -> type[Tagger]:
    """Class decorator: the tagger becomes known by `name` and by `name@version`."""
    REGISTRY[cls.id()] = cls
    latest = REGISTRY.get(cls.name)
    if latest is None or latest.version <= cls.version:
        REGISTRY[cls.name] = cls
    return cls


def resolve(spec: str | Mapping) -> tuple[type[Tagger], dict]:
    """(tagger class, options) for one config entry: a registry name (`quality`,
    `quality@1`), a dotted path to a Tagger subclass (`my_pkg.taggers.Toxicity` or
    `my_pkg.taggers:Toxicity`), or a mapping {use: <either>, **options}."""
    options: dict = {}
    if isinstance(spec, Mapping):
        options = {k: v for k, v in spec.items() if k != "use"}
        spec = spec.get("use", "")
    spec = str(spec)
    if spec in REGISTRY:
        return REGISTRY[spec], options
    module, _, attr = spec.rpartition(":") if ":" in spec else spec.rpartition(".")
    if not module:
        raise ValueError(f"label.taggers: unknown tagger {spec!r} (known: {', '.join(sorted(k for k in REGISTRY if '@' in k))}; "
                         "or a dotted path to a Tagger class)")
    try:
        cls = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"label.taggers: cannot import {spec!r}: {exc}") from exc
    if not (isinstance(cls, type) and issubclass(cls, Tagger)):
        raise ValueError(f"label.taggers: {spec!r} is not a curation_platform.taggers.Tagger subclass")
    return cls, options
