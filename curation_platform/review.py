"""Human review: samples of the pipeline's decisions out, reviewers' verdicts in, the
measured precision of every filter per language back.

Automatic filters are tuned on high-resource languages and fail silently on low-resource
ones; the people who speak a language are the ground truth. A review sample is
stratified by corpus x language x decision (kept, or each drop reason) so that every rule
in every language gets looked at, not just the frequent ones. Verdicts come back as
CSV / JSONL or as a Label Studio export; from them come, per language and rule, the share
of drops reviewers confirm (the filter's precision) and of keeps, inter-reviewer
agreement (Cohen's kappa for two reviewers, Fleiss' for more), the rules below a
precision floor with a threshold proposal for a person to accept, and corrected
language labels as training text for the language-ID model."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Iterable, Mapping, NoReturn

import polars as pl
import xxhash

from curation_platform.policy import rule_table
from curation_platform.records import jsonl_objects
from curation_platform.settings import language_policy

KEPT = "kept"
SAMPLE_COLUMNS = ["item_id", "corpus", "id", "lang", "decision", "lang_score", "signals", "text"]
VERDICT_SCHEMA = {"item_id": pl.String, "reviewer": pl.String, "correct": pl.Boolean, "corrected_lang": pl.String,
                  "quality": pl.Float64, "comment": pl.String, "line": pl.Int64}
_TRUE = {"correct", "yes", "y", "true", "1", "agree", "confirm", "confirmed", "ok"}
_FALSE = {"incorrect", "no", "n", "false", "0", "disagree", "reject", "rejected", "wrong"}
REVIEW_SUFFIXES = (".csv", ".jsonl", ".json")


class ReviewFileError(ValueError):
    """A verdict file that cannot be read: names the file and the line or record."""


def item_id(corpus: str, doc_id: str, decision: str) -> str:
    return hashlib.blake2b(f"{corpus}\x1f{doc_id}\x1f{decision}".encode(), digest_size=8).hexdigest()


def _signals_json(sig: Mapping | str | None) -> str:
    sig = json.loads(sig) if isinstance(sig, str) else sig
    return json.dumps({k: round(v, 4) for k, v in (sig or {}).items() if v is not None}, sort_keys=True)


def review_sample(frames: Mapping[str, pl.DataFrame], per_stratum: int = 20, max_chars: int = 2000, seed: int = 0) -> pl.DataFrame:
    """Up to `per_stratum` documents per corpus x language x decision, in a hash order fixed
    by `seed` (the same labelled data gives the same sample), with the signals behind
    each decision."""
    parts = []
    for corpus, df in sorted(frames.items()):
        if not df.height:
            continue
        df = df.with_columns(pl.when(pl.col("keep")).then(pl.lit(KEPT)).otherwise(pl.col("drop_reason").fill_null("dropped")).alias("decision"))
        order = [xxhash.xxh64_intdigest(f"{seed}:{corpus}:{i}".encode()) for i in df["id"].to_list()]
        df = df.with_columns(pl.Series("_o", order, dtype=pl.UInt64)).sort("lang", "decision", "_o")
        df = df.group_by("lang", "decision", maintain_order=True).head(per_stratum)
        parts.append(pl.DataFrame({
            "item_id": [item_id(corpus, i, d) for i, d in zip(df["id"].to_list(), df["decision"].to_list())],
            "corpus": [corpus] * df.height, "id": df["id"].to_list(), "lang": df["lang"].to_list(), "decision": df["decision"].to_list(),
            "lang_score": df["lang_score"].to_list(), "signals": [_signals_json(s) for s in df["signals"].to_list()],
            "text": [(t or "")[:max_chars] for t in df["text"].to_list()],
        }, schema={"item_id": pl.String, "corpus": pl.String, "id": pl.String, "lang": pl.String, "decision": pl.String,
                   "lang_score": pl.Float64, "signals": pl.String, "text": pl.String}))
    return pl.concat(parts) if parts else pl.DataFrame(schema={c: pl.String for c in SAMPLE_COLUMNS} | {"lang_score": pl.Float64})


LABEL_STUDIO_CONFIG = """<View>
  <Header value="$corpus / $lang / decision: $decision"/>
  <Text name="text" value="$text"/>
  <Text name="signals" value="$signals"/>
  <Choices name="verdict" toName="text" choice="single" required="true">
    <Choice value="correct"/>
    <Choice value="incorrect"/>
  </Choices>
  <TextArea name="corrected_lang" toName="text" placeholder="correct language code, if the label is wrong (e.g. jav_Latn)" maxSubmissions="1"/>
  <Rating name="quality" toName="text" maxRating="5"/>
  <TextArea name="comment" toName="text" maxSubmissions="1"/>
