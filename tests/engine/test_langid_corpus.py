"""The committed multi-domain language-ID corpus: what it holds, what it must never hold
(FLORES devtest evaluation lines), and the leave-domain-out selection of training text."""

from __future__ import annotations

import lzma

import polars as pl
import pytest

from curation_platform.langid_corpus import default_corpus_dir, domains_by_label, paragraphs, read_corpus, read_source, sentences, sources
from curation_platform.langid_train import EVAL_LINES, corpus_training, training_data


@pytest.fixture(scope="module")
def corpus():
    return read_corpus()


def test_corpus_sources_labels_and_domains(corpus):
    manifest = sources(default_corpus_dir())
    assert set(manifest) == {"flores", "ntrex", "tico19", "tatoeba", "udhr", "nusa_paragraph"}
    assert all(m["licence"] and len(m["commit"]) == 40 for m in manifest.values())
    # one domain per source, and the rows agree with the manifest
    per_source = corpus.group_by("source").agg(pl.col("domain").unique(), pl.len())
    for source, domains, n in per_source.iter_rows():
        assert list(domains) == [manifest[source]["domain"]] and n == manifest[source]["texts"]
    doms = domains_by_label(corpus)
    assert len(doms) >= 500 and sum(len(d) >= 2 for d in doms.values()) >= 150
    for label in ("ind_Latn", "zsm_Latn", "tgl_Latn", "vie_Latn", "tha_Thai"):
        assert len(doms[label]) >= 4, (label, doms[label])
    for label in ("mad_Latn", "bug_Latn", "bbc_Latn", "war_Latn", "ilo_Latn", "shn_Mymr", "pag_Latn", "dzo_Tibt", "yue_Hant"):
        assert label in doms
    assert {"stories", "legal"} <= set(doms["mad_Latn"])  # Madurese: native speakers' paragraphs and the UDHR
    assert not corpus.filter(corpus["text"].str.contains("\t"))["text"].len()


def test_flores_evaluation_lines_never_in_the_corpus(corpus, flores):
    texts = set(corpus["text"].to_list())
    for code in ("ind_Latn", "ceb_Latn", "mya_Mymr"):
        lines = flores(code)
        held = [" ".join(t.split()) for t in lines[EVAL_LINES[0] - 1 : EVAL_LINES[1]]]
        assert not texts.intersection(held), code
        assert " ".join(lines[0].split()) in texts  # the training half is there


def test_a_broken_line_is_named(tmp_path):
    bad = tmp_path / "x.tsv.xz"
    with lzma.open(bad, "wt", encoding="utf-8") as fh:
        fh.write("label\tdomain\ttext\nind_Latn\twiki\tSaya makan.\nind_Latn wiki no tabs\n")
    with pytest.raises(ValueError, match=r"x\.tsv\.xz:3: expected label<TAB>domain<TAB>text"):
        read_source(bad)


def test_paragraphs_and_sentences_units():
    short = ["Aku lagi makan nasi goreng di warung dekat rumah."] * 20  # 9 words each
    paras = paragraphs(short)
    assert len(paras) == 20 // 7 and all(len(p.split()) >= 60 for p in paras)
    assert paragraphs(["kata " * 70]) == ["kata " * 70]
    assert sentences(["satu dua", "satu dua tiga empat lima enam tujuh delapan", "ภาษาไทยเป็นภาษาที่มีความสละสลวยมาก"]) == [
        "satu dua tiga empat lima enam tujuh delapan", "ภาษาไทยเป็นภาษาที่มีความสละสลวยมาก"]


def test_leave_domain_out_selection(data_dir):
    rows, doms, held = corpus_training(default_corpus_dir(), exclude_domains=["conversational"], exclude=["war"])
    assert all("conversational" not in d for d in doms.values())
    # the last tenth of each (label, domain) group is held out, never trained on: every label gets a held-out score
    assert not {t for _, _, t in held} & {t for _, _, t in rows} and {lab for lab, _, _ in held} <= set(doms)
    assert 0.08 <= len(held) / (len(held) + len(rows)) <= 0.11
    assert "war_Latn" not in doms and "ind_Latn" in doms
    assert "pam_Latn" not in doms  # 66 UDHR paragraphs: below min_texts, not a label
    shared = training_data(data_dir, exclude_domains=["conversational", "legal"])
    all_shared = training_data(data_dir)
    assert 0 < len(shared) < len(all_shared)
    tatoeba_tgl = (data_dir / "parallel" / "tatoeba" / "eng-tgl.v2021-08-07.tsv").read_text("utf-8").splitlines()[0].split("\t")[1].strip()
    assert ("tgl_Latn", tatoeba_tgl) in all_shared and ("tgl_Latn", tatoeba_tgl) not in shared


def test_every_flores_script_is_detected():
    """Each FLORES label's held-out text is detected in the script its code names (Tifinagh
    and Ol Chiki text had no script before: 'Zyyy'); Han text is Hans or Hant either way."""
    from curation_platform.langid_corpus import read_heldout
    from curation_platform.scripts import dominant_script

    df = read_heldout()
    wrong = {}
    for (label,), group in df.group_by("label"):
        want = label.split("_")[1]
        got = [dominant_script(t, label.split("_")[0]) for t in group["text"].head(50).to_list()]
        ok = sum(g == want or (want in ("Hans", "Hant") and g in ("Hans", "Hant")) for g in got)
        if ok < 0.9 * len(got):
            wrong[label] = sorted(set(got))
    assert wrong == {}


