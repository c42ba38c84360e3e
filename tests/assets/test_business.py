"""Business data through the whole spine in a real Dagster instance: four declared
sources (a CSV with broken rows, a JSONL with a malformed line, a parquet file, a SQLite
database) registered by the sensor, ingested per partition, deduplicated and released
with the web crawl; PII never leaves the business storage; a source without consent
fields is refused; an opted-out record disappears from every file downstream."""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
from pathlib import Path

import polars as pl
import pytest
from dagster import DagsterInstance, build_sensor_context

from curation_platform.assets.definitions import build_definitions
from curation_platform.assets.demo_run import prepare_home
from curation_platform.business import SourceError, ingest_source, load_sources
from curation_platform.loop import build_training_mixture
from curation_platform.resources import CurationResource
from curation_platform.settings import load_config
from curation_platform.storage import Layout

GOV = {"license": {"value": "internal-use-only"}, "consent": {"column": "consent"}, "provenance": {"value": "CRM export 2026-10"}}


def _docs(flores, code: str, start: int, n: int) -> list[str]:
    s = flores(code)
    return [" ".join(s[start + 3 * i : start + 3 * i + 3]) for i in range(n)]


@pytest.fixture(scope="module")
def biz(tmp_path_factory, flores):
    root = tmp_path_factory.mktemp("biz_root")
    inbox = root / "inbox" / "business"
    inbox.mkdir(parents=True)
    ind, tgl, vie, tha = (_docs(flores, c, 0, 6) for c in ("ind_Latn", "tgl_Latn", "vie_Latn", "tha_Thai"))
    # CSV: six good rows (two with PII), a short row, a bad date, a row without consent, a non-UTF-8 byte.
    rows = [["ticket_id", "subject", "body", "lang", "category", "created", "consent"]]
    for i, body in enumerate(ind):
        extra = " Hubungi saya di budi.santoso@gmail.com atau 0812-3456-7890." if i == 1 else (" NIK saya 3201014508900003." if i == 2 else "")
        rows.append([f"T{i:03d}", f"Keluhan {i}", body + extra, "id", "customer_service", f"2026-10-0{i + 1}", "yes"])
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    lines = buf.getvalue().splitlines()
    lines += ['"T100","short row"', '"T101","Subjek","' + ind[0][:60] + ' lagi","id","customer_service","31-31-2026","yes"',
              '"T102","Subjek","' + ind[1][:80] + ' tanpa izin","id","customer_service","2026-10-01","no"']
    data = ("\n".join(lines) + "\n").encode("utf-8") + '"T103","Subjek","teks rusak '.encode() + b"\xff\xfe" + b'","id","customer_service","2026-10-01","yes"\n'
    (inbox / "tickets.csv").write_bytes(data)
    with open(inbox / "reviews.jsonl", "w", encoding="utf-8") as fh:
        for i, t in enumerate(tgl):
            fh.write(json.dumps({"rid": f"R{i}", "title": "Review", "text": t + (" Tawagan ako sa 0917 123 4567." if i == 0 else ""),
                                 "consent": "opt-in", "domain": "reviews"}, ensure_ascii=False) + "\n")
        fh.write("{not json\n")
    pl.DataFrame({"sku": [f"P{i}" for i in range(len(vie))], "description": vie, "ok": ["yes"] * len(vie)}).write_parquet(inbox / "products.parquet")
    con = sqlite3.connect(inbox / "internal.db")
    con.execute("CREATE TABLE docs (doc_id INTEGER, body TEXT, consent TEXT, created TEXT)")
    con.executemany("INSERT INTO docs VALUES (?, ?, ?, ?)", [(i, t + (" IP 10.20.30.40" if i == 0 else ""), "granted", "2026-09-01") for i, t in enumerate(tha)])
    con.commit()
    con.close()
    (inbox / "sources.yaml").write_text(json.dumps({"sources": [
        {"name": "tickets", "kind": "csv", "path": "tickets.csv", "mapping": {"id": "ticket_id", "text": "{subject}\n\n{body}", "lang_hint": "lang",
                                                                              "domain": "category", "created_at": "created"}, "governance": GOV},
        {"name": "reviews", "kind": "jsonl", "path": "reviews.jsonl", "mapping": {"id": "rid", "text": "text", "lang": {"value": "tgl_Latn"}, "domain": "domain"},
         "governance": GOV},
        {"name": "products", "path": "products.parquet", "mapping": {"id": "sku", "text": "description", "lang": {"value": "vie_Latn"}, "domain": {"value": "product"}},
         "governance": {**GOV, "consent": {"column": "ok"}}},
        {"name": "internal", "kind": "sqlite", "path": "internal.db", "table": "docs",
         "mapping": {"id": "doc_id", "text": "body", "lang": {"value": "tha_Thai"}, "domain": {"value": "internal"}, "created_at": "created"}, "governance": GOV},
    ]}, ensure_ascii=False))
    saved = {k: os.environ.get(k) for k in ("DAGSTER_HOME", "CURATION_DATA_ROOT", "CURATION_CONFIG")}
    os.environ["DAGSTER_HOME"] = str(prepare_home(root))
    os.environ["CURATION_DATA_ROOT"] = str(root)
    os.environ.pop("CURATION_CONFIG", None)
    defs = build_definitions(str(root))
    instance = DagsterInstance.get()

    def cycle() -> list[str]:
        sensor = defs.resolve_sensor_def("business_sources_sensor")
        result = sensor(build_sensor_context(instance=instance, resources={"curation": CurationResource(data_root=str(root))}))
        for req in result.dynamic_partitions_requests:
            instance.add_dynamic_partitions(req.partitions_def_name, list(req.partition_keys))
        done = []
        for req in result.run_requests:
            if instance.get_runs(filters=None) and any(r.tags.get("dagster/run_key") == req.run_key for r in instance.get_runs()):
                continue
            res = defs.resolve_job_def("ingest_business").execute_in_process(instance=instance, partition_key=req.partition_key,
                                                                               tags={**req.tags, "dagster/run_key": req.run_key})
            assert res.success
            done.append(req.partition_key)
        assert defs.resolve_job_def("build_release").execute_in_process(instance=instance).success
        layout = Layout(root)
        plan = {"plan_hash": "bizplan", "languages": {lang: {"budget_tokens": 2000} for lang in ("ind_Latn", "tgl_Latn", "vie_Latn", "tha_Thai")}}
        build_training_mixture(layout.release_dir() / "current", plan, load_config(), layout.mixture_dir)
        return done

    try:
        yield root, cycle, ind
    finally:
        instance.dispose()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _all_parquet_text(root: Path) -> str:
    chunks = []
    for p in root.rglob("*.parquet"):
        df = pl.read_parquet(p)
        for c, t in df.schema.items():
            if t == pl.String:
                chunks += [x for x in df[c].to_list() if x]
    return "\n".join(chunks)


