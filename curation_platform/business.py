"""Business data: declared sources (files or SQL), a schema mapping per source, and the
strictest governance of any corpus.

A source must declare where its licence, consent and provenance come from, or nothing
from it is read. Each row is mapped (id, text template, language, domain, created_at),
checked (a row without consent, with a bad date or bad encoding goes to quarantine with
file, row and column), opt-outs are removed, and PII is redacted before the text leaves
this module: downstream stages only ever see the redacted text. The raw text is kept
only in the business corpus's own storage (for audits and re-redaction) and is deleted
there too when a record is opted out."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator

import polars as pl
import yaml

from curation_platform.pii import redact
from curation_platform.records import PARSED_SCHEMA, doc_id

FILE_KINDS = ("csv", "tsv", "jsonl", "parquet")
SQL_KINDS = ("sqlite", "postgres")
REQUIRED_GOVERNANCE = ("license", "consent", "provenance")
NO_CONSENT = {"", "no", "false", "0", "none", "withdrawn", "revoked", "n"}
BUSINESS_SCHEMA = {**PARSED_SCHEMA, "domain": pl.String, "created_at": pl.String, "provenance": pl.String,
                   "record_id": pl.String, "pii_counts": pl.String,
                   # community terms, carried on every row so that every downstream asset can enforce them
                   "contributor": pl.String, "allowed_pretraining": pl.Boolean, "allowed_commercial": pl.Boolean, "attribution": pl.String}
# A community-contributed source states its terms, or nothing from it is read.
REQUIRED_TERMS = ("licence", "consent_basis", "steward", "allowed_uses", "attribution")
ALLOWED_USES = ("pretraining", "commercial")
QUARANTINE_SCHEMA = {"source": pl.String, "file": pl.String, "row": pl.Int64, "column": pl.String, "error": pl.String}


class SourceError(ValueError):
    """A source that cannot be ingested at all (bad declaration, missing governance, unreadable)."""


@dataclass
class Source:
    name: str
    kind: str
    mapping: dict
    governance: dict
    path: Path | None = None
    table: str | None = None
    query: str | None = None
    dsn_env: str | None = None
    declared_in: str = ""
    options: dict = field(default_factory=dict)

    @property
    def location(self) -> str:
        return str(self.path) if self.path else f"{self.kind}:{self.table or 'query'}"


def _community_terms(terms: Any, where: str, mapping: dict) -> dict:
    """Validate a community source's terms: licence, consent basis, steward, allowed uses
    (pretraining / commercial, each yes or no), attribution; a contributor column when
    there is a revocation list."""
    if not isinstance(terms, dict):
        raise SourceError(f"{where}: community: must be a mapping of terms")
    missing = [k for k in REQUIRED_TERMS if terms.get(k) in (None, "", {})]
    if missing:
        raise SourceError(f"{where}: community terms missing: {', '.join(missing)}. A community source must state its licence, "
                          "consent basis, steward/contact, allowed uses and attribution text; nothing from it is ingested")
    uses = terms["allowed_uses"]
    if not isinstance(uses, dict) or any(not isinstance(uses.get(u), bool) for u in ALLOWED_USES):
        raise SourceError(f"{where}: community.allowed_uses needs {', '.join(f'{u}: yes/no' for u in ALLOWED_USES)}")
    if terms.get("revocations") and not mapping.get("contributor"):
        raise SourceError(f"{where}: a revocation list needs mapping.contributor (the column naming each row's contributor)")
    return dict(terms)


def source_fingerprint_parts(src: "Source") -> dict:
    """What a re-run of the source depends on besides its declaration: every data file and
    the revocation list (a revoked contributor re-runs the source, and the release after it)."""
    from curation_platform.storage import file_digest

    files = source_files(src) if src.kind not in SQL_KINDS else []
    rev = (src.options.get("community") or {}).get("revocations")
    return {"data": [file_digest(f) for f in files if f.is_file()],
            "revocations": file_digest(rev) if rev and Path(rev).is_file() else "-", "community": src.options.get("community")}


def revoked_contributors(src: "Source") -> set[str]:
    """Contributor ids on the source's revocation list (one per line, # comments)."""
    path = (src.options.get("community") or {}).get("revocations")
    return load_optout(path) if path else set()


def source_files(src: "Source") -> list[Path]:
    """The data files of a file source: the file, or every `*.<kind>` file of a folder
    (one folder per contributor group), in name order."""
    if src.path and src.path.is_dir():
        return sorted(p for p in src.path.rglob(f"*.{src.kind}") if p.is_file() and not p.name.startswith("."))
    return [src.path] if src.path else []


def _field_spec(spec: Any) -> dict | None:
    if spec is None:
        return None
    if isinstance(spec, str):
        return {"column": spec}
    if isinstance(spec, dict) and ("column" in spec or "value" in spec):
        return spec
    raise SourceError(f"bad field spec {spec!r}: use a column name, {{column: NAME}} or {{value: TEXT}}")


