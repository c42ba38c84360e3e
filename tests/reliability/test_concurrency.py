"""Concurrency on the DuckDB catalogue: two runs started at once against a real on-disk
instance both succeed and the catalogue holds both shards' rows exactly once (the
`duckdb` pool serialises the writers); a reader facing a writer's lock gets a clear
"busy" error naming the file, and succeeds once the lock is gone."""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb

CURATE = str(Path(sys.executable).parent / "curate")


def _shard(path: Path, lines: list[str], offset: int) -> None:
    recs = [{"url": f"https://example.org/{offset + i}", "text": " ".join(lines[offset + i * 5 : offset + i * 5 + 5])} for i in range(30)]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in recs) + "\n", encoding="utf-8")


RUNNER = """
import sys
from dagster import DagsterInstance, execute_job, reconstructable
import curation_platform.assets.definitions as definitions
instance = DagsterInstance.get()
with execute_job(reconstructable(definitions.ingest_job_def), instance, tags={"dagster/partition": sys.argv[1]}) as res:
    print("SUCCESS", res.success, flush=True)
instance.dispose()
"""


def test_two_runs_at_once_keep_the_catalogue_whole(tmp_path, flores):
    """Two runs at once against one real on-disk instance, each in its own process as
    Dagster's run launcher does (two runs in threads of one process deadlock inside
    Python's logging lock in Dagster itself). Each has a deadline: a deadlock fails,
    never hangs."""
    root, home = tmp_path / "data", tmp_path / "dagster_home"
    (root / "inbox" / "web_crawl").mkdir(parents=True)
    home.mkdir()
    shutil.copy(Path(__file__).resolve().parents[2] / "dagster.yaml", home / "dagster.yaml")
    _shard(root / "inbox" / "web_crawl" / "a.jsonl", flores("tgl_Latn"), 0)
    _shard(root / "inbox" / "web_crawl" / "b.jsonl", flores("vie_Latn"), 0)
    env = {**os.environ, "CURATION_DATA_ROOT": str(root), "DAGSTER_HOME": str(home)}
    env.pop("CURATION_EXECUTOR", None)
    env.pop("CURATION_CONFIG", None)
    subprocess.run([sys.executable, "-c", "from dagster import DagsterInstance; i = DagsterInstance.get(); "
                    "i.add_dynamic_partitions('web_crawl_shards', ['a.jsonl', 'b.jsonl']); i.dispose()"],
                   env=env, check=True, timeout=120)
    procs = [subprocess.Popen([sys.executable, "-c", RUNNER, key], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, start_new_session=True) for key in ("a.jsonl", "b.jsonl")]
    outs = []
    try:
        for proc in procs:
            outs.append(proc.communicate(timeout=400))
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, 9)
    for out, err in outs:
        assert "SUCCESS True" in out, (out[-1500:], err[-3000:])
    con = duckdb.connect(str(root / "catalogue.duckdb"), read_only=True)
    rows = con.execute("SELECT shard, lang, rows_in FROM stage_stats WHERE stage = 'label' ORDER BY shard, lang").fetchall()
    con.close()
    by_shard = {}
    for shard, lang, n in rows:
        by_shard.setdefault(shard, {})[lang] = n
    assert set(by_shard) == {"a.jsonl", "b.jsonl"}
    assert by_shard["a.jsonl"].get("tgl_Latn", 0) >= 28 and by_shard["b.jsonl"].get("vie_Latn", 0) >= 28
    assert sum(sum(v.values()) for v in by_shard.values()) == 60  # each shard counted once


def test_reader_gets_a_clear_busy_error_then_succeeds(tmp_path):
    db = tmp_path / "catalogue.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE stage_stats (stage VARCHAR, corpus VARCHAR, shard VARCHAR, lang VARCHAR, rows_in BIGINT, rows_out BIGINT)")
    con.execute("INSERT INTO stage_stats VALUES ('label', 'web_crawl', 's', 'ind_Latn', 10, 9)")
    con.close()
    holder = subprocess.Popen([sys.executable, "-c", f"import duckdb, time; c = duckdb.connect({str(db)!r}); print('locked', flush=True); time.sleep(60)"],
                              stdout=subprocess.PIPE, text=True)
    try:
        ready, _, _ = select.select([holder.stdout], [], [], 60)  # never block forever on a holder that died
        assert ready and holder.stdout.readline().strip() == "locked"
        busy = subprocess.run([CURATE, "stats", "--data-root", str(tmp_path), "--retries", "2"], capture_output=True, text=True, timeout=60)
        assert busy.returncode == 3 and "busy" in busy.stderr and str(db) in busy.stderr
    finally:
        holder.kill()
        holder.wait()
    ok = subprocess.run([CURATE, "stats", "--data-root", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0 and "ind_Latn" in ok.stdout
