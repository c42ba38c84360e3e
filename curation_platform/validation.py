"""Pure validators behind the asset checks: schema and row conservation."""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl


@dataclass
class Report:
    passed: bool
    description: str
    details: dict = field(default_factory=dict)


def check_columns(df_schema: pl.Schema | dict, required: list[str]) -> Report:
    missing = [c for c in required if c not in df_schema]
    return Report(not missing, "all required columns present" if not missing else f"missing columns: {', '.join(missing)}", {"missing": missing, "columns": list(df_schema)})


def check_conservation(rows_in: int, rows_out: int, kept: int | None = None, dropped: int | None = None) -> Report:
    """Nothing is deleted: every input row is in the output, and kept + dropped = input."""
    ok = rows_in == rows_out and (kept is None or dropped is None or kept + dropped == rows_in)
    desc = f"in={rows_in} out={rows_out}" + (f" kept={kept} dropped={dropped}" if kept is not None else "")
    return Report(ok, desc, {"rows_in": rows_in, "rows_out": rows_out, "kept": kept, "dropped": dropped})


def check_one_survivor(dedup: pl.DataFrame) -> Report:
    """Every cluster has exactly one kept row, and it is the row named by cluster_id."""
    bad = dedup.group_by("cluster_id").agg(pl.col("keep").sum().alias("k")).filter(pl.col("k") != 1)
    return Report(bad.is_empty(), f"{bad.height} clusters without exactly one survivor", {"bad_clusters": bad.height})
