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
    rows, doms = corpus_training(default_corpus_dir(), exclude_domains=["conversational"], exclude=["war"])
    assert all("conversational" not in d for d in doms.values())
    assert "war_Latn" not in doms and "ind_Latn" in doms
    assert "pam_Latn" not in doms  # 66 UDHR paragraphs: below min_texts, not a label
    shared = training_data(data_dir, exclude_domains=["conversational", "legal"])
    all_shared = training_data(data_dir)
    assert 0 < len(shared) < len(all_shared)
    tatoeba_tgl = (data_dir / "parallel" / "tatoeba" / "eng-tgl.v2021-08-07.tsv").read_text("utf-8").splitlines()[0].split("\t")[1].strip()
    assert ("tgl_Latn", tatoeba_tgl) in all_shared and ("tgl_Latn", tatoeba_tgl) not in shared