</View>
"""


def label_studio_tasks(sample: pl.DataFrame) -> list[dict]:
    """Label Studio's JSON import format: one task per item, the fields under `data`."""
    return [{"data": row} for row in sample.to_dicts()]


def export_sample(sample: pl.DataFrame, out_dir: Path) -> dict[str, Path]:
    """sample.csv, sample.jsonl, label_studio_tasks.json and label_studio_config.xml, written atomically."""
    from curation_platform.storage import write_text

    buf = io.StringIO()
    sample.write_csv(buf)
    files = {
        "csv": write_text(buf.getvalue(), out_dir / "sample.csv"),
        "jsonl": write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in sample.to_dicts()), out_dir / "sample.jsonl"),
        "label_studio": write_text(json.dumps(label_studio_tasks(sample), ensure_ascii=False, indent=1), out_dir / "label_studio_tasks.json"),
        "label_studio_config": write_text(LABEL_STUDIO_CONFIG, out_dir / "label_studio_config.xml"),
    }
    return files


def _verdict(value, where: str) -> bool:
    v = str(value).strip().lower() if value is not None else ""
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    raise ReviewFileError(f"{where}: verdict {value!r} is not one of correct / incorrect (or yes / no)")


def _quality(value, where: str) -> float | None:
    if value in (None, ""):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ReviewFileError(f"{where}: quality {value!r} is not a number") from None


def _row(rec: Mapping, where: str) -> dict:
    missing = [k for k in ("item_id", "verdict", "reviewer") if not str(rec.get(k) or "").strip()]
    if missing:
        raise ReviewFileError(f"{where}: missing {', '.join(missing)}")
    return {"item_id": str(rec["item_id"]).strip(), "reviewer": str(rec["reviewer"]).strip(), "correct": _verdict(rec["verdict"], where),
            "corrected_lang": (str(rec.get("corrected_lang") or "").strip() or None), "quality": _quality(rec.get("quality"), where),
            "comment": (str(rec.get("comment") or "").strip() or None)}


def _label_studio(tasks: list, path: Path) -> list[dict]:
    out = []
    for n, task in enumerate(tasks, 1):
        where = f"{path}: task {n}"
        if not isinstance(task, dict) or "data" not in task:
            raise ReviewFileError(f"{where}: not a Label Studio task (no `data`)")
        for a in task.get("annotations") or []:
            if a.get("was_cancelled"):
                continue
            by = a.get("completed_by")
            reviewer = by.get("email") or by.get("id") if isinstance(by, dict) else by
            rec: dict = {"item_id": task["data"].get("item_id"), "reviewer": reviewer}
            for r in a.get("result") or []:
                value, name = r.get("value") or {}, r.get("from_name")
                if "choices" in value:
                    rec[name] = (value["choices"] or [None])[0]
                elif "text" in value:
                    rec[name] = " ".join(value["text"]) if isinstance(value["text"], list) else value["text"]
                elif "rating" in value:
                    rec[name] = value["rating"]
            out.append({**_row(rec, where), "line": n})
    return out


