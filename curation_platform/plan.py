"""Quality gaps and the mixture plan: which languages to sample how much, and which
data to ask for, from the latest evaluation scores and the data we have.

The loop must terminate. A language's gap boost is quantised, capped, and never
lowered within one plan epoch (same release and config), so successive re-plans
can only move a finite number of steps before the plan stops changing; an unchanged
plan has the same hash and triggers nothing downstream."""

from __future__ import annotations

import math

import polars as pl

from curation_platform.settings import config_hash

GAP_SCHEMA = {
    "language": pl.String, "level": pl.String, "domain": pl.String, "metric": pl.String, "score": pl.Float64,
    "target": pl.Float64, "higher_is_better": pl.Boolean, "gap": pl.Float64, "below_target": pl.Boolean,
}


def _targets_for(lang: str, targets_cfg: dict) -> list[dict]:
    rules = list(targets_cfg.get("default", []) or [])
    override = (targets_cfg.get("languages", {}) or {}).get(lang, []) or []
    keyed = {(r["level"], r.get("domain", "*"), r["metric"]): r for r in rules}
    keyed.update({(r["level"], r.get("domain", "*"), r["metric"]): r for r in override})
    return list(keyed.values())


def quality_gaps(latest: pl.DataFrame, targets_cfg: dict) -> pl.DataFrame:
    """Each latest score against its target. `gap` is the relative shortfall (0 when met):
    (target - score) / |target| where higher is better, (score - target) / |target| otherwise."""
    rows = []
    for r in latest.iter_rows(named=True):
        for t in _targets_for(r["language"], targets_cfg):
            if t["level"] != r["level"] or t["metric"] != r["metric"] or t.get("domain", "*") not in ("*", r["domain"]):
                continue
            target = float(t["target"])
            diff = (target - r["score"]) if r["higher_is_better"] else (r["score"] - target)
            gap = max(0.0, diff / abs(target)) if target else max(0.0, diff)
            rows.append({**{k: r[k] for k in ("language", "level", "domain", "metric", "score", "higher_is_better")},
                         "target": target, "gap": round(gap, 6), "below_target": diff > 0})
            break
    return pl.DataFrame(rows, schema=GAP_SCHEMA).sort(["below_target", "gap"], descending=True) if rows else pl.DataFrame(schema=GAP_SCHEMA)


def unimax(tokens: dict[str, int], budget: int, max_epochs: float) -> dict[str, float]:
    """UniMax (Chung et al. 2023): spread the budget uniformly, but no language beyond
    `max_epochs` passes over its data; what a small language cannot use goes to the rest."""
    alloc: dict[str, float] = {}
    remaining = float(budget)
    order = sorted(tokens, key=lambda k: (tokens[k], k))
    for i, lang in enumerate(order):
        share = remaining / (len(order) - i)
        alloc[lang] = min(share, tokens[lang] * max_epochs)
        remaining -= alloc[lang]
    return alloc


def temperature(tokens: dict[str, int], budget: int, tau: float, max_epochs: float) -> dict[str, float]:
    """Temperature sampling p_i ~ n_i^(1/tau), then capped at `max_epochs` passes."""
    total = sum(tokens.values()) or 1
    raw = {k: (v / total) ** (1.0 / tau) if v else 0.0 for k, v in tokens.items()}
    norm = sum(raw.values()) or 1
    return {k: min(budget * raw[k] / norm, tokens[k] * max_epochs) for k in tokens}


def gap_boosts(gaps: pl.DataFrame, cfg: dict, previous: dict[str, float] | None = None) -> dict[str, float]:
    """Per-language boost 1 + per_unit_gap * worst gap, quantised to `step`, capped at `max`,
    never below the previous plan's boost in the same epoch (monotone => the loop stops)."""
    per_unit, cap, step = float(cfg.get("per_unit_gap", 2.0)), float(cfg.get("max", 3.0)), float(cfg.get("step", 0.25))
    boosts: dict[str, float] = dict(previous or {})
    below = gaps.filter(pl.col("below_target")) if not gaps.is_empty() else gaps
    if not below.is_empty():
        for r in below.group_by("language").agg(pl.col("gap").max()).iter_rows(named=True):
            raw = min(cap, 1.0 + per_unit * r["gap"])
            quantised = min(cap, math.ceil(raw / step - 1e-9) * step)
            boosts[r["language"]] = max(boosts.get(r["language"], 1.0), quantised)
    return boosts


