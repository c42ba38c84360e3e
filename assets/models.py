"""Models trained here: train_langid (fastText LID + router) and train_quality_model (a
fastText quality classifier taught by LLM judges)."""

import os
from pathlib import Path

from dagster import AssetExecutionContext, Failure, MaterializeResult, MetadataValue, asset

from curation_platform import plots
from curation_platform.langid_train import resolve_corpus, train_and_evaluate, train_params
from curation_platform.quality_model import QualityScorer, build_judges, train_from_labelled
from curation_platform.resources import CurationResource, LLMResource


@asset(group_name="models", kinds={"fasttext"}, deps=["review_results"])
def train_langid(context: AssetExecutionContext, curation: CurationResource) -> MaterializeResult:
    """Our fastText LID model, quantized, open-set and routed with the stock model, evaluated
    on FLORES-200 devtest 507-1012; rebuilt with the sentences a user drops into
    <data root>/inbox/langid/<language code>.txt (the langid_inbox_sensor starts this run), and
    used by every stage from then on (it wins over the model shipped in the package)."""
    layout, cfg = curation.layout, curation.config()
    tcfg = cfg.get("langid", {}).get("train", {})
    data_dir = tcfg.get("data_dir") or os.environ.get("CURATION_LID_DATA")
    if not data_dir or not Path(data_dir).is_dir():
        raise Failure("set langid.train.data_dir (or CURATION_LID_DATA) to a folder in the shared-data layout "
                      "(flores200/devtest, udhr/utf8, parallel/, lid/lingua/sentences)")
    out = layout.root / "models" / "langid"
    extra = [Path(d) for d in tcfg.get("extra_dirs") or []]
    for folder, what in ((langid_inbox(layout.root), "sentences of added languages"), (layout.root / "review" / "langid_corrections", "reviewers' language corrections")):
        if folder.is_dir() and any(folder.glob("*.txt")):
            extra.append(folder)
            context.log.info(f"training also on {what} in {folder}: {', '.join(sorted(p.stem for p in folder.glob('*.txt')))}")
    meta = train_and_evaluate(Path(data_dir), out, extra_dirs=extra, params=train_params(tcfg), cfg_langid=cfg.get("langid", {}),
                              log=context.log.info, exclude=tcfg.get("exclude") or [], corpus=resolve_corpus(tcfg.get("corpus", "default")))
    s = meta["scores"]
    cols = [c for c in ("stock", "full", "ours", "routed") if c in s]
    rows = [{"language": lang, **{c: s[c]["per_lang"][lang] for c in cols}} for lang in sorted(s["routed"]["per_lang"])]
    added = sorted({lab for lab in meta["languages"]} - set(s["routed"]["per_lang"]))
    return MaterializeResult(metadata={
        "path": str(out / meta["file"]), "size_mb": meta["size_mb"], "languages": len(meta["languages"]),
        "languages_without_evaluation": ", ".join(added) or "none",
        "train_texts": meta["train_texts"], "dropped_contaminated": meta["dropped_contaminated"],
        "macro_f1_stock": s["stock"]["macro_f1"], "macro_f1_ours": s["ours"]["macro_f1"], "macro_f1_routed": s["routed"]["macro_f1"],
        "quantization_cost": meta["quantization_cost"],
        "prefer_trained": ", ".join(meta["prefer_trained"]),
        "f1_per_language": MetadataValue.md(plots.markdown_table(rows)),
        "confusable": MetadataValue.json(meta["confusable"]),
        "confusion": MetadataValue.md(plots.markdown_image(meta["confusion_png"], "confusion matrix")),
        "model_card": MetadataValue.path(str(out / "README.md")),
    })


def langid_inbox(root: Path) -> Path:
    """Where a user drops `<language code>.txt` files (one sentence per line) to add a language."""
    return root / "inbox" / "langid"


@asset(group_name="models", kinds={"fasttext", "openai"}, deps=["label"])
def train_quality_model(context: AssetExecutionContext, curation: CurationResource, llm: LLMResource) -> MaterializeResult:
    """A fastText quality classifier taught by a panel of LLM judges (or, without an LLM,
    by the heuristic rules, named as such); the label stage records its score for every
    document and applies it where it beat the rules on held-out judge labels."""
    layout, cfg = curation.layout, curation.config()
    files = [f for corpus in ("web_crawl", "business") for f in sorted(layout.stage_dir(corpus, "labelled").glob("*.parquet"))]
    if not files:
        raise Failure("no labelled shards yet: materialize label first")
    out = Path(cfg["quality_model"]["trained_dir"])
    cache = layout.root / "models" / "quality_judge_cache.sqlite"
    judges = build_judges(llm.settings(cfg), cfg["quality_model"], cache, log=context.log.info)
    meta = train_from_labelled(files, out, cfg, judges, log=context.log.info)
    ag = meta["agreement"]
    rows = [{"": name, **{k: meta[name][k] for k in ("accuracy", "precision_hq", "recall_hq", "f1_hq")}} for name in ("classifier", "rules")]
    scores = QualityScorer(out).score(_first_texts(files))
    return MaterializeResult(metadata={
        "path": str(out / "model.bin"), "teacher": meta["teacher"], "judges": ", ".join(meta["judges"] or []),
        "fleiss_kappa": ag.get("fleiss_kappa"), "pairwise_agreement": MetadataValue.json(ag.get("pairwise_agreement") or {}),
        "labelled": meta["labelled"], "held_out": meta["held_out"], "hq_share": meta["hq_share"],
        "classifier_accuracy": meta["classifier"]["accuracy"], "rules_accuracy": meta["rules"]["accuracy"],
        "applied_by_label_stage": meta["beats_heuristic"],
        "vs_held_out_teacher_labels": MetadataValue.md(plots.markdown_table(rows)),
        "per_language": MetadataValue.md(plots.markdown_table(meta["per_language"])),
        "score_histogram": MetadataValue.md(plots.markdown_image(
            plots.histogram([int(s * 10) for s in scores], "P(high quality) on labelled documents", "score x 10", "documents"), "scores")),
    })


def _first_texts(files: list[Path], n: int = 2000) -> list[str]:
    import polars as pl

    return pl.concat([pl.read_parquet(f, columns=["text"]) for f in files]).head(n)["text"].to_list()