def parse_verdicts(path: str | Path) -> pl.DataFrame:
    """Verdicts from CSV / JSONL (item_id, verdict, reviewer[, corrected_lang, quality,
    comment]) or a Label Studio JSON export. Any bad row fails the whole file, naming the
    file and the line or task: half a file of verdicts would skew the precision."""
    path = Path(path)
    name = path.name.lower()
    rows: list[dict] = []
    try:
        text = path.read_text("utf-8")
    except UnicodeDecodeError as exc:
        raise ReviewFileError(f"{path}: not UTF-8 ({exc})") from None
    if name.endswith(".csv"):
        reader = csv.DictReader(io.StringIO(text))
        missing = {"item_id", "verdict", "reviewer"} - set(reader.fieldnames or [])
        if missing:
            raise ReviewFileError(f"{path}: line 1: header lacks {', '.join(sorted(missing))}")
        rows = [{**_row(rec, f"{path}: line {n}"), "line": n} for n, rec in enumerate(reader, 2)]
    elif name.endswith(".jsonl"):
        def fail(n: int, reason: str) -> NoReturn:
            raise ReviewFileError(f"{path}: line {n}: {reason}")

        rows = [{**_row(rec, f"{path}: line {n}"), "line": n} for n, rec in jsonl_objects(text, fail)]
    elif name.endswith(".json"):
        try:
            tasks = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ReviewFileError(f"{path}: line {exc.lineno}: not JSON ({exc.msg})") from None
        if not isinstance(tasks, list):
            raise ReviewFileError(f"{path}: a Label Studio export is a JSON list of tasks")
        rows = _label_studio(tasks, path)
    else:
        raise ReviewFileError(f"{path}: unsupported file type (use {', '.join(REVIEW_SUFFIXES)})")
    if not rows:
        raise ReviewFileError(f"{path}: no verdicts")
    return pl.DataFrame(rows, schema=VERDICT_SCHEMA)


def cohen_kappa(a: list[bool], b: list[bool]) -> float | None:
    n = len(a)
    if n == 0:
        return None
    p_o = sum(x == y for x, y in zip(a, b)) / n
    pa, pb = sum(a) / n, sum(b) / n
    p_e = pa * pb + (1 - pa) * (1 - pb)
    return round((p_o - p_e) / (1 - p_e), 4) if p_e < 1 else None


def agreement(verdicts: pl.DataFrame) -> dict:
    """Items seen by several reviewers: raw agreement and kappa (Cohen's with exactly two
    reviewers overall, Fleiss' on the items with the most common number of reviewers)."""
    from curation_platform.quality_model import fleiss_kappa

    per_item: dict[str, dict[str, bool]] = defaultdict(dict)
    for r in verdicts.iter_rows(named=True):
        per_item[r["item_id"]][r["reviewer"]] = r["correct"]
    multi = {k: v for k, v in per_item.items() if len(v) >= 2}
    reviewers = sorted({r for v in multi.values() for r in v})
    if not multi:
        return {"items_multi": 0, "reviewers": reviewers, "raw_agreement": None, "kappa": None, "kappa_kind": None}
    raw = sum(len(set(v.values())) == 1 for v in multi.values()) / len(multi)
    if len(reviewers) == 2:
        a, b = reviewers
        both = [v for v in multi.values() if a in v and b in v]
        kappa, kind = cohen_kappa([v[a] for v in both], [v[b] for v in both]), "cohen"
    else:
        n = Counter(len(v) for v in multi.values()).most_common(1)[0][0]
        kappa, kind = fleiss_kappa([[int(x) for x in v.values()] for v in multi.values() if len(v) == n]), "fleiss"
    return {"items_multi": len(multi), "reviewers": reviewers, "raw_agreement": round(raw, 4), "kappa": kappa, "kappa_kind": kind}


def item_verdicts(verdicts: pl.DataFrame) -> pl.DataFrame:
    """One row per item: the majority verdict (None on a tie: disputed), votes, corrections."""
    return (verdicts.group_by("item_id").agg(
        pl.col("correct").sum().alias("yes"), pl.len().alias("votes"),
        pl.col("corrected_lang").drop_nulls().mode().first().alias("corrected_lang"),
        pl.col("quality").mean().alias("quality"))
        .with_columns(pl.when(pl.col("yes") * 2 > pl.col("votes")).then(True)
                      .when(pl.col("yes") * 2 < pl.col("votes")).then(False).otherwise(None).alias("confirmed")))


