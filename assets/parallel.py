"""The parallel corpus: parallel (parse) -> parallel_label -> parallel_dedup -> parallel_construct."""

from dagster import AssetCheckSpec, AssetExecutionContext, MaterializeResult, MetadataValue, asset

from curation_platform import plots
from curation_platform.assets.metadata import drop_rate_check, pii_table, check_result, counts_table
from curation_platform.assets.partitions import parallel_corpora
from curation_platform.bitext import construct_bitext, dedup_bitext, label_bitext_file, parse_bitext_file
from curation_platform.bitext.readers import moses_siblings
from curation_platform.resources import CurationResource, EmbeddingsResource, LangIdResource
from curation_platform.storage import safe_key
from curation_platform.validation import check_conservation

CORPUS = "parallel"


def corpus_key(path) -> str | None:
    """Partition key of an inbox file: its name, or the shared stem of a Moses pair."""
    sib = moses_siblings(path)
    if sib:
        name = sib[0].name[:-3] if sib[0].name.endswith(".gz") else sib[0].name
        return safe_key(name.rsplit(".", 1)[0])
    return safe_key(path.name)


def corpus_file(curation: CurationResource, key: str):
    for path in sorted(curation.layout.inbox(CORPUS).iterdir()):
        if path.is_file() and corpus_key(path) == key:
            return path
    raise FileNotFoundError(f"no parallel inbox file for partition {key!r}")


@asset(partitions_def=parallel_corpora, group_name=CORPUS, kinds={"parquet", "python"})
def parallel(context: AssetExecutionContext, curation: CurationResource) -> MaterializeResult:
    """Sentence pairs parsed from one dropped corpus (Moses pair, TSV, TMX or OPUS zip), with provenance."""
    layout, key = curation.layout, context.partition_key
    src = corpus_file(curation, key)
    stats = parse_bitext_file(src, layout.stage_file(CORPUS, "parsed", key), layout.quarantine(CORPUS) / f"{key}.parquet",
                              layout.root / "provenance" / CORPUS / key)
    context.log.info(f"{key}: {stats['pairs']} pairs, {stats['issues']} records skipped")
    return MaterializeResult(metadata={
        "pairs": stats["pairs"], "skipped_records": stats["issues"], "language_pairs": MetadataValue.json(stats["language_pairs"]),
        "skipped_examples": MetadataValue.md("\n".join(f"- {e}" for e in stats["issue_examples"]) or "_none_"),
        "provenance_files": ", ".join(stats["provenance_files"]) or "none",
    })


@asset(partitions_def=parallel_corpora, group_name=CORPUS, kinds={"parquet", "fasttext", "openai"}, deps=[parallel],
       check_specs=[AssetCheckSpec("kept_plus_dropped_equals_input", asset="parallel_label", blocking=True),
                    AssetCheckSpec("drop_rate_per_language", asset="parallel_label", description="warns when one rule drops most pairs of one target language")])
def parallel_label(context: AssetExecutionContext, curation: CurationResource, langid: LangIdResource, embeddings: EmbeddingsResource) -> MaterializeResult:
    """One column per pair signal (rules, language id, similarity + margin when an endpoint is set), then keep/drop_reason."""
    layout, key, cfg = curation.layout, context.partition_key, curation.config()
    embedder = embeddings.client(cfg, str(layout.root / "cache" / "embeddings.sqlite"))
    stats = label_bitext_file(layout.stage_file(CORPUS, "parsed", key), layout.stage_file(CORPUS, "labelled", key), cfg, langid.identifier(cfg), embedder)
    if not stats["similarity"]:
        context.log.warning("no embeddings endpoint configured: similarity/margin recorded as null, their rules are off")
    report = check_conservation(stats["rows_in"], stats["pairs"], stats["kept"], stats["pairs"] - stats["kept"])
    rows = [{"pair": k, "in": v["in"], "kept": v["kept"]} for k, v in stats["per_pair"].items()]
    cal = [{"pair": k, "auc": c.get("auc"), "margin_threshold": c.get("threshold"), "similarity_rule": "on" if c.get("on") else f"off: {c.get('why')}"}
           for k, c in stats["similarity_calibration"].items()]
    for row in cal:
        if row["similarity_rule"] != "on":
            context.log.warning(f"{row['pair']}: similarity rule off ({row['similarity_rule'][5:]})")
    return MaterializeResult(
        metadata={"pairs": stats["pairs"], "kept": stats["kept"], "similarity_scored": stats["similarity"],
                  "similarity_calibration": MetadataValue.md(plots.markdown_table(cal)) if cal else "similarity not computed",
                  "per_pair": MetadataValue.md(plots.markdown_table(rows)) if rows else "none",
                  "drop_reasons": counts_table(stats["drop_reasons"], "reason", "pairs")},
        check_results=[check_result("kept_plus_dropped_equals_input", report),
                       drop_rate_check(layout.stage_file(CORPUS, "labelled", key), cfg, lang_col="tgt_lang")],
    )


@asset(group_name=CORPUS, kinds={"parquet", "datasketch"}, deps=[parallel_label])
def parallel_dedup(curation: CurationResource) -> MaterializeResult:
    """Exact pair dedup, one-to-many limits per side, MinHash on the concatenated pair, across all parallel corpora."""
    layout, cfg = curation.layout, curation.config()
    files = sorted(layout.stage_dir(CORPUS, "labelled").glob("*.parquet"))
    out = layout.root / "lake" / CORPUS / "dedup.parquet"
    stats = dedup_bitext(files, out, cfg)
    return MaterializeResult(metadata={"corpora": len(files), "pairs": stats["docs"], "removed": stats["removed"] + stats["one_to_many"],
                                       "reasons": counts_table(stats["reasons"], "reason", "pairs"), "path": str(out)})


@asset(group_name=CORPUS, kinds={"parquet"}, deps=[parallel_dedup])
def parallel_construct(context: AssetExecutionContext, curation: CurationResource) -> MaterializeResult:
    """Per language pair: parquet + Moses export, manifest and data card under release/parallel/current."""
    layout, cfg = curation.layout, curation.config()
    files = sorted(layout.stage_dir(CORPUS, "labelled").glob("*.parquet"))
    manifest = construct_bitext(files, layout.root / "lake" / CORPUS / "dedup.parquet", layout.release_dir() / CORPUS, cfg)
    rows = [{"pair": k, **v} for k, v in manifest["language_pairs"].items()]
    context.log.info(f"parallel release {manifest['build_id']}: {manifest['pairs_released']} pairs")
    return MaterializeResult(metadata={
        "build_id": manifest["build_id"], "path": manifest["path"], "pairs_released": manifest["pairs_released"], "pairs_in": manifest["pairs_in"],
        "language_pairs": MetadataValue.md(plots.markdown_table(rows)) if rows else "none",
        "drop_reasons": counts_table(manifest["drop_reasons"], "reason", "pairs"),
        "pii_redacted": pii_table(manifest["pii_redacted"], "language pair"),
        "drop_chart": MetadataValue.md(plots.markdown_image(plots.bar_chart(manifest["drop_reasons"] or {"none": 0}, "Dropped pairs by reason"), "drops")),
    })
