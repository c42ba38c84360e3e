"""LLM endpoint faults between the client and the real local server (llama.cpp + Gemma 3
270M): 429, 500, a dropped connection, a non-JSON body and a slow answer are retried with
backoff and the batch completes; answers already cached survive a dead server; past the
retry budget the error is one clear line naming the server, never the API key."""

from __future__ import annotations

import socket

import pytest

from curation_platform.llm import LLMClient, LLMSettings, LLMUnavailable, Request

KEY = "sk-fault-test-secret-77"


def _client(url: str, cache, **kw) -> LLMClient:
    return LLMClient(LLMSettings(base_url=url, model="gemma-3-270m", api="completions", temperature=0.0, max_tokens=4, concurrency=1,
                                 backoff_s=0.05, timeout_s=kw.pop("timeout_s", 30.0), **kw), cache_path=cache)


def _requests(n: int) -> list[Request]:
    return [Request(f"Count in Indonesian: satu, dua, tiga, {i}", seed=i) for i in range(n)]


def test_every_fault_kind_is_retried_and_the_batch_completes(fault_proxy, tmp_path, monkeypatch):
    monkeypatch.setenv("CURATION_LLM_API_KEY", KEY)
    url, state = fault_proxy
    state["script"] = ["429", "500", "drop", "garbage", "slow"]
    logs: list[str] = []
    client = LLMClient(LLMSettings(base_url=url, model="gemma-3-270m", api="completions", temperature=0.0, max_tokens=4, concurrency=1,
                                   backoff_s=0.05, timeout_s=5.0, max_retries=6), cache_path=tmp_path / "c.sqlite", log=logs.append)
    out = client.generate(_requests(3))
    assert len(out) == 3 and all(isinstance(c.text, str) for c in out)
    assert client.usage.retries >= 5 and client.usage.requests == 3
    assert any("retry" in m for m in logs) and not any(KEY in m for m in logs)


def test_cached_answers_survive_a_dead_server_and_the_failure_is_clear(llm_server, tmp_path, monkeypatch):
    monkeypatch.setenv("CURATION_LLM_API_KEY", KEY)
    cache = tmp_path / "c.sqlite"
    first = _client(llm_server, cache).generate(_requests(2))
    with socket.socket() as s:  # a port nobody listens on: the server is down
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/v1"
    down = _client(dead, cache, max_retries=2)
    again = down.generate(_requests(2))  # resumed from the cache: no request reaches the dead server
    assert [c.text for c in again] == [c.text for c in first] and down.usage.cache_hits == 2
    with pytest.raises(LLMUnavailable) as err:
        down.generate(_requests(3))
    msg = str(err.value)
    assert dead in msg and "3 attempts" in msg and "APIConnectionError" in msg and KEY not in msg
    assert down.usage.cache_hits == 4  # the two cached answers were still served first
