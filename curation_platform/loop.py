"""Runners for the evaluation loop over files and the DuckDB catalogue: ingest eval
files, compute gaps, plan, build the mixture, run the proxy evaluator. The assets
call these; tests call them too."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path
from urllib.parse import urlparse

import polars as pl

from curation_platform.charlm import CharNgramLM
from curation_platform.decontaminate import ContaminationIndex
from curation_platform.evals import EVAL_SUFFIXES, EvalFileError, append_results, latest_scores, parse_eval_file
from curation_platform.mixture import build_mixture
from curation_platform.plan import plan_mixture, quality_gaps
from curation_platform.settings import config_hash
from curation_platform.storage import file_digest, write_json, write_text
from curation_platform.words import words

PLANS_DDL = """
CREATE TABLE IF NOT EXISTS mixture_plans (
    plan_hash VARCHAR, epoch VARCHAR, created_at TIMESTAMP DEFAULT current_timestamp, plan_json VARCHAR
)
"""
REQUESTS_DDL = """
CREATE TABLE IF NOT EXISTS data_requests (
    plan_hash VARCHAR, kind VARCHAR, language VARCHAR, level VARCHAR, domain VARCHAR, metric VARCHAR,
    tokens BIGINT, seeds VARCHAR, status VARCHAR DEFAULT 'open', created_at TIMESTAMP DEFAULT current_timestamp
)
"""


def quarantine_eval_file(path: Path, error: str, quarantine_dir: Path) -> Path:
    """Move a bad eval file out of the inbox with its error beside it; other files go on."""
    quarantine_dir.mkdir(parents=True, exist_ok=True)
    target = quarantine_dir / path.name
    shutil.move(str(path), target)
    write_text(error + "\n", quarantine_dir / f"{path.name}.error.txt")
    return target


def pending_eval_files(con, inbox: Path) -> list[Path]:
    """Inbox files whose content hash is not in the eval_results history yet."""
    from curation_platform.evals import EVAL_TABLE_DDL

    con.execute(EVAL_TABLE_DDL)
    done = {r[0] for r in con.execute("SELECT DISTINCT file_hash FROM eval_results").fetchall()}
    files = sorted(p for p in inbox.glob("*") if p.is_file() and p.name.lower().endswith(EVAL_SUFFIXES) and not p.name.startswith("."))
    return [p for p in files if file_digest(p) not in done]


def ingested_registry(loop_dir: Path) -> dict[str, str]:
    """{content hash: file name} of every eval file in the history: lets the sensor skip
    files already ingested without opening the DuckDB file (which may have a writer)."""
    path = loop_dir / "eval_ingested.json"
    return json.loads(path.read_text("utf-8")) if path.is_file() else {}


def _register(loop_dir: Path, entries: dict[str, str]) -> None:
    if entries:
        write_json({**ingested_registry(loop_dir), **entries}, loop_dir / "eval_ingested.json")


def ingest_eval_files(con, files: list[Path], task_table: list[dict], quarantine_dir: Path, loop_dir: Path | None = None) -> dict:
    """Append every readable file to the history; quarantine the unreadable ones."""
    added, errors, per_file, registered = 0, [], {}, {}
    for path in files:
        if not path.is_file():
            continue
        try:
            df = parse_eval_file(path, task_table, file_digest(path))
        except EvalFileError as exc:
            quarantine_eval_file(path, str(exc), quarantine_dir)
            errors.append(str(exc))
            continue
        n = append_results(con, df)
        per_file[path.name] = n
        added += n
        registered[df["file_hash"][0]] = path.name
    if loop_dir is not None:
        _register(loop_dir, registered)
    return {"rows_added": added, "files": per_file, "errors": errors}


def compute_gaps(con, loop_cfg: dict) -> tuple[pl.DataFrame, pl.DataFrame]:
    latest = latest_scores(con)
    return latest, quality_gaps(latest, loop_cfg.get("targets", {}))


def release_inventory(release_dir: Path) -> tuple[dict[str, dict], str]:
    """Per-language tokens/docs and the build id of the current release."""
    manifest_path = release_dir / "manifest.json"
    if not manifest_path.is_file():
        raise FileNotFoundError(f"no release manifest at {manifest_path}: materialize `construct` first")
    m = json.loads(manifest_path.read_text("utf-8"))
    return {k: {"tokens": v["tokens"], "docs": v["docs"]} for k, v in m["languages"].items()}, m["build_id"]


def seed_hosts(release_dir: Path, top: int = 10) -> dict[str, list[str]]:
    """Most frequent hosts per language in the release: where to re-collect more."""
    out: dict[str, list[str]] = {}
    for lang_dir in sorted(p for p in release_dir.iterdir() if p.is_dir()):
        files = list(lang_dir.glob("*.parquet"))
        if not files:
            continue
        locs = pl.concat([pl.read_parquet(f, columns=["locator"]) for f in files])["locator"].to_list()
        hosts = Counter(urlparse(u).netloc for u in locs if u and u.startswith("http"))
        out[lang_dir.name] = [h for h, _ in hosts.most_common(top) if h]
    return out


def previous_boosts(con, epoch: str) -> dict[str, float]:
    con.execute(PLANS_DDL)
    rows = con.execute("SELECT plan_json FROM mixture_plans WHERE epoch = ? ORDER BY created_at DESC LIMIT 1", [epoch]).fetchall()
    if not rows:
        return {}
    plan = json.loads(rows[0][0])
    return {k: v["boost"] for k, v in plan["languages"].items()}


def make_plan(con, release_dir: Path, gaps: pl.DataFrame, cfg: dict, plans_dir: Path, language_plan: dict | None = None) -> tuple[dict, bool]:
    """Plan from the release and the gaps; store it (file + DuckDB). Returns (plan, changed)."""
    inventory, build_id = release_inventory(release_dir)
    loop_cfg = cfg.get("loop", {})
    epoch = f"{build_id}:{config_hash(loop_cfg)}"
    plan = plan_mixture(inventory, gaps, loop_cfg, epoch=epoch, previous_boosts=previous_boosts(con, epoch), seed_hosts=seed_hosts(release_dir))
    if language_plan is not None:  # the typology plan: which languages get parallel data, which pivot each target translates from
        plan["transfer"] = {"language_plan": language_plan["plan_hash"], "selected": language_plan["selected"],
                            "parallel_pairs": language_plan["parallel_pairs"], "pivots": language_plan["pivots"]}
        plan["plan_hash"] = config_hash({"mixture": plan["plan_hash"], "transfer": plan["transfer"]})
    con.execute(PLANS_DDL)
    con.execute(REQUESTS_DDL)
    last = con.execute("SELECT plan_hash FROM mixture_plans ORDER BY created_at DESC LIMIT 1").fetchall()
    changed = not last or last[0][0] != plan["plan_hash"]
    if changed:
        con.execute("INSERT INTO mixture_plans (plan_hash, epoch, plan_json) VALUES (?, ?, ?)", [plan["plan_hash"], epoch, json.dumps(plan)])
        con.execute("DELETE FROM data_requests WHERE plan_hash = ?", [plan["plan_hash"]])
        for r in plan["requests"]:
            con.execute("INSERT INTO data_requests (plan_hash, kind, language, level, domain, metric, tokens, seeds) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        [plan["plan_hash"], r["kind"], r["language"], r["level"], r["domain"], r["metric"], r["tokens"], json.dumps(r["seeds"])])
    write_json(plan, plans_dir / f"{plan['plan_hash']}.json")
    write_json(plan, plans_dir / "latest.json")
    return plan, changed


def parallel_languages(parallel_release: Path) -> dict[str, list[str]]:
    """{language: [pair keys]} of the current parallel release (empty without one)."""
    manifest = parallel_release / "manifest.json"
    if not manifest.is_file():
        return {}
    out: dict[str, list[str]] = {}
    for pair in json.loads(manifest.read_text("utf-8")).get("language_pairs", {}):
        for lang in pair.split("-"):
            out.setdefault(lang, []).append(pair)
    return out


def build_language_plan(release_dir: Path, parallel_release: Path, cfg: dict, out_file: Path) -> dict:
    """Targets, candidates and pivot options from the releases and config, then the
    typology-guided selection (typology.py); written atomically as JSON."""
    from curation_platform.langid import flores_code
    from curation_platform.typology import plan_languages

    pcfg = cfg.get("language_plan", {})
    high = [flores_code(c) for c in pcfg.get("high_resource", [])]
    inventory = release_inventory(release_dir)[0] if (release_dir / "manifest.json").is_file() else {}
    targets = [flores_code(c) for c in pcfg.get("targets") or []]
    if not targets:
        targets = sorted({lang for lang in inventory if lang not in high and lang != "und"}
                         | {flores_code(c) for c in cfg.get("codeswitch", {}).get("targets") or []})
    pairs = parallel_languages(parallel_release)
    candidates = sorted(set(pairs) | {flores_code(c) for c in pcfg.get("candidates") or []})
    min_tokens = int(pcfg.get("min_pivot_tokens", 1000))
    pivot_options = [h for h in high if inventory.get(h, {}).get("tokens", 0) >= min_tokens]
    plan = plan_languages(targets, candidates, pcfg, pivot_options)
    plan["parallel_pairs"] = sorted({p for lang in plan["selected"] for p in pairs.get(lang, [])})
    plan["pivot_options"] = pivot_options
    plan["plan_hash"] = config_hash({k: plan[k] for k in ("targets", "candidates", "selected", "pivots", "parallel_pairs")})
    write_json(plan, out_file)
    return plan


def heldout_texts(proxy_cfg: dict) -> dict[str, list[str]]:
    """Held-out sentences per FLORES code from `heldout_dir` (files named <code>.*), optionally a line range."""
    folder = proxy_cfg.get("heldout_dir")
    if not folder:
        return {}
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"held-out folder not found: {folder}")
    lo, hi = 1, None
    if proxy_cfg.get("heldout_lines"):
        a, b = str(proxy_cfg["heldout_lines"]).split("-")
        lo, hi = int(a), int(b)
    out: dict[str, list[str]] = {}
    for path in sorted(folder.iterdir()):
        if path.is_file() and "_" in path.name:
            code = path.name.split(".")[0]
            lines = path.read_text("utf-8").splitlines()
            out[code] = [ln for ln in lines[lo - 1 : hi] if ln.strip()]
    return out


def contamination_index(proxy_cfg: dict) -> ContaminationIndex | None:
    held = heldout_texts(proxy_cfg)
    if not held:
        return None
    return ContaminationIndex((t for texts in held.values() for t in texts), proxy_cfg.get("decontam_ngram_words", 8), proxy_cfg.get("decontam_ngram_chars", 24))


def build_training_mixture(release_dir: Path, plan: dict, cfg: dict, out_root: Path, synthetic_dir: Path | None = None,
                           parallel_dir: Path | None = None) -> dict:
    loop_cfg = cfg.get("loop", {})
    share = cfg.get("synthetic", {}).get("max_share", {})
    share = {"default": {"share": share.get("default", 0.0)}, "languages": {k: {"share": v} for k, v in (share.get("languages") or {}).items()}}
    return build_mixture(release_dir, plan, loop_cfg, out_root, contamination_index(loop_cfg.get("proxy", {})),
                         synthetic_dir=synthetic_dir if synthetic_dir and synthetic_dir.exists() else None, synthetic_share=share,
                         parallel_dir=parallel_dir if parallel_dir and parallel_dir.exists() else None)


def culture_rates(lang: str, texts: list[str], lexicons: dict, common: dict) -> list[dict]:
    """Data-side culture signals: lexicon hits per 1,000 words of the mixture (polite
    register present; taboo words absent), only for languages that have a lexicon."""
    from curation_platform.lexicons import lexicon_hits

    n_words, hits = 0, {"taboo_hits": 0.0, "honorific_hits": 0.0}
    have = set()
    for text in texts:
        ws = words(text)
        n_words += len(ws)
        for k, v in lexicon_hits(text, ws, lang, lexicons).items():
            if v is not None:
                have.add(k)
                hits[k] += v
    rows = []
    for kind, metric, hib in (("honorific_hits", "honorific_per_1k", True), ("taboo_hits", "taboo_per_1k", False)):
        if kind in have and n_words:
            rows.append({"language": lang, "level": "culture", "domain": kind.split("_")[0], "metric": metric,
                         "score": round(1000 * hits[kind] / n_words, 4), "higher_is_better": hib, **common})
    return rows


def run_proxy(mixture_dir: Path, cfg: dict, eval_inbox: Path) -> tuple[list[dict], Path | None]:
    """Train a char n-gram LM per language on the mixture, score bits/char on held-out
    text (configured folder, else the mixture's validation split), and write the results
    into the eval inbox in the simple JSONL format, so they take the evaluators' path."""
    pcfg = cfg.get("loop", {}).get("proxy", {})
    manifest = json.loads((mixture_dir / "manifest.json").read_text("utf-8"))
    held = heldout_texts(pcfg)
    order, cap = int(pcfg.get("order", 5)), int(pcfg.get("max_train_chars", 3_000_000))
    rows = []
    for lang in sorted(manifest["languages"]):
        train = pl.read_parquet(mixture_dir / lang / "train.parquet", columns=["id", "text"])
        counted = train.group_by("id").agg(pl.col("text").first(), pl.len().alias("n")).sort("id")  # row order must not matter
        items, used = [], 0
        for text, n in zip(counted["text"].to_list(), counted["n"].to_list()):
            if used >= cap:
                break
            items.append((text, int(n)))
            used += len(text) * int(n)
        eval_texts = held.get(lang) or pl.read_parquet(mixture_dir / lang / "validation.parquet", columns=["text"])["text"].to_list()
        if not eval_texts or not items:
            continue
        bpc = CharNgramLM(order).fit(items).bits_per_char(eval_texts)
        common = {"model": f"proxy-charlm{order}", "run_id": manifest["plan_hash"], "train_chars": used}
        rows.append({"language": lang, "level": "basic", "domain": "general", "metric": "bpc", "score": round(bpc, 4),
                     "higher_is_better": False, "heldout": "configured" if held.get(lang) else "mixture-validation", "eval_texts": len(eval_texts), **common})
        rows += culture_rates(lang, [t for t, _ in items], cfg.get("lexicons", {}), common)
    if not rows:
        return rows, None
    out = eval_inbox / f"proxy-{manifest['plan_hash']}.jsonl"
    write_text("".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows), out)
    return rows, out
