"""Evaluation results in: lm-evaluation-harness results JSON and a simple CSV/JSONL
format, normalised to one row per (language, level, domain, metric).

Levels follow TransBench: `basic` language ability, `domain` expertise, `culture`
adaptation. A malformed file raises EvalFileError naming the file and the line or
task, so the caller can quarantine it without touching other files."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import NoReturn

import polars as pl

from curation_platform.langid import flores_code
from curation_platform.records import jsonl_objects

LEVELS = ("basic", "domain", "culture")
EVAL_SUFFIXES = (".json", ".jsonl", ".csv")
SIMPLE_FIELDS = ("language", "level", "domain", "metric", "score")
# Metrics where lower is better, when a file does not say.
LOWER_IS_BETTER = {"bpc", "bits_per_byte", "byte_perplexity", "word_perplexity", "perplexity", "ter", "taboo_rate", "taboo_per_1k", "loss"}

EVAL_SCHEMA = {
    "file": pl.String, "file_hash": pl.String, "record": pl.String, "task": pl.String,
    "language": pl.String, "level": pl.String, "domain": pl.String, "metric": pl.String,
    "score": pl.Float64, "higher_is_better": pl.Boolean, "model": pl.String, "run_id": pl.String, "date": pl.String,
}


class EvalFileError(ValueError):
    """A file that cannot be read as evaluation results; the message names file and record."""


def _lang(code: str, where: str) -> str:
    try:
        return flores_code(code)
    except ValueError as exc:
        raise EvalFileError(f"{where}: {exc}") from exc


def map_task(task: str, task_table: list[dict]) -> dict | None:
    """(language, level, domain) for an lm-eval task name via the configured regex table."""
    for rule in task_table:
        m = re.fullmatch(rule["pattern"], task)
        if m:
            groups = m.groupdict()
            lang = groups.get("lang") or groups.get("tgt")
            if not lang:
                return None
            return {"language": lang, "level": rule.get("level", "basic"), "domain": rule.get("domain", "general")}
    return None


def _base_metric(key: str) -> str:
    return key.split(",", 1)[0]


def parse_lm_eval(path: Path, data: dict, task_table: list[dict]) -> list[dict]:
    """lm-evaluation-harness output: results -> task -> {"metric,filter": value}."""
    results = data.get("results")
    if not isinstance(results, dict) or not results:
        raise EvalFileError(f"{path}: no 'results' object (expected lm-evaluation-harness output)")
    cfg = data.get("config") or {}
    model = str(data.get("model_name") or cfg.get("model_args") or cfg.get("model") or "unknown")
    hib_table = data.get("higher_is_better") or {}
    date = str(data.get("date") or "")
    rows = []
    for task, metrics in results.items():
        if not isinstance(metrics, dict):
            raise EvalFileError(f"{path} [task {task}]: results entry is not an object")
        mapped = map_task(task, task_table)
        if mapped is None:
            continue  # tasks we do not track (English-only suites, aggregates...)
        lang = _lang(mapped["language"], f"{path} [task {task}]")
        for key, value in metrics.items():
            if key == "alias" or "_stderr" in key or not isinstance(value, (int, float)) or isinstance(value, bool):
                continue
            metric = _base_metric(key)
            hib = (hib_table.get(task) or {}).get(metric)
            rows.append({
                "record": f"task {task}", "task": task, "language": lang, "level": mapped["level"], "domain": mapped["domain"],
                "metric": metric, "score": float(value), "higher_is_better": bool(hib) if hib is not None else metric not in LOWER_IS_BETTER,
                "model": model, "run_id": str(data.get("run_id") or data.get("git_hash") or ""), "date": date,
            })
    return rows


def _simple_row(rec: dict, where: str) -> dict:
    missing = [f for f in SIMPLE_FIELDS if rec.get(f) in (None, "")]
    if missing:
        raise EvalFileError(f"{where}: missing field(s) {', '.join(missing)}")
    level = str(rec["level"]).strip().lower()
    if level not in LEVELS:
        raise EvalFileError(f"{where}: level {rec['level']!r} is not one of {', '.join(LEVELS)}")
    try:
        score = float(rec["score"])
    except (TypeError, ValueError) as exc:
        raise EvalFileError(f"{where}: score {rec['score']!r} is not a number") from exc
    metric = str(rec["metric"]).strip()
    hib = rec.get("higher_is_better")
    if isinstance(hib, str):
        hib = hib.strip().lower() in ("1", "true", "yes", "y") if hib.strip() else None
    return {
        "record": where.rsplit(" ", 1)[-1] if "line" in where else where, "task": str(rec.get("task") or ""),
        "language": _lang(str(rec["language"]), where), "level": level, "domain": str(rec["domain"]).strip() or "general",
        "metric": metric, "score": score, "higher_is_better": bool(hib) if hib is not None else metric not in LOWER_IS_BETTER,
        "model": str(rec.get("model") or "unknown"), "run_id": str(rec.get("run_id") or ""), "date": str(rec.get("date") or ""),
    }


def parse_eval_file(path: str | Path, task_table: list[dict], file_hash: str = "") -> pl.DataFrame:
    """One evaluation file -> rows in EVAL_SCHEMA. Raises EvalFileError on any bad record:
    a results file is taken whole or not at all, so a half-read file never skews a plan."""
    path = Path(path)
    try:
        raw = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise EvalFileError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    if not raw.strip():
        raise EvalFileError(f"{path}: empty file")
    name = path.name.lower()
    rows: list[dict] = []
    if name.endswith(".json"):
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise EvalFileError(f"{path} [line {exc.lineno}]: malformed JSON: {exc.msg}") from exc
        if not isinstance(data, dict):
            raise EvalFileError(f"{path}: top level must be an object")
        rows = parse_lm_eval(path, data, task_table)
    elif name.endswith(".jsonl"):
        def fail(lineno: int, reason: str) -> NoReturn:
            raise EvalFileError(f"{path} [line {lineno}]: {reason}")

        rows += [_simple_row(rec, f"{path} [line {lineno}]") for lineno, rec in jsonl_objects(raw, fail)]
    elif name.endswith(".csv"):
        reader = csv.DictReader(io.StringIO(raw))
        if not reader.fieldnames or not set(SIMPLE_FIELDS) <= {f.strip() for f in reader.fieldnames}:
            raise EvalFileError(f"{path} [line 1]: header must have {', '.join(SIMPLE_FIELDS)}; got {reader.fieldnames}")
        for rec in reader:
            rows.append(_simple_row({k.strip(): v for k, v in rec.items() if k}, f"{path} [line {reader.line_num}]"))
    else:
        raise EvalFileError(f"{path}: unsupported file type (expected {', '.join(EVAL_SUFFIXES)})")
    if not rows:
        raise EvalFileError(f"{path}: no results for any tracked language/task")
    for r in rows:
        r["file"] = path.name
        r["file_hash"] = file_hash
    return pl.DataFrame(rows, schema=EVAL_SCHEMA).select(list(EVAL_SCHEMA))


EVAL_TABLE_DDL = """
CREATE TABLE IF NOT EXISTS eval_results (
    file VARCHAR, file_hash VARCHAR, record VARCHAR, task VARCHAR, language VARCHAR, level VARCHAR,
    domain VARCHAR, metric VARCHAR, score DOUBLE, higher_is_better BOOLEAN, model VARCHAR, run_id VARCHAR,
    date VARCHAR, ingested_at TIMESTAMP DEFAULT current_timestamp
)
"""


def append_results(con, df: pl.DataFrame) -> int:
    """Append rows to the history table; a file already ingested (same hash) is not added twice."""
    con.execute(EVAL_TABLE_DDL)
    if df.is_empty():
        return 0
    hashes = df["file_hash"].unique().to_list()
    done = {r[0] for r in con.execute(f"SELECT DISTINCT file_hash FROM eval_results WHERE file_hash IN ({', '.join('?' * len(hashes))})", hashes).fetchall()}
    new = df.filter(~pl.col("file_hash").is_in(list(done)))
    if new.is_empty():
        return 0
    con.register("new_eval_rows", new.to_arrow())
    con.execute(f"INSERT INTO eval_results ({', '.join(EVAL_SCHEMA)}) SELECT {', '.join(EVAL_SCHEMA)} FROM new_eval_rows")
    con.unregister("new_eval_rows")
    return new.height


def latest_scores(con) -> pl.DataFrame:
    """Latest score per language x level x domain x metric (by ingestion order)."""
    con.execute(EVAL_TABLE_DDL)
    return con.sql("""
        SELECT language, level, domain, metric, score, higher_is_better, model, file, ingested_at
        FROM (SELECT *, row_number() OVER (PARTITION BY language, level, domain, metric ORDER BY ingested_at DESC, rowid DESC) AS rn FROM eval_results)
        WHERE rn = 1 ORDER BY language, level, domain, metric
    """).pl()
