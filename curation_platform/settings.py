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
    pol = cfg.setdefault("policy", {})
    if pol.get("calibrated") is None:
        pol["calibrated"] = model_calibration(cfg.get("langid", {}).get("trained_dir"))
    return cfg


def model_calibration(trained_dir: str | None) -> dict:
    """The per-language thresholds calibrated with the language-ID model (its policy.json):
    every language our model knows has thresholds measured on its own text."""
    from curation_platform.langid_model import resolve_model_dir

    if trained_dir == "stock":
        trained_dir = None
    try:
        folder = resolve_model_dir(trained_dir)
    except OSError:
        return {}
    return copy.deepcopy(_calibration_file(str(folder / "policy.json"))) if folder and (folder / "policy.json").is_file() else {}


@lru_cache(maxsize=8)
def _calibration_file(path: str) -> dict:
    return json.loads(Path(path).read_text("utf-8")).get("languages", {})


def config_hash(section: Any) -> str:
    """Short stable hash of a config section; goes into manifests and output paths."""
    blob = json.dumps(section, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:12]


def language_policy(policy_cfg: dict, lang: str) -> dict:
    """Thresholds for one language: default, then script wildcards ("*_Thai"), then the
    thresholds calibrated on the language's own text (or, for a language without a
    calibration, those of its nearest calibrated relative in the same script, by URIEL),
    then the exact code's overrides."""
    merged = dict(policy_cfg.get("default", {}))
    overrides = policy_cfg.get("languages", {}) or {}
    for pattern, values in overrides.items():
        if "*" in pattern and fnmatch.fnmatchcase(lang, pattern):
            merged.update(values or {})
    calibrated = policy_cfg.get("calibrated") or {}
    if calibrated:
        source = lang if lang in calibrated else nearest_calibrated(lang, tuple(sorted(calibrated)))
        merged.update(calibrated.get(source, {}) if source else {})
    merged.update(overrides.get(lang, {}) or {})
    return merged


@lru_cache(maxsize=1024)
def nearest_calibrated(lang: str, calibrated: tuple[str, ...], max_distance: float = 0.5) -> str | None:
    """The calibrated language closest to `lang` by URIEL (genetic and syntactic features)
    among those written in the same script; None when none is close or URIEL lacks `lang`."""
    if "_" not in lang:
        return None
    script = lang.split("_", 1)[1]
    same = [c for c in calibrated if c.endswith("_" + script)]
    if not same:
        return None
    try:
        from curation_platform import typology

        codes = typology.known([lang, *same])
        if not codes or codes[0] != lang or len(codes) < 2:
            return None
        dist = typology.distance_matrix(codes, {"genetic": 1.0, "syntax": 1.0})[0]
    except (OSError, KeyError, ValueError):
        return None
    j = min(range(1, len(codes)), key=lambda i: dist[i])
    return codes[j] if dist[j] <= max_distance else None
