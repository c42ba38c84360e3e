"""The document contract shared by every corpus: column names, types and stable ids."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Iterator, NoReturn

import polars as pl

# Columns set by parse (every corpus).
PARSED_SCHEMA: dict[str, pl.DataType] = {
    "id": pl.String,
    "corpus": pl.String,
    "source": pl.String,
    "locator": pl.String,
    "text": pl.String,
    "license": pl.String,
    "consent": pl.String,
    "fetched_at": pl.String,
    "encoding": pl.String,
    "lang_hint": pl.String,
    "synthetic": pl.Boolean,
    "generator": pl.String,
    "prompt_hash": pl.String,
}

PARSED_COLUMNS = list(PARSED_SCHEMA)
STANDARDIZED_COLUMNS = [*PARSED_COLUMNS, "std_changes"]
LABELLED_COLUMNS = [*STANDARDIZED_COLUMNS, "lang", "lang_score", "script", "signals", "languages", "variant", "lang_rule", "keep", "drop_reason"]
DEDUP_COLUMNS = ["id", "cluster_id", "dup_count", "keep"]


def jsonl_objects(text: str, fail: Callable[[int, str], NoReturn]) -> Iterator[tuple[int, dict]]:
    """(line number, object) for each non-blank JSONL line; `fail(line, reason)` raises the
    caller's own error for a line that is not a JSON object, so the file and line are named."""
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            fail(n, f"malformed JSON: {exc.msg}")
        if not isinstance(rec, dict):
            fail(n, "expected a JSON object")
        yield n, rec


def doc_id(source: str, locator: str) -> str:
    """Stable id from (source, locator): the same input gets the same id on every rerun."""
    return hashlib.blake2b(f"{source}\x1f{locator}".encode(), digest_size=12).hexdigest()


@dataclass
class Document:
    source: str
    locator: str
    text: str
    corpus: str = "web_crawl"
    license: str | None = None
    consent: str | None = None
    fetched_at: str | None = None
    encoding: str | None = None
    lang_hint: str | None = None
    synthetic: bool = False
    generator: str | None = None
    prompt_hash: str | None = None
    id: str = field(default="")

    def __post_init__(self) -> None:
        if not self.id:
            self.id = doc_id(self.source, self.locator)

    def row(self) -> dict:
        return {k: getattr(self, k) for k in PARSED_SCHEMA}


@dataclass(frozen=True)
class ParseIssue:
    """A record that could not be read: which file, which record, and why."""

    file: str
    record: str
    error: str

    def __str__(self) -> str:
        return f"{self.file} [{self.record}]: {self.error}"


def documents_frame(docs: list[Document]) -> pl.DataFrame:
    return pl.DataFrame([d.row() for d in docs], schema=PARSED_SCHEMA, orient="row")


def issues_frame(issues: list[ParseIssue]) -> pl.DataFrame:
    return pl.DataFrame(
        {"file": [i.file for i in issues], "record": [i.record for i in issues], "error": [i.error for i in issues]},
        schema={"file": pl.String, "record": pl.String, "error": pl.String},
    )


def now_iso() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")
