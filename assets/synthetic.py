"""The synthetic corpus: synthetic (generate for the plan's requests) -> synthetic_label
(standardize, label, gates) -> synthetic_dedup (against real text) -> synthetic_release."""

import json

import polars as pl
from dagster import AssetExecutionContext, Failure, MaterializeResult, MetadataValue, asset

from curation_platform import plots
from curation_platform.assets.metadata import counts_table, pii_table
from curation_platform.resources import CurationResource, LangIdResource, LLMResource
from curation_platform.synthetic.runs import (
    dedup_synthetic,
    generate_batch,
    label_synthetic,
    real_reference,
    release_synthetic,
    synthetic_requests,
)

CORPUS = "synthetic"


def _plan(curation: CurationResource) -> dict:
    path = curation.layout.loop_dir / "plans" / "latest.json"
    if not path.exists():
        raise Failure(f"no mixture plan yet ({path}): materialize mixture_plan first")
    return json.loads(path.read_text("utf-8"))


@asset(group_name=CORPUS, kinds={"openai", "parquet"}, deps=["mixture_plan"])
def synthetic(context: AssetExecutionContext, curation: CurationResource, llm: LLMResource) -> MaterializeResult:
    """Generated samples for the latest plan's synthetic data requests (nothing without requests)."""
    layout, cfg = curation.layout, curation.config()
    plan = _plan(curation)
    requests = synthetic_requests(plan)
    if not requests:
        context.log.info(f"plan {plan['plan_hash']} has no synthetic requests: nothing generated")
        return MaterializeResult(metadata={"plan_hash": plan["plan_hash"], "requests": 0, "samples": 0})
    client = llm.client(cfg, str(layout.root / "cache" / "llm.sqlite"), log=context.log.warning)
    if client is None:
        raise Failure("synthetic requests are open but no LLM endpoint is configured: set CURATION_LLM_URL or synthetic.llm.base_url")
    out = layout.stage_file(CORPUS, "generated", plan["plan_hash"])
    context.log.info(f"plan {plan['plan_hash']}: {len(requests)} synthetic requests -> {client.settings.model} at {client.settings.base_url}")
    stats = generate_batch(plan, layout.release_dir() / "current", layout.release_dir() / "parallel" / "current", cfg, client, out,
                           progress=lambda done, total: context.log.info(f"generated {done}/{total}"))
    usage = stats["usage"]
    return MaterializeResult(metadata={
        "plan_hash": plan["plan_hash"], "requests": stats["requests"], "samples": stats["samples"], "path": str(out),
        "model": client.settings.model, "api": client.settings.api, "templates": ", ".join(stats["templates"]),
        "llm_requests": usage["requests"], "cache_hits": usage["cache_hits"], "cache_hit_rate": usage["cache_hit_rate"],
        "retries": usage["retries"], "prompt_tokens": usage["prompt_tokens"], "completion_tokens": usage["completion_tokens"],
        "cost": usage["cost"], "requests_per_s": usage["requests_per_s"] or 0.0,
        "per_language_generator": counts_table(stats["per_language"], "language/generator", "samples"),
    })


