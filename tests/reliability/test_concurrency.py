"""Concurrency on the DuckDB catalogue: two runs started at once against a real on-disk
instance both succeed and the catalogue holds both shards' rows exactly once (the
`duckdb` pool serialises the writers); a reader facing a writer's lock gets a clear
"busy" error naming the file, and succeeds once the lock is gone."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import duckdb
from dagster import DagsterInstance, execute_job, reconstructable

CURATE = str(Path(sys.executable).parent / "curate")


def _shard(path: Path, lines: list[str], offset: int) -> None:
    recs = [{"url": f"https://example.org/{offset + i}", "text": " ".join(lines[offset + i * 5 : offset + i * 5 + 5])} for i in range(30)]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in recs) + "\n", encoding="utf-8")


def test_two_runs_at_once_keep_the_catalogue_whole(tmp_path, monkeypatch, flores):
    root, home = tmp_path / "data", tmp_path / "dagster_home"
    (root / "inbox" / "web_crawl").mkdir(parents=True)
    home.mkdir()
    shutil.copy(Path(__file__).resolve().parents[2] / "dagster.yaml", home / "dagster.yaml")
    _shard(root / "inbox" / "web_crawl" / "a.jsonl", flores("tgl_Latn"), 0)
    _shard(root / "inbox" / "web_crawl" / "b.jsonl", flores("vie_Latn"), 0)
    monkeypatch.setenv("CURATION_DATA_ROOT", str(root))
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    import importlib

    import curation_platform.assets.definitions as definitions

    importlib.reload(definitions)
    instance = DagsterInstance.get()
    results: dict[str, bool] = {}
    try:
        instance.add_dynamic_partitions("web_crawl_shards", ["a.jsonl", "b.jsonl"])

        def run(key: str) -> None:
            with execute_job(reconstructable(definitions.ingest_job_def), instance, tags={"dagster/partition": key}) as res:
                results[key] = res.success

        threads = [threading.Thread(target=run, args=(k,)) for k in ("a.jsonl", "b.jsonl")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
        assert results == {"a.jsonl": True, "b.jsonl": True}
    finally:
        instance.dispose()
        importlib.reload(definitions)
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
        assert holder.stdout.readline().strip() == "locked"
        busy = subprocess.run([CURATE, "stats", "--data-root", str(tmp_path), "--retries", "2"], capture_output=True, text=True, timeout=60)
        assert busy.returncode == 3 and "busy" in busy.stderr and str(db) in busy.stderr
    finally:
        holder.kill()
        holder.wait()
    ok = subprocess.run([CURATE, "stats", "--data-root", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0 and "ind_Latn" in ok.stdout