def precision_table(items: pl.DataFrame, verdicts: pl.DataFrame) -> pl.DataFrame:
    """Per language x decision: reviewed items, confirmed, disputed and precision (share of
    decided items whose decision reviewers confirm: for a drop reason, the filter's
    precision; for `kept`, the keep precision), with the kappa of that stratum."""
    per_item = item_verdicts(verdicts).join(items.select("item_id", "lang", "decision", "corpus"), on="item_id", how="inner")
    rows = []
    for (lang, decision), g in per_item.group_by("lang", "decision", maintain_order=True):
        decided = g.filter(pl.col("confirmed").is_not_null())
        confirmed = int(decided["confirmed"].sum()) if decided.height else 0
        sub = verdicts.join(g.select("item_id"), on="item_id", how="inner")
        rows.append({"lang": lang, "decision": decision, "reviewed": g.height, "decided": decided.height, "confirmed": confirmed,
                     "disputed": g.height - decided.height, "precision": round(confirmed / decided.height, 4) if decided.height else None,
                     "kappa": agreement(sub)["kappa"]})
    schema = {"lang": pl.String, "decision": pl.String, "reviewed": pl.Int64, "decided": pl.Int64, "confirmed": pl.Int64,
              "disputed": pl.Int64, "precision": pl.Float64, "kappa": pl.Float64}
    return pl.DataFrame(rows, schema=schema).sort("lang", "decision") if rows else pl.DataFrame(schema=schema)


def flagged_rules(table: pl.DataFrame, floor: float, min_decided: int) -> pl.DataFrame:
    """Drop rules whose measured precision is below the floor, on enough decided items."""
    return table.filter((pl.col("decision") != KEPT) & (pl.col("decided") >= min_decided) & (pl.col("precision") < floor))


def propose_thresholds(flags: pl.DataFrame, items: pl.DataFrame, verdicts: pl.DataFrame, policy_cfg: dict) -> list[dict]:
    """For each flagged threshold rule, the threshold that best agrees with the reviewers on
    the reviewed drops (wrongly dropped items kept, confirmed drops still dropped; ties go
    to the value closest to the current one). Rules without a threshold get no proposal."""
    per_item = item_verdicts(verdicts).join(items, on="item_id", how="inner").filter(pl.col("confirmed").is_not_null())
    out = []
    rules = rule_table(policy_cfg) | {"min_lang_score": ("lang_score", "min")}  # the compiled policy's rules, yours included
    for f in flags.iter_rows(named=True):
        rule, lang = f["decision"], f["lang"]
        if rule not in rules:
            continue
        signal, kind = rules[rule]
        current = language_policy(policy_cfg, lang).get(rule)
        g = per_item.filter((pl.col("lang") == lang) & (pl.col("decision") == rule))
        vals = []
        for r in g.iter_rows(named=True):
            v = r["lang_score"] if signal == "lang_score" else json.loads(r["signals"]).get(signal)
            if v is not None:
                vals.append((float(v), bool(r["confirmed"])))
        if current is None or not vals:
            continue
        candidates = sorted({float(current)} | {v for v, _ in vals})

        def score(t: float) -> int:  # min rule drops v < t; max rule drops v > t
            return sum((v < t if kind == "min" else v > t) == ok for v, ok in vals)

        best = max(candidates, key=lambda t: (score(t), -abs(t - float(current))))
        if best == float(current):
            continue
        wrong = [v for v, ok in vals if not ok]
        out.append({"lang": lang, "rule": rule, "signal": signal, "current": float(current), "proposed": round(best, 4),
                    "precision": f["precision"], "decided": f["decided"], "agreement_current": score(float(current)),
                    "agreement_proposed": score(best), "wrongly_dropped": len(wrong)})
    return out


def proposal_yaml(proposals: list[dict], header: str) -> str:
    """Mergeable policy YAML, one commented line per change, for a person to accept."""
    lines = [f"# {line}" for line in header.splitlines()]
    if not proposals:
        return "\n".join(lines + ["# no threshold changes proposed", "policy: {}", ""])
    lines += ["policy:", "  languages:"]
    by_lang: dict[str, list[dict]] = defaultdict(list)
    for p in proposals:
        by_lang[p["lang"]].append(p)
    for lang, ps in sorted(by_lang.items()):
        lines.append(f"    {lang}:")
        for p in ps:
            lines.append(f"      {p['rule']}: {p['proposed']}   # was {p['current']}; precision {p['precision']} on {p['decided']} reviewed drops; "
                         f"agrees with reviewers on {p['agreement_proposed']} of {p['decided']} (was {p['agreement_current']})")
    return "\n".join(lines + [""])


