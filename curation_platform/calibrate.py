"""Per-language policy thresholds from the signal distributions of reference text
(FineWeb-2 style): a fixed English-tuned threshold drops good Javanese or Thai, so each
language gets the value that keeps nearly all of its own clean text.

For each calibrated rule the threshold is a low (min rules) or high (max rules)
quantile of the signal over reference documents, loosened by a margin. The output is
policy YAML, with the data it came from recorded beside it."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

import yaml

from curation_platform.quality import quality_signals
from curation_platform.words import stop_words

# policy key -> (signal, "min" | "max")
CALIBRATED = {
    "min_mean_word_length": ("mean_word_length", "min"),
    "max_mean_word_length": ("mean_word_length", "max"),
    "max_symbol_word_ratio": ("symbol_word_ratio", "max"),
    "min_alpha_words_ratio": ("alpha_words_ratio", "min"),
    "min_stop_word_ratio": ("stop_word_ratio", "min"),
}


def _quantile(values: list[float], q: float) -> float:
    vals = sorted(values)
    if not vals:
        raise ValueError("no values")
    pos = q * (len(vals) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(vals) - 1)
    return vals[lo] + (vals[hi] - vals[lo]) * (pos - lo)


def reference_documents(lines: list[str], per_doc: int = 8) -> list[str]:
    """Consecutive sentences joined into documents, as a page would hold them."""
    return ["\n".join(lines[i : i + per_doc]) for i in range(0, len(lines) - per_doc + 1, per_doc)]


def calibrate(reference: dict[str, list[str]], *, low: float = 0.02, high: float = 0.98, margin: float = 0.15,
              lexicons: dict | None = None, policy: dict | None = None) -> dict[str, dict[str, float]]:
    """{lang: {policy key: threshold}} from reference documents per language. A min rule
    gets quantile(low) * (1 - margin), a max rule quantile(high) * (1 + margin); a signal
    that cannot be measured for a language (no stop list) is left out.

    With `policy` (the current policy section), a calibrated value never makes a rule
    that is already on stricter than it is for that language: edited reference text
    (FLORES, UDHR) is cleaner than any web page, so its tails only tell where a
    language needs *looser* thresholds; rules that are off (null) are switched on."""
    from curation_platform.settings import language_policy

    out: dict[str, dict[str, float]] = {}
    for lang, docs in sorted(reference.items()):
        stop = stop_words(lang)
        sigs = [quality_signals(d, stop=stop, lang=lang, lexicons=lexicons) for d in docs]
        th: dict[str, float] = {}
        for key, (signal, kind) in CALIBRATED.items():
            vals = [s[signal] for s in sigs if s.get(signal) is not None]
            if len(vals) < 10 or (signal == "stop_word_ratio" and not stop):
                continue
            value = _quantile(vals, low) * (1 - margin) if kind == "min" else _quantile(vals, high) * (1 + margin)
            current = language_policy(policy, lang).get(key) if policy else None
            if current is not None:
                value = min(value, current) if kind == "min" else max(value, current)
            th[key] = round(value, 4)
        out[lang] = th
    return out


def calibration_yaml(thresholds: dict[str, dict[str, float]], sources: dict[str, str], params: dict) -> str:
    """Policy overrides ready to merge (`CURATION_CONFIG` / `--config`), with provenance."""
    doc = {"policy": {"languages": thresholds},
           "calibration": {"method": "per-language quantiles of reference documents (FineWeb-2 style)", **params, "sources": sources}}
    return yaml.safe_dump(doc, sort_keys=True, allow_unicode=True)


def flores_reference(data_dir: Path, lines: tuple[int, int] = (1, 506), per_doc: int = 8, langs: Iterable[str] | None = None) -> dict[str, list[str]]:
    ref = {}
    for path in sorted((data_dir / "flores200" / "devtest").glob("*.devtest")):
        code = path.name.split(".")[0]
        if langs and code not in langs:
            continue
        sents = [s for s in path.read_text("utf-8").splitlines()[lines[0] - 1 : lines[1]] if s.strip()]
        ref[code] = reference_documents(sents, per_doc)
    return ref