def plan_mixture(available: dict[str, dict], gaps: pl.DataFrame, loop_cfg: dict, *, epoch: str,
                 previous_boosts: dict[str, float] | None = None, seed_hosts: dict[str, list[str]] | None = None) -> dict:
    """The plan: per-language weight, token budget and epochs; and bounded data requests.

    `available`: {lang: {"tokens": int, "docs": int}} from the release manifest."""
    s = loop_cfg.get("sampling", {})
    budget = int(s.get("total_tokens", 1_000_000))
    max_epochs = float(s.get("max_epochs", 4))
    tokens = {k: int(v.get("tokens", 0)) for k, v in available.items() if v.get("tokens", 0) > 0}
    base = unimax(tokens, budget, max_epochs) if s.get("method", "unimax") == "unimax" else temperature(tokens, budget, float(s.get("temperature", 3.33)), max_epochs)
    boosts = gap_boosts(gaps, loop_cfg.get("gap_boost", {}), previous_boosts)
    boosted = {k: base[k] * boosts.get(k, 1.0) for k in base}
    norm = sum(boosted.values()) or 1.0
    languages, shortfall = {}, {}
    for lang in sorted(tokens):
        want = budget * boosted[lang] / norm
        cap = tokens[lang] * max_epochs
        planned = min(want, cap)
        shortfall[lang] = max(0.0, want - cap)
        languages[lang] = {
            "available_tokens": tokens[lang], "docs": int(available[lang].get("docs", 0)),
            "base_weight": round(base[lang] / budget, 6) if budget else 0.0, "boost": boosts.get(lang, 1.0),
            "weight": round(planned / budget, 6) if budget else 0.0, "budget_tokens": int(round(planned)),
            "epochs": round(planned / tokens[lang], 4), "shortfall_tokens": int(round(shortfall[lang])),
        }
    requests = data_requests(gaps, languages, shortfall, loop_cfg.get("requests", {}), seed_hosts or {})
    plan = {"epoch": epoch, "budget_tokens": budget, "method": s.get("method", "unimax"), "max_epochs": max_epochs,
            "languages": languages, "requests": requests}
    plan["plan_hash"] = config_hash({k: plan[k] for k in ("epoch", "budget_tokens", "method", "max_epochs", "languages", "requests")})
    return plan


def data_requests(gaps: pl.DataFrame, languages: dict, shortfall: dict[str, float], cfg: dict, seed_hosts: dict[str, list[str]]) -> list[dict]:
    """What to generate (synthetic) and re-collect, per language x level x domain below target.

    Amount: the language's token shortfall (what the plan wanted but the data cannot give
    within the epoch cap) shared over its gaps by size, at least `min_tokens`; all requests
    together are scaled into `budget_tokens`. Languages without data get `min_tokens`."""
    below = gaps.filter(pl.col("below_target")) if not gaps.is_empty() else gaps
    if below.is_empty():
        return []
    min_tokens, budget = int(cfg.get("min_tokens", 10_000)), int(cfg.get("budget_tokens", 500_000))
    synth_share = float(cfg.get("synthetic_share", 0.5))
    reqs = []
    for lang, group in sorted(below.group_by("language"), key=lambda kv: kv[0][0]):
        lang = lang[0]
        total_gap = float(group["gap"].sum()) or 1.0
        need = shortfall.get(lang, 0.0)
        for r in group.sort(["level", "domain", "metric"]).iter_rows(named=True):
            amount = max(min_tokens, need * r["gap"] / total_gap)
            synth = amount * synth_share
            reqs.append({"kind": "synthetic", "language": lang, "level": r["level"], "domain": r["domain"], "metric": r["metric"],
                         "tokens": synth, "seeds": []})
            if r["level"] in ("basic", "domain"):
                reqs.append({"kind": "recollect", "language": lang, "level": r["level"], "domain": r["domain"], "metric": r["metric"],
                             "tokens": amount - synth, "seeds": seed_hosts.get(lang, [])[:10]})
    total = sum(r["tokens"] for r in reqs)
    scale = min(1.0, budget / total) if total else 1.0
    for r in reqs:
        r["tokens"] = int(r["tokens"] * scale)
    return reqs


def rehydration_factor(dup_count: int, table: list[dict]) -> float:
    """FineWeb-2 style: documents whose content was seen in several places are upsampled
    (bins from config); very large clusters (templates, boilerplate) are not."""
    for row in table:
        lo, hi = row.get("min_dup", 1), row.get("max_dup")
        if dup_count >= lo and (hi is None or dup_count <= hi):
            return float(row["factor"])
    return 1.0
