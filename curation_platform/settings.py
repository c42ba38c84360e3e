"""Declarative configuration: packaged defaults, a user YAML deep-merged over them,
and per-language overrides resolved in one place so every stage sees the same values."""

from __future__ import annotations

import copy
import fnmatch
import hashlib
import json
import os
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

CONFIG_ENV = "CURATION_CONFIG"


def deep_merge(base: dict, override: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in (override or {}).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


@lru_cache(maxsize=1)
def _defaults() -> dict:
    text = resources.files("curation_platform").joinpath("config/defaults.yaml").read_text("utf-8")
    return yaml.safe_load(text)


def load_config(path: str | Path | None = None, overrides: dict | None = None) -> dict:
    """Defaults <- user YAML (argument or $CURATION_CONFIG) <- in-code overrides. Always a
    fresh copy: callers may change it without touching the cached defaults."""
    cfg = copy.deepcopy(_defaults())
    path = path or os.environ.get(CONFIG_ENV)
    if path:
        p = Path(path)
        if not p.is_file():
            raise FileNotFoundError(f"config file not found: {p}")
        try:
            user = yaml.safe_load(p.read_text("utf-8")) or {}
        except yaml.YAMLError as exc:
            raise ValueError(f"{p}: invalid YAML: {exc}") from exc
        if not isinstance(user, dict):
            raise ValueError(f"{p}: top level must be a mapping, got {type(user).__name__}")
        cfg = deep_merge(cfg, user)
    if overrides:
        cfg = deep_merge(cfg, overrides)
    return cfg


def config_hash(section: Any) -> str:
    """Short stable hash of a config section; goes into manifests and output paths."""
    blob = json.dumps(section, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:12]


def language_policy(policy_cfg: dict, lang: str) -> dict:
    """Thresholds for one language: default, then script wildcards ("*_Thai"), then the exact code."""
    merged = dict(policy_cfg.get("default", {}))
    overrides = policy_cfg.get("languages", {}) or {}
    for pattern, values in overrides.items():
        if "*" in pattern and fnmatch.fnmatchcase(lang, pattern):
            merged.update(values or {})
    merged.update(overrides.get(lang, {}) or {})
    return merged
