"""The worker state a fork server builds once, before it forks any worker (see
`workers`): imported by the server, it reads the pickled (init, initargs) the parent
left in the environment and builds `init(*initargs)`. A state that fails to build is
not an error here: each worker then builds its own and reports the error itself.

Forking is only safe from a process with one thread: a worker forked after polars ran a
query in the server inherits a thread pool whose threads are gone, and its first query
waits forever. So the state is built only where the process's threads can be counted
(Linux), and a build that starts a thread ends the server before it forks anything: the
pool then starts its workers by `spawn` (see `workers.ordered_map`)."""

from __future__ import annotations

import base64
import gc
import os
import pickle
import sys
from typing import Any

from curation_platform.workers import WARM_ENV

KEY: bytes | None = None
STATE: Any = None


def threads() -> int | None:
    """This process's threads (None where the platform does not say)."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return None


def _build() -> None:
    global KEY, STATE
    raw = os.environ.get(WARM_ENV)
    before = threads()
    if not raw or before is None:
        return
    try:
        key = base64.b64decode(raw)
        init, args = pickle.loads(key)
        if init is not None:
            STATE = init(*args)
        KEY = key
    except Exception:  # noqa: BLE001 - the workers build their own and raise it there
        KEY, STATE = None, None
    if threads() != before:
        sys.stderr.write(f"curation_platform.warm: building the worker state started threads ({before} -> {threads()}); "
                         "the fork server stops and the workers are spawned\n")
        os._exit(0)
    gc.collect()
    gc.freeze()  # the state's objects stay in pages the workers share


_build()
