"""File-level steps of the synthetic corpus (the Dagster assets and tests call these):
generate -> label + gate -> dedup against real text -> release (text shards, SFT, DPO)."""

from __future__ import annotations

from collections import Counter

import shutil
from functools import lru_cache
from pathlib import Path
from typing import Callable

import polars as pl
import xxhash

from curation_platform.label import label_frame
from curation_platform.langid import LanguageIdentifier
from curation_platform.llm import LLMClient, LLMSettings
from curation_platform.dedup import dedup_corpus, reference_sides
from curation_platform.settings import config_hash, deep_merge
from curation_platform.standardize import standardize_frame
from curation_platform.pii import pii_card_lines, redact_release
from curation_platform.storage import publish_dir, write_json, write_parquet, write_text
from curation_platform.synthetic import build_tasks, gate, gate_report, generate


def llm_settings(cfg: dict, base_url: str | None = None) -> LLMSettings | None:
    """Settings from `synthetic.llm`, the URL overridable (resource / CURATION_LLM_URL); None when no endpoint."""
    llm = dict(cfg.get("synthetic", {}).get("llm", {}))
    if base_url:
        llm["base_url"] = base_url
    return LLMSettings.from_dict(llm) if llm.get("base_url") else None


def synthetic_requests(plan: dict) -> list[dict]:
    return [r for r in plan.get("requests", []) if r.get("kind") == "synthetic" and int(r.get("tokens", 0)) > 0]


def generate_batch(plan: dict, release_dir: Path, parallel_release_dir: Path, cfg: dict, client: LLMClient, out_file: Path,
                   progress: Callable[[int, int], None] | None = None) -> dict:
    """One batch per plan: prompts from the plan's synthetic requests and the released
    real text, answers (cached), judge scores. Writes `out_file`; returns counts and usage."""
    scfg = cfg.get("synthetic", {})

    @lru_cache(maxsize=None)
    def _docs(lang: str) -> tuple:
        files = sorted((release_dir / lang).glob("*.parquet")) if release_dir.exists() else []
        if not files:
            return ()
        df = pl.concat([pl.read_parquet(f, columns=["id", "text"]) for f in files])
        return tuple(df.head(int(scfg.get("seed_pool", 500))).iter_rows(named=True))

    @lru_cache(maxsize=None)
    def _pairs(pivot: str, lang: str) -> tuple:
        for name, cols in ((f"{pivot}-{lang}", ("src_text", "tgt_text")), (f"{lang}-{pivot}", ("tgt_text", "src_text"))):
            path = parallel_release_dir / name / "pairs.parquet"
            if path.exists():
                df = pl.read_parquet(path, columns=list(cols)).head(200)
                return tuple(zip(df[cols[0]].to_list(), df[cols[1]].to_list()))
        return ()

    requests = synthetic_requests(plan)
    tasks = build_tasks(requests, plan["plan_hash"], lambda lang: list(_docs(lang)), lambda p, lang: list(_pairs(p, lang)), scfg, client.settings.api,
                        pivots=plan.get("transfer", {}).get("pivots"))
    good = {t.lang: (_docs(t.lang)[0]["text"] if _docs(t.lang) else "") for t in tasks}
    df = generate(tasks, client, scfg, plan["plan_hash"], good, progress)
    write_parquet(df, out_file)
    per = df.group_by("lang_hint", "generator").len().sort("lang_hint", "generator") if df.height else None
    return {"plan_hash": plan["plan_hash"], "requests": len(requests), "tasks": len(tasks), "samples": df.height,
            "per_language": {} if per is None else {f"{r['lang_hint']}/{r['generator']}": r["len"] for r in per.iter_rows(named=True)},
            "usage": client.usage.as_dict(client.settings), "templates": sorted({f"{t.template}@{t.template_hash}" for t in tasks})}


def label_synthetic(in_file: Path, out_file: Path, cfg: dict, identifier: LanguageIdentifier) -> dict:
    """The same standardize and label steps as real text (policy: `policy` with
    `synthetic.policy` merged over it), then the synthetic gates."""
    df = pl.read_parquet(in_file)
    scfg = cfg.get("synthetic", {})
    lcfg = {**cfg, "policy": deep_merge(cfg.get("policy", {}), scfg.get("policy", {}))}
    out = gate(label_frame(standardize_frame(df, cfg.get("standardize", {})), lcfg, identifier), scfg) if df.height else df
    write_parquet(out, out_file)
    return gate_report(out) if df.height else {"samples": 0, "passed": 0, "pass_rate": 0.0, "drop_reasons": {}, "per_generator": {}}


def real_reference(web_labelled: list[Path], parallel_labelled: list[Path]) -> pl.DataFrame:
    """Kept real text (web documents, both parallel sides): synthetic near-copies of it are dropped."""
    frames = [reference_sides(parallel_labelled)]
    if web_labelled:
        frames.append(pl.concat([pl.read_parquet(f, columns=["id", "text", "lang", "keep"]) for f in web_labelled])
                      .filter(pl.col("keep")).select("id", "text", "lang").unique(subset="id", keep="first", maintain_order=True))
    return pl.concat(frames)


