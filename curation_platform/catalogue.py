"""DuckDB catalogue: views over the parquet lake and a per-stage statistics table.

DuckDB allows one writer per file; callers hold the connection only for these short
statements (and Dagster serialises them through a concurrency pool)."""

from __future__ import annotations

from pathlib import Path

class CatalogueBusy(RuntimeError):
    """Another process holds the DuckDB file's write lock past the retry budget."""


def connect(database: str | Path, read_only: bool = False, retries: int = 8, first_delay_s: float = 0.1):
    """A DuckDB connection that waits (exponential backoff) for another process's write
    lock, then fails with a clear `CatalogueBusy` naming the file, never a half-written file."""
    import time

    import duckdb

    delay = first_delay_s
    for attempt in range(retries + 1):
        try:
            return duckdb.connect(str(database), read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or attempt == retries:
                if "lock" in str(exc).lower():
                    raise CatalogueBusy(f"catalogue {database} is busy: another process is writing it; retry in a moment ({exc})") from exc
                raise
            time.sleep(delay)
            delay = min(delay * 2, 2.0)
    raise AssertionError("unreachable")


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
