"""Batches over worker processes, results in input order: every core, the same output
for any number of workers (batches are cut the same way whatever the count, and written
in order), and a bounded number of batches in memory.

Workers are spawned (not forked: a Dagster process has threads) and build their state
once (models, taggers) through `init`; a run of a single batch, or `workers=1`, runs in
this process without a pool."""

from __future__ import annotations

import multiprocessing as mp
import os
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Callable, Iterable, Iterator, TypeVar

T = TypeVar("T")
R = TypeVar("R")

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


def _init(init: Callable[..., Any] | None, args: tuple) -> None:
    _STATE.clear()
    if init is not None:
        _STATE["state"] = init(*args)


def _call(fn: Callable[[Any, Any], R], item: Any) -> R:
    return fn(_STATE.get("state"), item)


def ordered_map(fn: Callable[[Any, T], R], items: Iterable[T], workers: int, init: Callable[..., Any] | None = None,
                initargs: tuple = (), prefetch: int = 2) -> Iterator[R]:
    """`fn(state, item)` for every item, yielded in input order; `state = init(*initargs)`
    is built once per worker. At most `workers * prefetch` items are in flight. `fn` and
    `init` must be importable module-level functions (they travel to spawned workers)."""
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
    with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"), initializer=_init, initargs=(init, initargs)) as pool:
        pending: deque = deque()
        for item in _chain(first, second, it):
            pending.append(pool.submit(_call, fn, item))
            if len(pending) >= workers * prefetch:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


_END = object()


def _chain(a: Any, b: Any, rest: Iterator) -> Iterator:
    yield a
    yield b
    yield from rest