def dedup_synthetic(labelled_files: list[Path], reference: pl.DataFrame, out_file: Path, cfg: dict) -> dict:
    """Gated synthetic rows compete with each other; real text always survives."""
    return dedup_corpus(labelled_files, out_file, cfg, reference=reference, keep_column="gate_keep")


TEXT_COLUMNS = ["id", "text", "lang", "source", "locator", "generator", "synthetic", "prompt_hash", "model", "level", "domain",
                "judge_score", "seed_ids", "plan_hash"]


def release_synthetic(labelled_files: list[Path], dedup_file: Path, release_root: Path, cfg: dict) -> dict:
    """release_root/builds/<id>/<lang>/{synthetic.parquet, sft.jsonl, dpo.jsonl} + manifest + data card; swap `current`."""
    frame = pl.concat([pl.read_parquet(f) for f in labelled_files], how="diagonal_relaxed").unique(subset="id", keep="first", maintain_order=True)
    dd = pl.read_parquet(dedup_file).select("id", pl.col("keep").alias("dedup_keep"), "cluster_id")
    frame = frame.join(dd, on="id", how="left").with_columns(
        (pl.col("gate_keep") & pl.col("dedup_keep").fill_null(False)).alias("final_keep"),
        pl.when(pl.col("gate_keep") & ~pl.col("dedup_keep").fill_null(False)).then(pl.lit("near_duplicate")).otherwise(pl.col("gate_reason")).alias("final_reason"),
    )
    kept = frame.filter(pl.col("final_keep")).sort("id")
    build_id = xxhash.xxh64(("\n".join(kept["id"].to_list()) + config_hash(cfg.get("synthetic", {}))).encode()).hexdigest()[:16]
    staging = release_root / "builds" / f".{build_id}.staging"
    if staging.exists():
        shutil.rmtree(staging)
    langs: dict[str, dict] = {}
    pii: dict[str, dict] = {}
    for (lang,), part in kept.group_by(["lang"], maintain_order=True):
        counts: Counter = Counter()
        for col in [c for c in ("text", "instruction", "input", "rejected") if c in part.columns]:
            clean, c = redact_release(part[col].to_list(), ["synthetic"] * part.height, cfg)
            part = part.with_columns(pl.Series(col, clean, dtype=part[col].dtype))
            counts.update(c)
        if counts:
            pii[lang] = dict(sorted(counts.items()))
        text = part.filter(pl.col("format") == "text")
        sft = part.filter(pl.col("format") == "sft")
        dpo = part.filter(pl.col("format") == "dpo")
        if text.height:
            write_parquet(text.select([c for c in TEXT_COLUMNS if c in text.columns]), staging / lang / "synthetic.parquet")
        if sft.height:
            write_text(sft.select("id", "instruction", "input", pl.col("text").alias("output"), "lang", "model", "prompt_hash", "judge_score").write_ndjson(), staging / lang / "sft.jsonl")
        if dpo.height:
            write_text(dpo.select("id", pl.format("{}\n\n{}", "instruction", "input").alias("prompt"), pl.col("text").alias("chosen"), "rejected",
                                  "judge_score", "rejected_judge_score", "lang", "model", "prompt_hash").write_ndjson(), staging / lang / "dpo.jsonl")
        langs[lang] = {"text_docs": text.height, "sft": sft.height, "dpo": dpo.height, "chars": int(part["text"].str.len_chars().sum())}
    reasons = frame.filter(~pl.col("final_keep")).group_by("final_reason").len().sort("len", descending=True)
    manifest = {"build_id": build_id, "samples": frame.height, "released": kept.height, "languages": langs,
                "drop_reasons": {r["final_reason"]: r["len"] for r in reasons.iter_rows(named=True)},
                "models": sorted(set(frame["model"].drop_nulls().to_list())), "templates": sorted(set(frame["template"].drop_nulls().to_list())),
                "pii_redacted": pii}
    write_json(manifest, staging / "manifest.json")
    card = [f"# Synthetic corpus release `{build_id}`", "", f"{kept.height} of {frame.height} generated samples passed every gate.",
            "Every row is `synthetic=true`, carries its generator, model, prompt template hash and the ids of the real seed documents.", "",
            "| language | text docs | SFT | DPO | chars |", "|---|---:|---:|---:|---:|"]
    card += [f"| {k} | {v['text_docs']} | {v['sft']} | {v['dpo']} | {v['chars']} |" for k, v in sorted(langs.items())]
    card += ["", "## Why samples were dropped", "", "| reason | samples |", "|---|---:|"] + [f"| {k} | {v} |" for k, v in manifest["drop_reasons"].items()]
    card += ["", "## PII redacted", ""] + pii_card_lines(pii) + [""]
    write_text("\n".join(card), staging / "README.md")
    final = publish_dir(staging, release_root / "builds" / build_id, release_root / "current", Path("builds") / build_id)
    manifest["path"] = str(final)
    return manifest
