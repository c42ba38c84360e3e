"""The evaluation loop: eval_results -> quality_gaps -> mixture_plan -> training_mixture -> proxy_eval."""

import json

import polars as pl
from dagster import AssetExecutionContext, Config, MaterializeResult, MetadataValue, asset
from dagster_duckdb import DuckDBResource

from curation_platform import loop, plots
from curation_platform.assets.metadata import chart
from curation_platform.resources import CurationResource


class EvalResultsConfig(Config):
    files: list[str] = []  # inbox file names to ingest; empty = every file not ingested yet


def _md(df: pl.DataFrame, cols: list[str] | None = None) -> MetadataValue:
    return MetadataValue.md(plots.markdown_table(df.to_dicts(), cols or df.columns))


@asset(group_name="loop", kinds={"duckdb"}, pool="duckdb")
def eval_results(context: AssetExecutionContext, config: EvalResultsConfig, curation: CurationResource, duckdb: DuckDBResource) -> MaterializeResult:
    """Evaluation results from the eval inbox, appended to the DuckDB history (never overwritten)."""
    layout, cfg = curation.layout, curation.config()
    with duckdb.get_connection() as con:
        files = [layout.eval_inbox / f for f in config.files] if config.files else loop.pending_eval_files(con, layout.eval_inbox)
        stats = loop.ingest_eval_files(con, files, cfg["loop"]["eval_tasks"], layout.quarantine("eval"), layout.loop_dir)
        total = con.execute("SELECT count(*) FROM eval_results").fetchall()[0][0]
        # score history of the most reported metric: one point per ingested file, per language
        top = con.execute("SELECT metric FROM eval_results GROUP BY metric ORDER BY count(*) DESC LIMIT 1").fetchall()
        history = con.execute("SELECT language, avg(score) FROM eval_results WHERE metric = ? GROUP BY language, file_hash "
                              "ORDER BY language, min(ingested_at)", [top[0][0]]).fetchall() if top else []
    series: dict[str, list[float]] = {}
    for lang, score in history:
        series.setdefault(lang, []).append(round(score, 4))
    for err in stats["errors"]:
        context.log.warning(f"quarantined: {err}")
    return MaterializeResult(metadata={
        "rows_added": stats["rows_added"], "history_rows": total, "files": MetadataValue.json(stats["files"]),
        "quarantined": MetadataValue.md("\n".join(f"- {e}" for e in stats["errors"]) or "_none_"),
        "score_history": chart(plots.history_chart(series, f"{top[0][0] if top else 'score'} per evaluation round", top[0][0] if top else ""),
                               "score history"),
    })


@asset(group_name="loop", kinds={"duckdb", "python"}, deps=[eval_results], pool="duckdb")
def quality_gaps(curation: CurationResource, duckdb: DuckDBResource) -> MaterializeResult:
    """Latest score per language x level x domain x metric against its per-language target."""
    layout, cfg = curation.layout, curation.config()
    with duckdb.get_connection() as con:
        _, gaps = loop.compute_gaps(con, cfg["loop"])
    from curation_platform.storage import write_parquet

    write_parquet(gaps, layout.loop_dir / "gaps.parquet")
    below = gaps.filter(pl.col("below_target"))
    labels = {f"{r['language']} {r['level']}/{r['metric']}": r["gap"] for r in below.iter_rows(named=True)}
    return MaterializeResult(metadata={
        "scores": gaps.height, "below_target": below.height,
        "gaps": _md(gaps, ["language", "level", "domain", "metric", "score", "target", "gap", "below_target"]),
        "gap_chart": chart(plots.bar_chart(labels or {"no gaps": 0}, "Relative shortfall against target", "gap"), "gaps"),
    })


@asset(group_name="loop", kinds={"python", "json"}, deps=["construct", "parallel_construct"])
def language_plan(context: AssetExecutionContext, curation: CurationResource) -> MaterializeResult:
    """Typology-guided language selection (URIEL via lang2vec's data): the k languages that
    get parallel data for realignment, each target's nearest selected language, and each
    target's translation pivot; against random k and all candidates."""
    layout, cfg = curation.layout, curation.config()
    plan = loop.build_language_plan(layout.release_dir() / "current", layout.release_dir() / "parallel" / "current", cfg,
                                    layout.loop_dir / "language_plan.json")
    base = plan["baselines"]
    context.log.info(f"language plan {plan['plan_hash']}: selected {plan['selected']} for {len(plan['targets'])} targets"
                     + (f"; not in URIEL: {plan['missing_in_uriel']}" if plan["missing_in_uriel"] else ""))
    if not plan["selected"]:
        context.log.warning("no selection: the plan needs targets and candidates (languages with parallel data or language_plan.candidates)")
    cov = [{"target": t, "nearest_selected": c["nearest"], "distance": c["distance"], "pivot": plan["pivots"].get(t)} for t, c in plan["coverage"].items()]
    return MaterializeResult(metadata={
        "plan_hash": plan["plan_hash"], "selected": ", ".join(plan["selected"]) or "none", "k": plan["k"],
        "targets": len(plan["targets"]), "candidates": len(plan["candidates"]),
        "worst_coverage_selected": base.get("selected", {}).get("worst", 0.0),
        "worst_coverage_random": base.get("random_k", {}).get("worst", 0.0),
        "worst_coverage_all": base.get("all_candidates", {}).get("worst", 0.0),
        "baselines": MetadataValue.md(plots.markdown_table([{"set": k, **{m: v for m, v in b.items() if m in ("size", "worst", "mean", "diversity")}}
                                                            for k, b in base.items()])) if base else "none",
        "coverage": MetadataValue.md(plots.markdown_table(cov)) if cov else "none",
        "missing_in_uriel": ", ".join(plan["missing_in_uriel"]) or "none",
        "plan_chart": chart(plots.language_plan_chart(plan), "language plan"),
        "path": str(layout.loop_dir / "language_plan.json"),
    })