def test_sources_flow_through_the_spine(biz):
    root, cycle, _ = biz
    assert sorted(cycle()) == ["internal", "products", "reviews", "tickets"]
    q = pl.read_parquet(root / "quarantine" / "business" / "tickets.parquet")
    errors = {(r["row"], r["column"], r["error"].split(" (")[0].split(" '")[0]) for r in q.iter_rows(named=True)}
    assert errors == {(7, None, "expected 7 columns, got 2"), (8, "created", "unparseable date"), (9, "consent", "no consent"), (10, "body", "invalid UTF-8")}
    assert pl.read_parquet(root / "quarantine" / "business" / "reviews.parquet")["row"].to_list() == [7]
    release = pl.concat([pl.read_parquet(p) for p in (root / "release" / "current").rglob("*.parquet")], how="diagonal_relaxed")
    biz_rows = release.filter(pl.col("corpus") == "business")
    assert set(biz_rows["source"]) == {"tickets", "reviews", "products", "internal"}
    assert set(biz_rows["domain"]) == {"customer_service", "reviews", "product", "internal"}
    assert set(biz_rows["license"]) == {"internal-use-only"}
    mixture = json.loads((root / "mixture" / "current" / "manifest.json").read_text())
    assert mixture["languages"]["ind_Latn"]["domain_tokens"].get("customer_service", 0) > 0  # domain labels reach the mixture


def test_pii_never_leaves_the_business_storage(biz):
    root, _, _ = biz
    raw_dir = root / "lake" / "business" / "raw"
    raw = pl.concat([pl.read_parquet(p) for p in raw_dir.glob("*.parquet")])["raw_text"].str.join("\n").item()
    assert "budi.santoso@gmail.com" in raw and "0917 123 4567" in raw  # kept for audit, inside the business storage only
    outside = "\n".join(_all_parquet_text(p) if p.is_dir() else "" for p in root.iterdir() if p.name != "lake") + _all_parquet_text(root / "lake" / "dedup")
    outside += "\n".join(pl.read_parquet(p)["text"].str.join("\n").item() for sub in ("parsed", "labelled") for p in (root / "lake" / "business" / sub).glob("*.parquet"))
    for secret in ("budi.santoso@gmail.com", "0812-3456-7890", "3201014508900003", "0917 123 4567", "10.20.30.40"):
        assert secret not in outside, secret
    assert "<EMAIL>" in outside and "<NIK>" in outside and "<PHONE>" in outside and "<IP>" in outside


def test_opt_out_removes_a_record_everywhere(biz):
    root, cycle, ind = biz
    marker = ind[3][:60]
    assert marker in _all_parquet_text(root)
    (root / "inbox" / "business" / "optout.txt").write_text("tickets:T003\n")
    assert sorted(cycle()) == ["internal", "products", "reviews", "tickets"]  # the opt-out list changed every fingerprint
    assert marker not in _all_parquet_text(root)  # raw, parsed, labelled, dedup index, release, mixture
    md = [json.loads(p.read_text()) for p in (root / "release" / "current").glob("manifest.json")]
    assert md
    assert cycle() == []  # nothing changed: the sensor's run keys are already done


def test_a_source_without_consent_is_refused(tmp_path):
    (tmp_path / "x.csv").write_text("id,text\n1,halo\n")
    (tmp_path / "sources.yaml").write_text(json.dumps({"sources": [{"name": "x", "path": "x.csv", "mapping": {"id": "id", "text": "text"},
                                                                      "governance": {"license": {"value": "cc-by"}, "provenance": {"value": "y"}}}]}))
    with pytest.raises(SourceError, match=r"sources.yaml: source #1 'x': governance.consent missing"):
        load_sources(tmp_path / "sources.yaml")


def test_a_mapping_naming_a_missing_column_names_file_and_columns(tmp_path):
    (tmp_path / "x.csv").write_text("id,body,consent\n1,halo,yes\n")
    (tmp_path / "sources.yaml").write_text(json.dumps({"sources": [{"name": "x", "path": "x.csv", "mapping": {"id": "id", "text": "{title} {body}"},
                                                                      "governance": GOV}]}))
    src = load_sources(tmp_path / "sources.yaml")[0]
    with pytest.raises(SourceError, match=r"column 'title' named in the mapping is not in .*x.csv \(columns: id, body, consent\)"):
        ingest_source(src)