def language_corrections(items: pl.DataFrame, verdicts: pl.DataFrame) -> dict[str, list[str]]:
    """{corrected FLORES code: texts} from items whose language reviewers corrected: new
    training text for the language-ID model (`train_langid` reads the folder)."""
    from curation_platform.langid import flores_code

    per_item = item_verdicts(verdicts).filter(pl.col("corrected_lang").is_not_null()).join(items, on="item_id", how="inner")
    out: dict[str, list[str]] = defaultdict(list)
    for r in per_item.iter_rows(named=True):
        try:
            code = flores_code(r["corrected_lang"])
        except ValueError:
            continue
        if code != r["lang"]:
            out[code].append(" ".join((r["text"] or "").split()))
    return dict(out)


def frames_from(files_by_corpus: Mapping[str, Iterable[Path]]) -> dict[str, pl.DataFrame]:
    """Labelled parquet per corpus, only the columns a sample needs."""
    cols = ["id", "text", "lang", "lang_score", "signals", "keep", "drop_reason"]
    out = {}
    for corpus, files in files_by_corpus.items():
        # signals as JSON text: shards labelled by older versions carry fewer signal fields
        parts = [pl.read_parquet(f, columns=cols).with_columns(pl.col("signals").struct.json_encode()) for f in sorted(files)]
        if parts:
            out[corpus] = pl.concat(parts, how="vertical_relaxed")
    return out


REVIEW_DDL = [
    """CREATE TABLE IF NOT EXISTS review_items (item_id VARCHAR PRIMARY KEY, sample_hash VARCHAR, corpus VARCHAR, id VARCHAR,
       lang VARCHAR, decision VARCHAR, lang_score DOUBLE, signals VARCHAR, text VARCHAR, created_at TIMESTAMP DEFAULT current_timestamp)""",
    """CREATE TABLE IF NOT EXISTS review_verdicts (file_hash VARCHAR, file VARCHAR, line BIGINT, item_id VARCHAR, reviewer VARCHAR,
       correct BOOLEAN, corrected_lang VARCHAR, quality DOUBLE, comment VARCHAR, ingested_at TIMESTAMP DEFAULT current_timestamp)""",
    """CREATE TABLE IF NOT EXISTS review_precision (computed_at TIMESTAMP, lang VARCHAR, decision VARCHAR, reviewed BIGINT,
       decided BIGINT, confirmed BIGINT, disputed BIGINT, precision DOUBLE, kappa DOUBLE)""",
]


def ensure_tables(con) -> None:
    for ddl in REVIEW_DDL:
        con.execute(ddl)


def store_sample(con, sample: pl.DataFrame, sample_hash: str) -> int:
    """Add the sample's items to the catalogue (an item already there is kept as it was)."""
    ensure_tables(con)
    frame = sample.with_columns(pl.lit(sample_hash).alias("sample_hash")).select(
        "item_id", "sample_hash", "corpus", "id", "lang", "decision", "lang_score", "signals", "text").to_arrow()
    before = con.execute("SELECT count(*) FROM review_items").fetchall()[0][0]
    con.register("_sample", frame)
    con.execute("INSERT INTO review_items (item_id, sample_hash, corpus, id, lang, decision, lang_score, signals, text) "
                "SELECT * FROM _sample WHERE item_id NOT IN (SELECT item_id FROM review_items)")
    con.unregister("_sample")
    return con.execute("SELECT count(*) FROM review_items").fetchall()[0][0] - before


def check_items(verdicts: pl.DataFrame, known: set[str], path: Path) -> None:
    """Every verdict must name an item of a review sample."""
    for r in verdicts.iter_rows(named=True):
        if r["item_id"] not in known:
            raise ReviewFileError(f"{path}: line {r['line']}: item_id {r['item_id']!r} is not in any review sample")


