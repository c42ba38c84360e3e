"""train_langid in a real Dagster run: a fastText model trained on the shared seed text
(FLORES 1-506, UDHR, lingua, Tatoeba/TICO/NTREX), evaluated against the stock model on
FLORES 507-1012 only, and picked up by the label stage by default afterwards."""

from __future__ import annotations

import json
import os

import pytest
from dagster import DagsterInstance, materialize

from curation_platform.assets.models import train_langid
from curation_platform.label import label_frame
from curation_platform.langid_train import EVAL_LINES, decontaminate, flores_split, training_data
from curation_platform.resources import CurationResource, LangIdResource
from curation_platform.settings import load_config


@pytest.fixture(scope="module")
def trained(tmp_path_factory, data_dir):
    root = tmp_path_factory.mktemp("models_root")
    cfg = root.parent / f"{root.name}-config.yaml"
    cfg.write_text(f"langid:\n  train: {{data_dir: '{data_dir}'}}\n")
    with DagsterInstance.ephemeral() as instance:
        res = materialize([train_langid], instance=instance,
                          resources={"curation": CurationResource(data_root=str(root), config_path=str(cfg))})
        assert res.success
        md = res.asset_materializations_for_node("train_langid")[0].metadata
    return root, md, json.loads((root / "models" / "langid" / "model.json").read_text())


def test_trained_model_beats_the_stock_model(trained):
    root, md, meta = trained
    s = meta["scores"]
    assert s["trained"]["macro_f1"] >= 0.97 and s["routed"]["macro_f1"] >= 0.97
    assert s["trained"]["macro_f1"] > s["stock"]["macro_f1"] + 0.15
    for lang in ("ace_Latn", "ban_Latn", "min_Latn", "jav_Latn", "sun_Latn", "ceb_Latn", "tgl_Latn"):
        assert s["routed"]["per_lang"][lang] >= 0.95, lang  # the languages the stock model misses or confuses
    assert set(meta["prefer_trained"]) >= {"ace_Latn", "ban_Latn", "min_Latn", "jav_Latn", "sun_Latn"}
    assert md["macro_f1_routed"].value == s["routed"]["macro_f1"]
    for f in ("model.bin", "README.md", "confusion.png"):
        assert (root / "models" / "langid" / f).stat().st_size > 0


def test_evaluation_sentences_are_never_trained_on(data_dir):
    held = [t for _, t in flores_split(data_dir, EVAL_LINES)]
    train, dropped = decontaminate(training_data(data_dir), held)
    norm = lambda t: " ".join(t.lower().split())  # noqa: E731
    assert not {norm(t) for _, t in train} & {norm(t) for t in held}
    assert dropped > 0  # some shared parallel sides do repeat FLORES sentences


def test_label_stage_routes_through_the_trained_model(trained, flores):
    root, _, _ = trained
    cfg = load_config()
    stock = LangIdResource().identifier(cfg)
    routed = LangIdResource(trained_dir=str(root / "models" / "langid")).identifier(cfg)
    assert type(routed).__name__ == "RoutedIdentifier" and type(stock).__name__ == "LanguageIdentifier"
    import polars as pl

    jav = flores("jav_Latn")[600:640]
    df = pl.DataFrame({"id": [str(i) for i in range(len(jav))], "text": jav})
    with_stock = label_frame(df, cfg, stock)["lang"].to_list()
    with_routed = label_frame(df, cfg, routed)["lang"].to_list()
    assert with_routed.count("jav_Latn") >= 38 and with_routed.count("jav_Latn") > with_stock.count("jav_Latn") + 5
    # Acehnese in Latin script gets its script-variant code (the stock model has no label for it)
    ace = pl.DataFrame({"text": flores("ace_Latn")[600:640]})
    assert label_frame(ace, cfg, routed)["lang"].to_list().count("ace_Latn") >= 36
    assert label_frame(ace, cfg, stock)["lang"].to_list().count("ace_Latn") == 0
    assert os.path.exists(root / "models" / "langid" / "model.bin")


def test_train_quality_model_asset_and_the_label_stage_uses_it(tmp_path, flores):
    """train_quality_model in a real run over labelled shards in the data root; without an
    LLM the teacher is the heuristic rules, named as such, and the classifier is recorded
    on every document but not applied."""
    from curation_platform.assets.models import train_quality_model
    from curation_platform.langid import LanguageIdentifier
    from curation_platform.resources import LLMResource
    from curation_platform.storage import Layout, write_parquet
    from tests.engine.test_quality_model import corpus

    layout = Layout(tmp_path).ensure()
    docs = corpus(flores, 30)
    write_parquet(label_frame(docs, load_config(), LanguageIdentifier()), layout.stage_file("web_crawl", "labelled", "s1"))
    curation = CurationResource(data_root=str(tmp_path))
    with DagsterInstance.ephemeral() as instance:
        res = materialize([train_quality_model], instance=instance, resources={"curation": curation, "llm": LLMResource()},
                          selection=[train_quality_model.key])
    assert res.success
    md = res.asset_materializations_for_node("train_quality_model")[0].metadata
    assert md["teacher"].value == "heuristic" and md["applied_by_label_stage"].value is False
    assert md["classifier_accuracy"].value >= 0.8 and md["held_out"].value >= 40
    assert "data:image/png;base64" in md["score_histogram"].value
    cfg = curation.config()
    assert cfg["quality_model"]["trained_dir"] == str(tmp_path / "models" / "quality")
    relabelled = label_frame(docs, cfg, LanguageIdentifier())
    assert relabelled["signals"].struct.field("quality_model").null_count() == 0
