"""Pure validators behind the asset checks: schema, row conservation, per-language drop rates."""

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


def check_drop_rates(df: pl.DataFrame, max_share: float = 0.5, min_docs: int = 10, lang_col: str = "lang", skip: tuple[str, ...] = ("und",)) -> Report:
    """No single rule drops more than `max_share` of one language's rows (languages with at
    least `min_docs` rows): the symptom of a threshold nobody calibrated for that language.
    Names each (language, rule, share) over the limit."""
    if df.is_empty():
        return Report(True, "no rows", {"offenders": 0})
    counts = df.group_by(lang_col).agg(pl.len().alias("n")).filter(pl.col("n") >= min_docs)
    drops = df.filter(~pl.col("keep")).group_by(lang_col, "drop_reason").agg(pl.len().alias("d"))
    bad = (drops.join(counts, on=lang_col).with_columns((pl.col("d") / pl.col("n")).alias("share"))
           .filter((pl.col("share") > max_share) & ~pl.col(lang_col).is_in(list(skip))).sort("share", descending=True))
    found = [f"{r[lang_col]}: {r['drop_reason']} drops {r['share']:.0%} of {r['n']}" for r in bad.iter_rows(named=True)]
    return Report(not found, "; ".join(found) if found else f"no rule drops more than {max_share:.0%} of one language",
                  {"offenders": len(found), "max_share": max_share, "worst": found[0] if found else ""})