@asset(group_name="loop", kinds={"duckdb", "python"}, deps=[quality_gaps, "construct", language_plan], pool="duckdb")
def mixture_plan(context: AssetExecutionContext, curation: CurationResource, duckdb: DuckDBResource) -> MaterializeResult:
    """Per-language weights (UniMax / temperature, raised for gaps), budgets and data requests;
    with a language plan, the parallel pairs of its selected languages and its pivots."""
    layout, cfg = curation.layout, curation.config()
    gaps = pl.read_parquet(layout.loop_dir / "gaps.parquet")
    lp_file = layout.loop_dir / "language_plan.json"
    lplan = json.loads(lp_file.read_text("utf-8")) if lp_file.is_file() else None
    with duckdb.get_connection() as con:
        plan, changed = loop.make_plan(con, layout.release_dir() / "current", gaps, cfg, layout.loop_dir / "plans", lplan)
    context.log.info(f"plan {plan['plan_hash']} ({'changed' if changed else 'unchanged'}), {len(plan['requests'])} data requests")
    langs = pl.DataFrame([{"language": k, **v} for k, v in plan["languages"].items()])
    reqs = pl.DataFrame([{**r, "seeds": ", ".join(r["seeds"])} for r in plan["requests"]]) if plan["requests"] else pl.DataFrame()
    return MaterializeResult(metadata={
        "plan_hash": plan["plan_hash"], "changed": changed, "epoch": plan["epoch"], "requests": len(plan["requests"]),
        "synthetic_requests": sum(1 for r in plan["requests"] if r["kind"] == "synthetic" and r["tokens"] > 0),
        "languages": _md(langs, ["language", "available_tokens", "base_weight", "boost", "weight", "budget_tokens", "epochs", "shortfall_tokens"]) if langs.height else "none",
        "data_requests": _md(reqs) if reqs.height else MetadataValue.md("_no requests: every tracked score meets its target_"),
        "weights": chart(plots.bar_chart({k: v["weight"] for k, v in plan["languages"].items()}, "Mixture weight per language"), "weights"),
        "transfer": MetadataValue.json(plan["transfer"]) if "transfer" in plan else "no language plan",
    })


@asset(group_name="loop", kinds={"parquet"}, deps=[mixture_plan, "synthetic_release"])
def training_mixture(context: AssetExecutionContext, curation: CurationResource) -> MaterializeResult:
    """The plan materialized from the release: decontaminated, rehydrated train/validation shards."""
    layout, cfg = curation.layout, curation.config()
    plan = json.loads((layout.loop_dir / "plans" / "latest.json").read_text("utf-8"))
    manifest = loop.build_training_mixture(layout.release_dir() / "current", plan, cfg, layout.mixture_dir,
                                           synthetic_dir=(layout.release_dir() / "synthetic" / "current").resolve(),
                                           parallel_dir=(layout.release_dir() / "parallel" / "current").resolve())
    rows = [{"language": k, **v} for k, v in manifest["languages"].items()]
    context.log.info(f"mixture {plan['plan_hash']}: {sum(r['train_rows'] for r in rows)} training rows")
    return MaterializeResult(metadata={
        "plan_hash": plan["plan_hash"], "path": manifest["path"],
        "train_tokens": sum(r["train_tokens"] for r in rows), "contaminated_dropped": sum(r["contaminated_dropped"] for r in rows),
        "synthetic_tokens": sum(r["synthetic_tokens"] for r in rows),
        "parallel_pairs": sum(v["pairs"] for v in manifest.get("parallel", {}).values()),
        "languages": MetadataValue.md(plots.markdown_table(rows)) if rows else "none",
    })


@asset(group_name="loop", kinds={"python"}, deps=[training_mixture])
def proxy_eval(context: AssetExecutionContext, curation: CurationResource) -> MaterializeResult:
    """Built-in CPU proxy: char n-gram LM per language, bits/char on held-out text, written to the eval inbox."""
    layout, cfg = curation.layout, curation.config()
    rows, path = loop.run_proxy((layout.mixture_dir / "current").resolve(), cfg, layout.eval_inbox)
    context.log.info(f"proxy results for {len(rows)} languages -> {path}")
    return MaterializeResult(metadata={
        "results_file": str(path), "languages": len(rows),
        "results": MetadataValue.md(plots.markdown_table(rows, ["language", "level", "metric", "score", "train_chars"])) if rows else "none",
    })
