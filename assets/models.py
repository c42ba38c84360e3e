"""Models trained from labelled seed text: train_langid (fastText LID + router)."""

import os
from pathlib import Path

from dagster import AssetExecutionContext, Failure, MaterializeResult, MetadataValue, asset

from curation_platform import plots
from curation_platform.langid_train import train_and_evaluate
from curation_platform.resources import CurationResource


@asset(group_name="models", kinds={"fasttext"})
def train_langid(context: AssetExecutionContext, curation: CurationResource) -> MaterializeResult:
    """A supervised fastText LID model for the target languages, evaluated against the stock
    model on FLORES-200 devtest 507-1012; the label stage routes through it once it exists."""
    layout, cfg = curation.layout, curation.config()
    tcfg = cfg.get("langid", {}).get("train", {})
    data_dir = tcfg.get("data_dir") or os.environ.get("CURATION_LID_DATA")
    if not data_dir or not Path(data_dir).is_dir():
        raise Failure("set langid.train.data_dir (or CURATION_LID_DATA) to a folder in the shared-data layout "
                      "(flores200/devtest, udhr/utf8, parallel/, lid/lingua/sentences)")
    out = layout.root / "models" / "langid"
    params = {k: tcfg[k] for k in ("epoch", "dim", "word_ngrams", "minn", "maxn", "lr") if k in tcfg}
    meta = train_and_evaluate(Path(data_dir), out, extra_dirs=[Path(d) for d in tcfg.get("extra_dirs") or []], params=params,
                              cfg_langid=cfg.get("langid", {}), log=context.log.info)
    s = meta["scores"]
    rows = [{"language": lang, "stock": s["stock"]["per_lang"][lang], "trained": s["trained"]["per_lang"][lang], "routed": s["routed"]["per_lang"][lang]}
            for lang in sorted(s["routed"]["per_lang"])]
    return MaterializeResult(metadata={
        "path": str(out / "model.bin"), "train_texts": meta["train_texts"], "dropped_contaminated": meta["dropped_contaminated"],
        "macro_f1_stock": s["stock"]["macro_f1"], "macro_f1_trained": s["trained"]["macro_f1"], "macro_f1_routed": s["routed"]["macro_f1"],
        "prefer_trained": ", ".join(meta["prefer_trained"]),
        "f1_per_language": MetadataValue.md(plots.markdown_table(rows)),
        "confusion": MetadataValue.md(plots.markdown_image(meta["confusion_png"], "confusion matrix")),
    })