@asset(group_name=CORPUS, kinds={"parquet", "fasttext"}, deps=[synthetic])
def synthetic_label(context: AssetExecutionContext, curation: CurationResource, langid: LangIdResource) -> MaterializeResult:
    """The real-text gates (standardize, language id, quality policy) plus the synthetic ones
    (requested language, DPO preference, judge floor), for every batch not labelled yet."""
    layout, cfg = curation.layout, curation.config()
    reports = {}
    for gen in sorted(layout.stage_dir(CORPUS, "generated").glob("*.parquet")):
        out = layout.stage_file(CORPUS, "labelled", gen.stem)
        if out.exists() and out.stat().st_mtime >= gen.stat().st_mtime:
            continue
        reports[gen.stem] = label_synthetic(gen, out, cfg, langid.identifier(cfg))
        context.log.info(f"batch {gen.stem}: {reports[gen.stem]['passed']}/{reports[gen.stem]['samples']} passed the gates")
    samples = sum(r["samples"] for r in reports.values())
    passed = sum(r["passed"] for r in reports.values())
    reasons: dict[str, int] = {}
    per_gen: dict[str, dict] = {}
    for r in reports.values():
        for k, v in r["drop_reasons"].items():
            reasons[k] = reasons.get(k, 0) + v
        for g, v in r["per_generator"].items():
            acc = per_gen.setdefault(g, {"generator": g, "samples": 0, "passed": 0})
            acc["samples"] += v["samples"]
            acc["passed"] += v["passed"]
    rows = [{**v, "pass_rate": round(v["passed"] / v["samples"], 3) if v["samples"] else 0.0} for v in per_gen.values()]
    return MaterializeResult(metadata={
        "batches_labelled": len(reports), "samples": samples, "passed": passed, "pass_rate": round(passed / samples, 4) if samples else 0.0,
        "per_generator": MetadataValue.md(plots.markdown_table(rows)) if rows else "none",
        "drop_reasons": counts_table(reasons, "gate", "samples"),
    })


@asset(group_name=CORPUS, kinds={"parquet", "datasketch"}, deps=[synthetic_label])
def synthetic_dedup(context: AssetExecutionContext, curation: CurationResource) -> MaterializeResult:
    """Near-duplicates of real text (web documents, parallel sides) or of other samples are dropped; real text always wins."""
    layout, cfg = curation.layout, curation.config()
    files = sorted(layout.stage_dir(CORPUS, "labelled").glob("*.parquet"))
    if not files:
        raise Failure("no labelled synthetic batches yet")
    ref = real_reference(sorted(layout.stage_dir("web_crawl", "labelled").glob("*.parquet")),
                         sorted(layout.stage_dir("parallel", "labelled").glob("*.parquet")))
    out = layout.root / "lake" / CORPUS / "dedup.parquet"
    stats = dedup_synthetic(files, ref, out, cfg)
    context.log.info(f"{stats['docs']} gated samples against {stats['reference_texts']} real texts: {stats['removed']} removed")
    return MaterializeResult(metadata={"samples": stats["docs"], "removed": stats["removed"], "duplicates_of_real": stats["duplicates_of_reference"],
                                       "real_reference_texts": stats["reference_texts"], "path": str(out)})


@asset(group_name=CORPUS, kinds={"parquet", "json"}, deps=[synthetic_dedup])
def synthetic_release(context: AssetExecutionContext, curation: CurationResource) -> MaterializeResult:
    """Per language: synthetic.parquet (continued-pretraining text), sft.jsonl, dpo.jsonl, manifest and data card."""
    layout, cfg = curation.layout, curation.config()
    files = sorted(layout.stage_dir(CORPUS, "labelled").glob("*.parquet"))
    manifest = release_synthetic(files, layout.root / "lake" / CORPUS / "dedup.parquet", layout.release_dir() / CORPUS, cfg)
    rows = [{"language": k, **v} for k, v in manifest["languages"].items()]
    context.log.info(f"synthetic release {manifest['build_id']}: {manifest['released']} of {manifest['samples']} samples")
    sample = pl.read_parquet(files[-1]).filter(pl.col("gate_keep")).head(5) if files else None
    return MaterializeResult(metadata={
        "build_id": manifest["build_id"], "path": manifest["path"], "released": manifest["released"], "samples": manifest["samples"],
        "languages": MetadataValue.md(plots.markdown_table(rows)) if rows else "none",
        "drop_reasons": counts_table(manifest["drop_reasons"], "reason", "samples"),
        "pii_redacted": pii_table(manifest["pii_redacted"]),
        "examples": MetadataValue.md(plots.markdown_table(sample.select("lang", "generator", "judge_score", pl.col("text").str.slice(0, 160)).to_dicts()))
        if sample is not None and sample.height else "none",
    })
