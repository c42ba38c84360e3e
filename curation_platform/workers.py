"""Batches over worker processes, results in input order: every core, the same output
for any number of workers (batches are cut the same way whatever the count, and written
in order), and a bounded number of batches in memory.

Workers are not forked from this process (a Dagster process has threads, and polars keeps
a thread pool): they come from a fork server, a fresh interpreter started once per
process (`spawn` where the platform has no fork server). The server imports the engine
and builds the workers' state (models, lexicons, taggers) once, so every worker starts
with it already loaded and shares its pages with the server and the other workers
(copy-on-write; `gc.freeze` keeps the collector from writing to them). A worker whose
`init` or arguments differ from those the server was started with builds its own state.
Each worker ends itself when the process that owns its pool is gone (`_watch`). A run of
a single batch, or `workers=1`, runs in this process without a pool."""

from __future__ import annotations

import base64
import io
import multiprocessing as mp
import os
import pickle
import threading
import time
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Callable, Iterable, Iterator, TypeVar

T = TypeVar("T")
R = TypeVar("R")

WARM_ENV = "CURATION_WORKERS_WARM"  # the pickled (init, initargs) the fork server builds
_MAX_ENV = 64 * 1024  # Linux refuses to start a process with an environment string over 128 KiB
_STATE: dict[str, Any] = {}


def cpu_count() -> int:
    """Cores this process may use (the affinity mask, not the machine's total)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def resolve_workers(value: int | str | None) -> int:
    """`None`, `auto` or 0: every core; otherwise the number given (at least 1)."""
    if value in (None, "", "auto", 0, "0"):
        return cpu_count()
    n = int(value)
    if n < 0:
        raise ValueError(f"workers must be >= 1 or 'auto', got {value}")
    return max(1, n)


def warm_key(init: Callable[..., Any] | None, args: tuple) -> bytes | None:
    """What identifies a worker state: the init function and its arguments, pickled (None
    when they do not pickle: then nothing is shared)."""
    try:
        return pickle.dumps((init, args), protocol=5)
    except Exception:
        return None


def _watch(owner: int, every: float = 1.0) -> None:
    """End this worker once the process that owns its pool is gone: a killed owner sends
    no shutdown, and its workers (and the fork server) would wait for work forever."""
    while True:
        time.sleep(every)
        try:
            os.kill(owner, 0)
        except ProcessLookupError:
            os._exit(1)
        except PermissionError:  # alive, as another user (its pid was reused)
            pass


def _init(init: Callable[..., Any] | None, args: tuple, key: bytes | None, owner: int) -> None:
    threading.Thread(target=_watch, args=(owner,), daemon=True, name="owner-watch").start()
    _STATE.clear()
    from curation_platform import warm

    if key is not None and warm.KEY == key:
        _STATE["state"] = warm.STATE
    elif init is not None:
        _STATE["state"] = init(*args)


class _Packed:
    """A polars frame in transit, as zstd-compressed Arrow IPC: a labelled batch of 5,000
    bench documents is 2.1 MB packed and 8.1 MB pickled, and the batches that wait (in the
    pool's queues, and as results until their turn) are held so; a frame is rebuilt only
    when it is used. Arrow IPC round-trips every polars type the stages use exactly."""

    __slots__ = ("data",)

    def __init__(self, frame: Any):
        buf = io.BytesIO()
        frame.write_ipc(buf, compression="zstd")
        self.data = buf.getvalue()

    def frame(self) -> Any:
        import polars as pl

        return pl.read_ipc(io.BytesIO(self.data))


def _pack(x: Any) -> Any:
    """Frames (alone or in a tuple) packed for the trip between processes; a frame Arrow
    IPC cannot hold (a column of Python objects) travels pickled, as before."""
    import polars as pl

    def one(v: Any) -> Any:
        if not isinstance(v, pl.DataFrame):
            return v
        try:
            return _Packed(v)
        except pl.exceptions.PolarsError:
            return v

    return tuple(map(one, x)) if isinstance(x, tuple) else one(x)


def _unpack(x: Any) -> Any:
    def one(v: Any) -> Any:
        return v.frame() if isinstance(v, _Packed) else v

    return tuple(map(one, x)) if isinstance(x, tuple) else one(x)


def _call(fn: Callable[[Any, Any], R], item: Any) -> Any:
    return _pack(fn(_STATE.get("state"), _unpack(item)))


def _context(init: Callable[..., Any] | None, key: bytes | None) -> mp.context.BaseContext:
    """The fork server, started (once per process) with the engine imported and the state
    for `key` built, to share with every worker it forks."""
    if "forkserver" not in mp.get_all_start_methods():
        return mp.get_context("spawn")
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["polars", "numpy", *([init.__module__] if init is not None else []), "curation_platform.warm"])
    from multiprocessing import forkserver

    raw = base64.b64encode(key).decode("ascii") if key is not None else ""
    if 0 < len(raw) <= _MAX_ENV:  # read by the server as it starts (once per process); not left for other children
        os.environ[WARM_ENV] = raw
    try:
        forkserver.ensure_running()
    finally:
        os.environ.pop(WARM_ENV, None)
    return ctx


def release_server() -> None:
    """Stop this process's fork server, if it runs. Call it when the pools are done and a
    long phase follows in this process (dedup's clustering): the server holds the engine
    and the last pool's state, memory the rest of the command would share the machine
    with. The next pool starts a fresh one, built for that pool's state."""
    from multiprocessing import forkserver

    stop = getattr(forkserver._forkserver, "_stop", None)  # the stdlib's own (test) stop; absent: keep it
    if stop is not None:
        stop()


def ordered_map(fn: Callable[[Any, T], R], items: Iterable[T], workers: int, init: Callable[..., Any] | None = None,
                initargs: tuple = (), prefetch: int = 2) -> Iterator[R]:
    """`fn(state, item)` for every item, yielded in input order; `state = init(*initargs)`
    is built once per worker. At most `workers * prefetch` items are in flight. `fn` and
    `init` must be importable module-level functions (they travel to the workers)."""
    it = iter(items)
    first = next(it, _END)
    if first is _END:
        return
    second = next(it, _END)
    if workers <= 1 or second is _END:
        state = init(*initargs) if init is not None else None
        yield fn(state, first)
        if second is not _END:
            yield fn(state, second)
            for item in it:
                yield fn(state, item)
        return
    key = warm_key(init, initargs)
    pool = ProcessPoolExecutor(workers, mp_context=_context(init, key), initializer=_init, initargs=(init, initargs, key, os.getpid()))
    try:
        head = pool.submit(_call, fn, _pack(first))  # starts the workers
    except (OSError, EOFError):  # the fork server ended (see `warm`): spawn them
        pool.shutdown(cancel_futures=True)
        pool = ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"), initializer=_init, initargs=(init, initargs, None, os.getpid()))
        head = pool.submit(_call, fn, _pack(first))
    with pool:
        pending: deque = deque([head])
        for item in _chain(second, it):
            pending.append(pool.submit(_call, fn, _pack(item)))
            if len(pending) >= workers * prefetch:
                yield _unpack(pending.popleft().result())
        while pending:
            yield _unpack(pending.popleft().result())


_END = object()


def _chain(a: Any, rest: Iterator) -> Iterator:
    yield a
    yield from rest