def ingest_verdict_files(con, files: list[Path], quarantine_dir: Path) -> dict:
    """Append each readable file's verdicts (a file already ingested, by content hash, is
    skipped); move unreadable ones to quarantine with their error; others proceed."""
    from curation_platform.loop import quarantine_eval_file
    from curation_platform.storage import file_digest

    ensure_tables(con)
    known = {r[0] for r in con.execute("SELECT item_id FROM review_items").fetchall()}
    done = {r[0] for r in con.execute("SELECT DISTINCT file_hash FROM review_verdicts").fetchall()}
    added, errors, per_file = 0, [], {}
    for path in files:
        if not path.is_file():
            continue
        digest = file_digest(path)
        if digest in done:
            per_file[path.name] = 0
            continue
        try:
            df = parse_verdicts(path)
            check_items(df, known, path)
        except ReviewFileError as exc:
            quarantine_eval_file(path, str(exc), quarantine_dir)
            errors.append(str(exc))
            continue
        con.register("_v", df.with_columns(pl.lit(digest).alias("file_hash"), pl.lit(path.name).alias("file")).to_arrow())
        con.execute("INSERT INTO review_verdicts (file_hash, file, line, item_id, reviewer, correct, corrected_lang, quality, comment) "
                    "SELECT file_hash, file, line, item_id, reviewer, correct, corrected_lang, quality, comment FROM _v")
        con.unregister("_v")
        per_file[path.name] = df.height
        added += df.height
        done.add(digest)
    return {"verdicts_added": added, "files": per_file, "errors": errors}


def current_verdicts(con) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(items, verdicts): the latest verdict of each reviewer on each item."""
    ensure_tables(con)
    items = con.sql("SELECT item_id, corpus, id, lang, decision, lang_score, signals, text FROM review_items").pl()
    verdicts = con.sql("""SELECT item_id, reviewer, correct, corrected_lang, quality, comment, line FROM (
        SELECT *, row_number() OVER (PARTITION BY item_id, reviewer ORDER BY ingested_at DESC, file_hash, line DESC) AS rn
        FROM review_verdicts) WHERE rn = 1""").pl()
    return items, verdicts


def summarise(con, cfg: dict, review_dir: Path) -> dict:
    """Precision per language x decision (appended to the DuckDB history), agreement,
    flagged rules, the threshold proposal (`policy_proposal.yaml`) and language
    corrections (`langid_corrections/<code>.txt`) from every verdict so far."""
    from curation_platform.storage import write_text

    rcfg = cfg.get("review", {})
    items, verdicts = current_verdicts(con)
    table = precision_table(items, verdicts)
    flags = flagged_rules(table, float(rcfg.get("precision_floor", 0.8)), int(rcfg.get("min_decided", 5)))
    proposals = propose_thresholds(flags, items, verdicts, cfg.get("policy", {}))
    if table.height:
        con.register("_p", table.with_columns(pl.lit(None, dtype=pl.Datetime).alias("computed_at")).to_arrow())
        con.execute("INSERT INTO review_precision SELECT current_timestamp, lang, decision, reviewed, decided, confirmed, disputed, precision, kappa FROM _p")
        con.unregister("_p")
    header = (f"Threshold proposal from {verdicts.height} verdicts on {items.filter(pl.col('item_id').is_in(verdicts['item_id'])).height} "
              f"reviewed items (precision floor {rcfg.get('precision_floor', 0.8)}).\nNot applied: review it, then merge it into your "
              "config (CURATION_CONFIG) to accept it.")
    write_text(proposal_yaml(proposals, header), review_dir / "policy_proposal.yaml")
    corrections = language_corrections(items, verdicts)
    for code, texts in corrections.items():
        write_text("".join(t + "\n" for t in sorted(set(texts))), review_dir / "langid_corrections" / f"{code}.txt")
    history = con.execute("SELECT computed_at, lang, decision, precision FROM review_precision ORDER BY computed_at").fetchall()
    return {"table": table, "agreement": agreement(verdicts), "flags": flags, "proposals": proposals,
            "corrections": {k: len(v) for k, v in corrections.items()}, "verdicts": verdicts.height, "items": items.height,
            "history": history}
