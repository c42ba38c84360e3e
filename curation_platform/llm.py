"""Text generation through the `openai` client against any OpenAI-compatible server
(a hosted API, vLLM, Ollama, llama.cpp's server).

Two request shapes, chosen in config: `chat` (chat.completions, for instruct models) and
`completions` (plain continuation, for base models, whose chat endpoint returns empty or
looping text). Every request is cached on disk by the hash of everything that shapes its
answer, so a rerun costs nothing and an interrupted run resumes where it stopped.
Retries with exponential backoff on 429, 5xx, timeouts and dropped connections are done
here (the client's own retries are off) so they can be counted."""

from __future__ import annotations

import hashlib
import json
import os
import random
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence


@dataclass(frozen=True)
class LLMSettings:
    base_url: str
    model: str
    api: str = "completions"            # or "chat"
    api_key_env: str = "CURATION_LLM_API_KEY"
    temperature: float = 0.7
    max_tokens: int = 256
    concurrency: int = 2
    max_retries: int = 5
    backoff_s: float = 0.5
    timeout_s: float = 120.0
    price_prompt_per_1k: float = 0.0    # currency units per 1k prompt tokens, for the cost line
    price_completion_per_1k: float = 0.0

    @classmethod
    def from_dict(cls, d: dict) -> "LLMSettings":
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__ and v is not None}
        if not known.get("base_url"):
            raise ValueError("LLM settings need base_url (synthetic.llm.base_url or CURATION_LLM_URL)")
        return cls(**known)


@dataclass(frozen=True)
class Request:
    prompt: str
    temperature: float | None = None
    max_tokens: int | None = None
    stop: tuple[str, ...] = ()
    seed: int = 0                       # distinct samples of one prompt get distinct seeds (and cache keys)
    logprobs: int = 0                   # completions api: top-k log-probabilities of the first token


@dataclass
class Completion:
    text: str
    prompt_tokens: int
    completion_tokens: int
    cached: bool
    key: str
    finish_reason: str | None = None
    top_logprobs: dict[str, float] | None = None


@dataclass
class Usage:
    requests: int = 0
    cache_hits: int = 0
    retries: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)

    def as_dict(self, settings: LLMSettings) -> dict:
        total = self.requests + self.cache_hits
        cost = self.prompt_tokens / 1000 * settings.price_prompt_per_1k + self.completion_tokens / 1000 * settings.price_completion_per_1k
        return {"requests": self.requests, "cache_hits": self.cache_hits, "cache_hit_rate": round(self.cache_hits / total, 4) if total else 0.0,
                "retries": self.retries, "prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens,
                "cost": round(cost, 6), "seconds": round(self.seconds, 2),
                "requests_per_s": round(self.requests / self.seconds, 3) if self.seconds and self.requests else None,
                "errors": len(self.errors)}


class CompletionCache:
    """request hash -> answer, one SQLite file; written after every answer so a killed run resumes."""

    def __init__(self, path: str | Path):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.con = sqlite3.connect(str(path), timeout=60, check_same_thread=False)
        self.con.execute("CREATE TABLE IF NOT EXISTS completions (key TEXT PRIMARY KEY, answer TEXT)")
        self.lock = threading.Lock()

    def get(self, key: str) -> dict | None:
        with self.lock:
            row = self.con.execute("SELECT answer FROM completions WHERE key = ?", [key]).fetchone()
        return json.loads(row[0]) if row else None

    def put(self, key: str, answer: dict) -> None:
        with self.lock, self.con:
            self.con.execute("INSERT OR REPLACE INTO completions VALUES (?, ?)", [key, json.dumps(answer, ensure_ascii=False)])


class LLMUnavailable(RuntimeError):
    """The server kept failing past the retry budget (answers cached so far are kept)."""


def _retryable(exc: Exception) -> bool:
    """Transient: rate limits, timeouts, dropped connections, 5xx, and a body that is not
    the API's JSON (a proxy's error page)."""
    import openai

    if isinstance(exc, (openai.RateLimitError, openai.APITimeoutError, openai.APIConnectionError, openai.InternalServerError,
                        openai.APIResponseValidationError, json.JSONDecodeError)):
        return True
    return isinstance(exc, openai.APIStatusError) and (exc.status_code == 429 or exc.status_code >= 500)