def test_cross_domain_ceilings_measure_the_shift():
    """A language with two domains is calibrated across them; one with a single domain gets
    its half-split rate plus the measured median shift, so its ceiling rises too."""
    from curation_platform.lexicon import calibrate_ceilings

    rng = __import__("random").Random(0)
    word = lambda i: "ka" + chr(97 + i // 26) + chr(97 + i % 26)  # noqa: E731 (letters only: units skip digits)
    vocab_a = [word(i) for i in range(300)]
    vocab_b = [word(i) for i in range(150, 450)]  # the second domain shares half of its words
    texts, domains = [], {}
    for dom, vocab in (("news", vocab_a), ("chat", vocab_b)):
        for _ in range(400):
            t = " ".join(rng.choice(vocab) for _ in range(12))
            texts.append(("aaa_Latn", t))
            domains[("aaa_Latn", t)] = dom
    for _ in range(400):
        t = " ".join(rng.choice(vocab_a) for _ in range(12))
        texts.append(("bbb_Latn", t))
        domains[("bbb_Latn", t)] = "news"
    plain, _ = calibrate_ceilings(texts, margin=0.0, floor=0.0)
    cross, report = calibrate_ceilings(texts, domains=domains, margin=0.0, floor=0.0)
    assert report["aaa_Latn"]["method"] == "across 2 domains" and report["bbb_Latn"]["method"].startswith("one domain + median shift")
    assert cross["aaa_Latn"] > plain["aaa_Latn"] + 0.2  # half of a new domain's words are new
    assert cross["bbb_Latn"] > plain["bbb_Latn"] + 0.2


def test_train_langid_on_a_corpus_with_a_domain_left_out(tmp_path, data_dir):
    """`curate train-langid --corpus --leave-out-domain` on a small corpus cut from the real
    one: the left-out domain is in no label's training text (corpus and shared data alike),
    a corpus-only language becomes a label, and the card records what was trained on."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    from curation_platform.langid_model import load_model_dir

    df = read_corpus()
    small = df.filter((pl.col("label").is_in(["mad_Latn", "bug_Latn"]) & (pl.col("domain") == "stories"))
                      | ((pl.col("label") == "ind_Latn") & (pl.col("domain") == "conversational")))
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    with lzma.open(corpus / "cut.tsv.xz", "wt", encoding="utf-8") as fh:
        fh.write("label\tdomain\ttext\n" + "".join(f"{a}\t{b}\t{c}\n" for a, b, c in small.select("label", "domain", "text").iter_rows()))
    (corpus / "sources.json").write_text(json.dumps({"cut": {"domain": "mixed"}}), "utf-8")
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("langid:\n  train: {epoch: 5, dim: 16, bucket: 100000, per_language: 1000}\n", "utf-8")
    out = tmp_path / "model"
    run = subprocess.run([str(Path(sys.executable).parent / "curate"), "--config", str(cfg), "train-langid", "--data", str(data_dir),
                          "--out", str(out), "--corpus", str(corpus), "--leave-out-domain", "conversational"],
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    meta = json.loads((out / "model.json").read_text("utf-8"))
    assert meta["excluded_domains"] == ["conversational"] and meta["corpus"] == str(corpus)
    assert meta["train_domains"] == {"bug_Latn": ["stories"], "mad_Latn": ["stories"]}  # ind's corpus text was all conversational
    assert "mad_Latn" in meta["languages"] and "bug_Latn" in meta["languages"]
    report = json.loads((out / "lexicon.json").read_text("utf-8"))["ceilings"]
    assert report["mad_Latn"] > 0 and report["ind_Latn"] > 0
    ident = load_model_dir(out, None)
    stories = small.filter(pl.col("label") == "mad_Latn")["text"].to_list()
    paras = paragraphs(stories)[:20]
    assert sum(p.lang == "mad_Latn" for p in ident.trained.predict(paras)) >= 18  # the corpus-only label works


def test_simplified_and_traditional_chinese_are_told_apart():
    """OpenCC's complete character tables decide Hans / Hant (FLORES 507-1012, never
    trained on): with 40 common characters, 11 % of Traditional lines matched nothing and
    were called Simplified."""
    from curation_platform.langid_corpus import read_heldout
    from curation_platform.scripts import dominant_script

    df = read_heldout()
    for label in ("zho_Hans", "zho_Hant", "yue_Hant"):
        texts = df.filter(pl.col("label") == label)["text"].to_list()
        right = sum(dominant_script(t) == label.split("_")[1] for t in texts) / len(texts)
        assert right >= 0.99, (label, right)


def test_the_corpus_is_trained_on_by_default(tmp_path):
    from curation_platform.langid_train import resolve_corpus

    assert resolve_corpus("default") == default_corpus_dir() and resolve_corpus(None) == default_corpus_dir()
    assert resolve_corpus("none") is None
    with pytest.raises(FileNotFoundError, match="not a language-ID corpus"):
        resolve_corpus(tmp_path)
