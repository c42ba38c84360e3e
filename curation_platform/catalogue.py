"""DuckDB catalogue: views over the parquet lake and a per-stage statistics table.

DuckDB allows one writer per file; callers hold the connection only for these short
statements (and Dagster serialises them through a concurrency pool)."""

from __future__ import annotations

from pathlib import Path

STATS_DDL = """
CREATE TABLE IF NOT EXISTS stage_stats (
    stage VARCHAR, corpus VARCHAR, shard VARCHAR, lang VARCHAR,
    rows_in BIGINT, rows_out BIGINT, recorded_at TIMESTAMP DEFAULT current_timestamp
)
"""


def record_stats(con, stage: str, corpus: str, shard: str, per_language: dict[str, dict[str, int]]) -> int:
    """Replace the stats of one (stage, corpus, shard): reruns never double-count."""
    con.execute(STATS_DDL)
    con.execute("DELETE FROM stage_stats WHERE stage = ? AND corpus = ? AND shard = ?", [stage, corpus, shard])
    rows = [(stage, corpus, shard, lang, v["in"], v["kept"]) for lang, v in sorted(per_language.items())]
    if rows:
        con.executemany("INSERT INTO stage_stats (stage, corpus, shard, lang, rows_in, rows_out) VALUES (?, ?, ?, ?, ?, ?)", rows)
    return len(rows)


def register_views(con, lake_root: str | Path, release_current: str | Path | None = None) -> list[str]:
    """(Re)create one view per stage folder that has parquet files; returns the view names."""
    lake_root = Path(lake_root)
    made = []
    for stage_dir in sorted(p for p in lake_root.glob("*/*") if p.is_dir()):
        if not any(stage_dir.glob("*.parquet")) or not all(part.isidentifier() for part in (stage_dir.parent.name, stage_dir.name)):
            continue  # hidden caches (dedup keys) are not stages
        name = f"{stage_dir.parent.name}_{stage_dir.name}"
        glob = str(stage_dir / "*.parquet").replace("'", "''")
        con.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM read_parquet('{glob}', union_by_name = true)")
        made.append(name)
    if release_current and Path(release_current).exists():
        glob = str(Path(release_current).resolve() / "*" / "*.parquet").replace("'", "''")
        con.execute(f"CREATE OR REPLACE VIEW release_current AS SELECT * FROM read_parquet('{glob}', union_by_name = true)")
        made.append("release_current")
    return made


def stats_table(con, stage: str) -> list[tuple]:
    return con.execute(
        "SELECT lang, sum(rows_in), sum(rows_out) FROM stage_stats WHERE stage = ? GROUP BY lang ORDER BY 2 DESC", [stage]
    ).fetchall()
