"""curation_platform: the engine. Plain Python over polars frames and files; no Dagster
imports here (the asset graph lives in `assets/`, installed as curation_platform.assets)."""

__version__ = "0.1.0"