def load_sources(path: str | Path) -> list[Source]:
    """Parse and validate a sources YAML. Raises SourceError naming the file and the source."""
    path = Path(path)
    try:
        doc = yaml.safe_load(path.read_text("utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise SourceError(f"{path}: cannot read the sources file: {exc}") from exc
    out, seen = [], set()
    for i, s in enumerate(doc.get("sources") or []):
        where = f"{path}: source #{i + 1} {s.get('name')!r}" if isinstance(s, dict) else f"{path}: source #{i + 1}"
        if not isinstance(s, dict) or not s.get("name"):
            raise SourceError(f"{where}: every source needs a name")
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", s["name"]) or s["name"] in seen:
            raise SourceError(f"{where}: names are unique and use letters, digits, _ . -")
        seen.add(s["name"])
        kind = s.get("kind") or (Path(s["path"]).suffix.lstrip(".").lower() if s.get("path") else None)
        if kind not in FILE_KINDS + SQL_KINDS:
            raise SourceError(f"{where}: kind {kind!r} is not one of {', '.join(FILE_KINDS + SQL_KINDS)}")
        mapping, gov = s.get("mapping") or {}, dict(s.get("governance") or {})
        for key in ("id", "text"):
            if not mapping.get(key):
                raise SourceError(f"{where}: mapping.{key} is required")
        if "community" in s:
            terms = _community_terms(s.get("community"), where, mapping)
            gov.setdefault("license", {"value": terms["licence"]})
            gov.setdefault("consent", {"value": terms["consent_basis"]})
            gov.setdefault("provenance", {"value": f"community source {s['name']}; steward: {terms['steward']}"})
            revocations = terms.get("revocations")
            s = {**s, "community": {**terms, "revocations": str((path.parent / revocations).resolve()) if revocations else None}}
        missing = [k for k in REQUIRED_GOVERNANCE if not gov.get(k)]
        if missing:
            raise SourceError(f"{where}: governance.{', governance.'.join(missing)} missing: a business source must say where its "
                              "licence, consent and provenance come from; nothing from it is ingested")
        for key in REQUIRED_GOVERNANCE:
            _field_spec(gov[key])
        src_path = (path.parent / s["path"]).resolve() if s.get("path") else None
        if kind in FILE_KINDS + ("sqlite",) and src_path is None:
            raise SourceError(f"{where}: path is required for kind {kind}")
        if kind in SQL_KINDS and not (s.get("table") or s.get("query")):
            raise SourceError(f"{where}: a SQL source needs table or query")
        out.append(Source(s["name"], kind, mapping, gov, src_path, s.get("table"), s.get("query"), s.get("dsn_env"), str(path),
                          {k: v for k, v in s.items() if k not in {"name", "kind", "mapping", "governance", "path", "table", "query", "dsn_env"}}))
    return out


def _sql_rows(src: Source) -> Iterator[tuple[int, dict]]:
    """SQL through DuckDB (sqlite / postgres extensions) when they load; SQLite falls back to
    Python's sqlite3 on machines that cannot install DuckDB extensions (no internet)."""
    import duckdb

    sql = src.query or f'SELECT * FROM "{src.table}"'
    con = duckdb.connect()
    try:
        if src.kind == "postgres":
            dsn = os.environ.get(src.dsn_env or "", "")
            if not dsn:
                raise SourceError(f"{src.declared_in}: source {src.name!r}: set the DSN in the environment variable named by dsn_env")
            try:
                con.execute("LOAD postgres")
            except duckdb.Error as exc:
                raise SourceError(f"source {src.name!r}: DuckDB's postgres extension is not installed here ({exc}); "
                                  "run `INSTALL postgres` once on a machine with internet") from exc
            con.execute("ATTACH ? AS src (TYPE postgres, READ_ONLY)", [dsn])
            cur = con.execute(sql.replace(f'"{src.table}"', f'src."{src.table}"') if src.table else sql)
        else:
            try:
                con.execute("LOAD sqlite")
                con.execute("ATTACH ? AS src (TYPE sqlite, READ_ONLY)", [str(src.path)])
                con.execute("USE src")
                cur = con.execute(sql)
            except duckdb.Error:
                con.close()
                lite = sqlite3.connect(f"file:{src.path}?mode=ro", uri=True)
                lite.text_factory = lambda b: b.decode("utf-8", "surrogateescape")
                try:
                    cur = lite.execute(sql)
                except sqlite3.Error as exc:
                    raise SourceError(f"{src.path}: {exc}") from exc
                cols = [d[0] for d in cur.description]
                for n, row in enumerate(cur, start=1):
                    yield n, dict(zip(cols, row))
                lite.close()
                return
        cols = [d[0] for d in cur.description]
        for n, row in enumerate(cur.fetchall(), start=1):
            yield n, dict(zip(cols, row))
    finally:
        try:
            con.close()
        except Exception:  # noqa: BLE001
            pass


def read_rows(src: Source, path: Path | None = None) -> Iterator[tuple[int, dict | None, str | None]]:
    """(row number, row dict or None, error or None) of one file (`path`, default the
    source's file). Row numbers are 1-based data rows (the CSV header is row 0; JSONL
    lines count from 1)."""
    if src.kind in SQL_KINDS:
        for n, row in _sql_rows(src):
            yield n, row, None
        return
    path = path or src.path
    if not path or not path.is_file():
        raise SourceError(f"{src.declared_in}: source {src.name!r}: file not found: {path}")
    if src.kind == "parquet":
        try:
            df = pl.read_parquet(path)
        except Exception as exc:  # noqa: BLE001 - any reader error makes the whole file unreadable
            raise SourceError(f"{path}: not a readable parquet file: {exc}") from exc
        for n, row in enumerate(df.iter_rows(named=True), start=1):
            yield n, row, None
        return
    data = path.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    text = data.decode("utf-8", "surrogateescape")
    if src.kind == "jsonl":
        for n, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                yield n, None, f"invalid JSON: {exc.msg} at column {exc.colno}"
                continue
            yield (n, row, None) if isinstance(row, dict) else (n, None, "a JSONL line must be an object")
        return
    reader = csv.reader(io.StringIO(text, newline=""), delimiter="\t" if src.kind == "tsv" else src.options.get("delimiter", ","))
    try:
        header = next(reader)
    except StopIteration:
        raise SourceError(f"{path}: empty file (no header row)")
    for n, cells in enumerate(reader, start=1):
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            yield n, None, f"expected {len(header)} columns, got {len(cells)}"
            continue
        yield n, dict(zip(header, cells)), None


def _value(spec: dict | None, row: dict) -> Any:
    if spec is None:
        return None
    if "value" in spec:
        return spec["value"]
    col = spec["column"]
    if col not in row:
        raise KeyError(col)
    return row[col]


def _bad_encoding(row: dict) -> str | None:
    for k, v in row.items():
        if isinstance(v, str) and re.search(r"[\udc80-\udcff]", v):
            return k
    return None


def _parse_date(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    s = str(value).strip()
    for fmt in ("%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%d/%m/%Y", "%Y/%m/%d"):
        try:
            return datetime.strptime(s, fmt).isoformat()
        except ValueError:
            pass
    try:
        return datetime.fromisoformat(s).isoformat()
    except ValueError:
        raise ValueError(f"unparseable date {s[:40]!r}") from None


def load_optout(path: str | Path | None) -> set[str]:
    """Lines `source:record_id` (or a bare `record_id`, for every source); # comments."""
    if not path or not Path(path).is_file():
        return set()
    return {ln.split("#", 1)[0].strip() for ln in Path(path).read_text("utf-8").splitlines() if ln.split("#", 1)[0].strip()}


def opted_out(optout: set[str], source: str, record_id: str) -> bool:
    return record_id in optout or f"{source}:{record_id}" in optout


def ingest_source(src: Source, optout: set[str] = frozenset(), pii_types: list[str] | None = None) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, dict]:
    """(documents with redacted text, raw texts, quarantine rows, stats) for one source."""
    m = src.mapping
    specs = {k: _field_spec(m.get(k)) for k in ("id", "lang_hint", "lang", "domain", "created_at", "contributor")}
    terms = src.options.get("community") or {}
    uses = terms.get("allowed_uses") or {}
    revoked = revoked_contributors(src)
    revoked_rows = 0
    gov = {k: _field_spec(src.governance[k]) for k in REQUIRED_GOVERNANCE}
    template = m["text"] if "{" in m["text"] else "{" + m["text"] + "}"
    docs, raws, bad = [], [], []
    pii_total: Counter = Counter()
    removed_ids: list[str] = []
    file = src.location

    def quarantine(n: int, column: str | None, error: str) -> None:
        bad.append({"source": src.name, "file": file, "row": n, "column": column, "error": error})

    files = source_files(src) if src.kind not in SQL_KINDS else [None]
    if src.kind not in SQL_KINDS and not files:
        raise SourceError(f"{src.declared_in}: source {src.name!r}: no *.{src.kind} files in {src.path}")
    rows = ((f, n, row, err) for f in files for n, row, err in read_rows(src, f))
    for path_n, n, row, err in rows:
        file = str(path_n) if path_n else src.location
        if err:
            quarantine(n, None, err)
            continue
        col = _bad_encoding(row)
        if col:
            quarantine(n, col, "invalid UTF-8")
            continue
        try:
            rid = _value(specs["id"], row)
            if rid is None or str(rid).strip() == "":
                quarantine(n, specs["id"].get("column"), "empty id")
                continue
            rid = str(rid).strip()
            contributor = _value(specs["contributor"], row)
            contributor = str(contributor).strip() if contributor not in (None, "") else None
            if path_n is not None and src.path and src.path.is_dir():  # ids are unique per file of a contributor folder
                rid = f"{path_n.relative_to(src.path).as_posix()}:{rid}"
            if contributor and contributor in revoked:
                revoked_rows += 1
                removed_ids.append(doc_id(f"business:{src.name}", rid))
                continue
            if opted_out(optout, src.name, rid):
                removed_ids.append(doc_id(f"business:{src.name}", rid))
                continue
            consent = _value(gov["consent"], row)
            if consent is None or str(consent).strip().lower() in NO_CONSENT:
                quarantine(n, gov["consent"].get("column"), f"no consent ({consent!r})")
                continue
            try:
                text = template.format_map({k: ("" if v is None else v) for k, v in row.items()})
            except KeyError as exc:
                raise KeyError(exc.args[0]) from None
            text = text.strip()
            if not text:
                quarantine(n, None, "empty text")
                continue
            try:
                created = _parse_date(_value(specs["created_at"], row))
            except ValueError as exc:
                quarantine(n, specs["created_at"].get("column"), str(exc))
                continue
        except KeyError as exc:
            raise SourceError(f"{src.declared_in}: source {src.name!r}: column {exc.args[0]!r} named in the mapping is not in {file} "
                              f"(columns: {', '.join(map(str, row))})") from None
        clean, counts = redact(text, pii_types)
        pii_total.update(counts)
        lang = _value(specs["lang"], row) or _value(specs["lang_hint"], row)
        did = doc_id(f"business:{src.name}", rid)
        docs.append({"id": did, "corpus": "business", "source": src.name, "locator": f"{src.name}:{rid}", "text": clean,
                     "license": str(_value(gov["license"], row)), "consent": str(consent), "fetched_at": created, "encoding": "utf-8",
                     "lang_hint": str(lang) if lang else None, "synthetic": False, "generator": None, "prompt_hash": None,
                     "domain": str(_value(specs["domain"], row) or "") or None, "created_at": created,
                     "provenance": str(_value(gov["provenance"], row)), "record_id": rid, "pii_counts": json.dumps(dict(counts), sort_keys=True),
                     "contributor": contributor, "allowed_pretraining": uses.get("pretraining") if terms else None,
                     "allowed_commercial": uses.get("commercial") if terms else None, "attribution": terms.get("attribution") if terms else None})
        raws.append({"id": did, "record_id": rid, "raw_text": text})
    df = pl.DataFrame(docs, schema=BUSINESS_SCHEMA) if docs else pl.DataFrame(schema=BUSINESS_SCHEMA)
    df = df.unique(subset="id", keep="first", maintain_order=True)
    raw = pl.DataFrame(raws, schema={"id": pl.String, "record_id": pl.String, "raw_text": pl.String}).unique(subset="id", keep="first", maintain_order=True)
    q = pl.DataFrame(bad, schema=QUARANTINE_SCHEMA)
    stats = {"rows_ok": df.height, "quarantined": q.height, "opted_out": len(removed_ids) - revoked_rows, "revoked": revoked_rows,
             "opted_out_ids": removed_ids, "pii": dict(pii_total),
             "domains": {r["domain"] or "none": r["len"] for r in df.group_by("domain").len().iter_rows(named=True)} if df.height else {}}
    return df, raw, q, stats


def process_source(src: Source, paths: dict[str, Path], cfg: dict, identifier, optout: set[str]) -> dict:
    """ingest + redact -> standardize -> label for one source; every file written atomically.
    `paths`: raw, parsed, quarantine, labelled."""
    from curation_platform.label import label_frame
    from curation_platform.pipeline import per_language
    from curation_platform.standardize import standardize_frame
    from curation_platform.storage import write_parquet

    bcfg = cfg.get("business", {})
    df, raw, q, stats = ingest_source(src, optout, bcfg.get("pii_types"))
    write_parquet(raw, paths["raw"])
    write_parquet(df, paths["parsed"])
    write_parquet(q, paths["quarantine"])
    labelled = label_frame(standardize_frame(df, cfg.get("standardize", {})), cfg, identifier)
    write_parquet(labelled, paths["labelled"])
    stats.update({"kept": int(labelled["keep"].sum()) if df.height else 0, "per_language": per_language(labelled) if df.height else {},
                  "quarantine_examples": [f"{r['file']}: row {r['row']}" + (f", column {r['column']}" if r["column"] else "") + f": {r['error']}"
                                          for r in q.head(5).iter_rows(named=True)]})
    return stats
