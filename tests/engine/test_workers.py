"""Worker processes: the state the fork server builds is what every worker uses, and a
state whose build starts threads (forking after it would hang the workers' polars
queries) sends the workers to `spawn` instead, with the same results. Each case runs in
a fresh interpreter: a process starts its fork server once."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

REPO = Path(__file__).resolve().parents[2]


def models_init(size: int) -> dict:
    """Stands in for loading models: numpy only, no thread started."""
    return {"table": np.arange(size, dtype=np.int64), "built_in": os.getpid()}


def polars_init(size: int) -> dict:
    """A state whose build runs a polars query: polars starts its thread pool."""
    df = pl.DataFrame({"a": np.arange(size) % 7, "b": np.ones(size)})
    return {"table": df.group_by("a").agg(pl.col("b").sum()).sort("a")["b"].to_numpy(), "built_in": os.getpid()}


def job(state: dict, i: int) -> dict:
    from curation_platform import warm
    from curation_platform import workers

    df = pl.DataFrame({"a": np.arange(300_000) % 1000, "b": np.full(300_000, i)})  # a parallel query in the worker
    return {"i": i, "sum": int(df.group_by("a").agg(pl.col("b").sum())["b"].sum()) + int(state["table"].sum()),
            "pid": os.getpid(), "built_in": state["built_in"], "warm": workers._STATE.get("state") is warm.STATE and warm.KEY is not None}


def _python(code: str) -> tuple[object, str]:
    """Run `code` in a fresh interpreter (a fresh fork server); (the JSON on its last line of
    stdout, its stderr)."""
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1]), proc.stderr


def _run(init: str) -> tuple[list[dict], str, int]:
    (out, parent), err = _python("import json, sys; from curation_platform.workers import ordered_map; import tests.engine.test_workers as t; "
                                 f"out = list(ordered_map(t.job, range(6), 2, t.{init}, (200_000,))); import os; print(json.dumps([out, os.getpid()]))")
    return out, err, parent


def test_workers_share_the_state_the_fork_server_built():
    out, err, parent = _run("models_init")
    assert [r["i"] for r in out] == list(range(6))
    table = sum(range(200_000))
    assert [r["sum"] for r in out] == [i * 300_000 + table for i in range(6)]
    assert all(r["warm"] for r in out), out
    built = {r["built_in"] for r in out}
    assert len(built) == 1 and built.isdisjoint({parent} | {r["pid"] for r in out})  # built once, in the server
    assert "started threads" not in err


def test_a_state_that_starts_threads_is_built_by_spawned_workers():
    out, err, parent = _run("polars_init")
    assert "started threads" in err
    assert [r["sum"] for r in out] == [i * 300_000 + 200_000 for i in range(6)]
    assert not any(r["warm"] for r in out)
    assert all(r["built_in"] == r["pid"] for r in out)  # each worker built its own


def test_a_released_fork_server_is_started_again_for_the_next_pool():
    """`release_server` ends the server (dedup calls it before clustering); the next pool,
    with another state, gets a fresh server that builds that state for its workers."""
    code = ("import json, os; from curation_platform import workers; import tests.engine.test_workers as t; "
            "from multiprocessing import forkserver; "
            "a = list(workers.ordered_map(t.job, range(3), 2, t.models_init, (1_000,))); first = forkserver._forkserver._forkserver_pid; "
            "workers.release_server(); gone = forkserver._forkserver._forkserver_pid; "
            "b = list(workers.ordered_map(t.job, range(3), 2, t.models_init, (2_000,))); workers.release_server(); "
            "print(json.dumps([a, b, first, gone]))")
    (a, b, first, gone), _ = _python(code)
    assert first and gone is None
    with pytest.raises(ProcessLookupError):
        os.kill(first, 0)
    assert [r["sum"] for r in a] == [i * 300_000 + sum(range(1_000)) for i in range(3)]
    assert [r["sum"] for r in b] == [i * 300_000 + sum(range(2_000)) for i in range(3)]
    assert all(r["warm"] for r in a + b)  # the second state was built by its own server
    assert {r["built_in"] for r in a}.isdisjoint({r["built_in"] for r in b})


def slow_job(state: dict, i: int) -> int:
    import time

    time.sleep(0.2)
    return i


def test_workers_end_when_the_process_that_owns_them_is_killed():
    """A killed owner sends no shutdown: its workers and the fork server must not wait
    for work forever (each worker watches its owner)."""
    import signal
    import time

    import psutil

    code = ("from curation_platform.workers import ordered_map; import tests.engine.test_workers as t; "
            "[None for _ in ordered_map(t.slow_job, range(10_000), 2, t.models_init, (10,))]")
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=REPO)
    try:
        owner = psutil.Process(proc.pid)
        deadline = time.time() + 60
        while len(owner.children(recursive=True)) < 3 and time.time() < deadline:  # server, workers, resource tracker
            time.sleep(0.2)
        children = owner.children(recursive=True)
        assert len(children) >= 3, children
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        _, alive = psutil.wait_procs(children, timeout=15)
        assert not alive, alive
    finally:
        if proc.poll() is None:
            proc.kill()


def test_the_label_state_is_loaded_whole_before_the_fork_server_forks():
    """`LabelStage.warm` (the workers' init) loads the stock model and the URIEL tables that the
    first batch would load lazily in each worker, and starts no thread, so the fork server
    keeps its workers warm and they share those pages."""
    code = ("import json; from curation_platform import warm; from curation_platform.settings import load_config; "
            "from curation_platform.label import LabelStage, _stage; from curation_platform import langid, typology; "
            "before = warm.threads(); stage = _stage(load_config()); after = warm.threads(); "
            "print(json.dumps([before, after, langid._load_version.cache_info().currsize, typology._table.cache_info().currsize]))")
    (before, after, models, tables), _ = _python(code)
    assert before == after
    assert models >= 2 and tables == 2  # ours and lid.176; genetic and syntax


def test_frames_travel_packed_and_come_back_equal():
    """Frames between the pool and its workers go as compressed Arrow IPC (a quarter of
    their pickle on text); every type the stages use comes back equal, and a frame IPC
    cannot hold (Python objects) travels as it is."""
    from curation_platform.workers import _pack, _Packed, _unpack

    rows = 2_000
    df = pl.DataFrame({
        "id": [f"d{i}" for i in range(rows)],
        "text": ["Kami makan nasi goreng di warung dekat rumah. " * (1 + i % 5) for i in range(rows)],
        "signals": [{"n_words": float(i), "stop_word_ratio": None if i % 3 else 0.5} for i in range(rows)],
        "languages": [[{"lang": "ind_Latn", "share": 0.75}, {"lang": "eng_Latn", "share": 0.25}] if i % 2 else [] for i in range(rows)],
        "std_changes": [["nfc"] if i % 4 else [] for i in range(rows)],
        "keep": [i % 7 != 0 for i in range(rows)],
    }, schema_overrides={"languages": pl.List(pl.Struct({"lang": pl.String, "share": pl.Float64})), "std_changes": pl.List(pl.String)})
    packed = _pack((df, 7))
    assert isinstance(packed[0], _Packed) and packed[1] == 7
    assert len(packed[0].data) * 4 < len(pickle.dumps(df))
    back, seven = _unpack(packed)
    assert seven == 7 and back.schema == df.schema and back.equals(df)
    objects = pl.DataFrame({"o": [object(), object()]})
    assert _pack(objects) is objects and _unpack(_pack(3)) == 3
