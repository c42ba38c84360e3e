"""Metadata helpers shared by the assets: markdown tables and inline PNG charts."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from dagster import AssetCheckResult, AssetCheckSeverity, MetadataValue

from curation_platform import plots
from curation_platform.validation import Report, check_columns


def check_result(name: str, report: Report, *, warn: bool = False) -> AssetCheckResult:
    """Map a pure validator report to a Dagster check result."""
    return AssetCheckResult(
        check_name=name, passed=report.passed, description=report.description,
        severity=AssetCheckSeverity.WARN if warn else AssetCheckSeverity.ERROR,
        metadata={k: v for k, v in report.details.items() if isinstance(v, (int, float, str))},
    )


def drop_rate_check(path: Path, cfg: dict, *, lang_col: str = "lang", name: str = "drop_rate_per_language") -> AssetCheckResult:
    """A warning (never blocking) when one rule drops more than `checks.max_rule_drop_share`
    of one language's rows in a shard, naming the rule and the language."""
    from curation_platform.validation import check_drop_rates

    ccfg = cfg.get("checks", {}) or {}
    df = pl.read_parquet(path, columns=[lang_col, "keep", "drop_reason"])
    report = check_drop_rates(df, float(ccfg.get("max_rule_drop_share", 0.5)), int(ccfg.get("min_docs_per_language", 10)), lang_col)
    return check_result(name, report, warn=True)


def schema_check(path: Path, required: list[str]) -> AssetCheckResult:
    return check_result("schema", check_columns(pl.read_parquet_schema(path), required))


def language_table(per_language: dict[str, dict[str, int]]) -> MetadataValue:
    rows = [{"lang": k, "in": v["in"], "kept": v["kept"], "retention": (v["kept"] / v["in"]) if v["in"] else 0.0} for k, v in sorted(per_language.items(), key=lambda kv: -kv[1]["in"])]
    return MetadataValue.md(plots.markdown_table(rows, ["lang", "in", "kept", "retention"]))


def counts_table(counts: dict[str, int], key: str, value: str = "docs") -> MetadataValue:
    rows = [{key: k, value: v} for k, v in sorted(counts.items(), key=lambda kv: -kv[1])]
    return MetadataValue.md(plots.markdown_table(rows, [key, value]))


def pii_table(counts: dict[str, dict[str, int]], key: str = "language") -> MetadataValue:
    """Redactions per language (or pair) and type in a release."""
    from curation_platform.pii import pii_card_lines

    return MetadataValue.md("\n".join(pii_card_lines(counts, key)))


def chart(png: bytes, alt: str) -> MetadataValue:
    return MetadataValue.md(plots.markdown_image(png, alt))