class LLMClient:
    """The API key is read from the environment variable `api_key_env` and only handed to
    the client: it is never part of a cache key, a log line or metadata."""

    def __init__(self, settings: LLMSettings, cache_path: str | Path | None = None, log: Callable[[str], None] | None = None):
        from openai import OpenAI

        self.settings = settings
        self.client = OpenAI(base_url=settings.base_url, api_key=os.environ.get(settings.api_key_env) or "not-needed",
                             max_retries=0, timeout=settings.timeout_s)
        self.cache = CompletionCache(cache_path) if cache_path else None
        self.usage = Usage()
        self.log = log or (lambda msg: None)
        self._lock = threading.Lock()

    def key(self, req: Request) -> str:
        s = self.settings
        shape = {"model": s.model, "api": s.api, "prompt": req.prompt, "stop": list(req.stop), "seed": req.seed, "logprobs": req.logprobs,
                 "temperature": s.temperature if req.temperature is None else req.temperature,
                 "max_tokens": s.max_tokens if req.max_tokens is None else req.max_tokens}
        return hashlib.sha256(json.dumps(shape, sort_keys=True, ensure_ascii=False).encode()).hexdigest()

    def _call(self, req: Request) -> dict:
        s = self.settings
        temperature = s.temperature if req.temperature is None else req.temperature
        max_tokens = s.max_tokens if req.max_tokens is None else req.max_tokens
        stop = list(req.stop) or None
        top: dict[str, float] | None = None
        if s.api == "chat":
            resp = self.client.chat.completions.create(model=s.model, messages=[{"role": "user", "content": req.prompt}],
                                                       temperature=temperature, max_tokens=max_tokens, stop=stop, seed=req.seed)
            choice = resp.choices[0]
            text, finish = choice.message.content or "", choice.finish_reason
        elif s.api == "completions":
            resp = self.client.completions.create(model=s.model, prompt=req.prompt, temperature=temperature, max_tokens=max_tokens,
                                                  stop=stop, seed=req.seed, logprobs=req.logprobs or None)
            choice = resp.choices[0]
            text, finish = choice.text or "", choice.finish_reason
            lp = getattr(choice, "logprobs", None)
            if req.logprobs and lp is not None and getattr(lp, "top_logprobs", None):
                top = {str(k): float(v) for k, v in (lp.top_logprobs[0] or {}).items()}
        else:
            raise ValueError(f"unknown LLM api {s.api!r}: use 'chat' or 'completions'")
        usage = resp.usage
        return {"text": text, "prompt_tokens": getattr(usage, "prompt_tokens", 0) or 0,
                "completion_tokens": getattr(usage, "completion_tokens", 0) or 0, "finish_reason": finish, "top_logprobs": top}

    def _one(self, req: Request) -> Completion:
        key = self.key(req)
        if self.cache and (hit := self.cache.get(key)) is not None:
            with self._lock:
                self.usage.cache_hits += 1
            return Completion(hit["text"], hit["prompt_tokens"], hit["completion_tokens"], True, key, hit.get("finish_reason"), hit.get("top_logprobs"))
        attempt = 0
        while True:
            try:
                answer = self._call(req)
                break
            except Exception as exc:  # noqa: BLE001 - classified below
                if not _retryable(exc) or attempt >= self.settings.max_retries:
                    with self._lock:
                        self.usage.errors.append(f"{type(exc).__name__}: {exc}"[:300])
                    if _retryable(exc):
                        raise LLMUnavailable(f"LLM server {self.settings.base_url} (model {self.settings.model}) failed {attempt + 1} attempts; "
                                             f"last error {type(exc).__name__}: {str(exc)[:200]}. Answers so far are cached; rerun to resume.") from exc
                    raise
                delay = self.settings.backoff_s * 2**attempt * (1 + random.random() / 4)
                self.log(f"LLM request failed ({type(exc).__name__}), retry {attempt + 1}/{self.settings.max_retries} in {delay:.1f}s")
                with self._lock:
                    self.usage.retries += 1
                time.sleep(delay)
                attempt += 1
        if self.cache:
            self.cache.put(key, answer)
        with self._lock:
            self.usage.requests += 1
            self.usage.prompt_tokens += answer["prompt_tokens"]
            self.usage.completion_tokens += answer["completion_tokens"]
        return Completion(answer["text"], answer["prompt_tokens"], answer["completion_tokens"], False, key, answer["finish_reason"], answer["top_logprobs"])

    def generate(self, requests: Sequence[Request], progress: Callable[[int, int], None] | None = None) -> list[Completion]:
        """Answers in request order; up to `concurrency` requests in flight."""
        t0 = time.perf_counter()
        out: list[Completion | None] = [None] * len(requests)
        done = 0
        with ThreadPoolExecutor(max_workers=max(1, self.settings.concurrency)) as pool:
            futures = {pool.submit(self._one, r): i for i, r in enumerate(requests)}
            try:
                for fut in futures:
                    out[futures[fut]] = fut.result()
                    done += 1
                    if progress and (done % 10 == 0 or done == len(requests)):
                        progress(done, len(requests))
            except BaseException:
                for f in futures:
                    f.cancel()
                raise
        self.usage.seconds += time.perf_counter() - t0
        return [c for c in out if c is not None]
