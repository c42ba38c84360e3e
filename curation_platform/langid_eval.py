"""How language ID is measured where it matters: on paragraphs, through the label stage's
defaults, and on languages the model was never trained on (leave-languages-out).

Every measurement here reads held-out text only (FLORES-200 devtest lines 507-1012 unless
said otherwise); the leave-out protocol also keeps the left-out language out of the
calibration, so its `und` rate is what a user with a language nobody trained for gets."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path
from typing import Callable, Sequence

import polars as pl

from curation_platform.langid import UND
from curation_platform.scripts import SCRIPT_CHAR_WEIGHT
from curation_platform.langid_train import EVAL_LINES, TRAIN_LINES, _lines, train_and_evaluate

Outcome = dict[str, float]


def flores_lines(data_dir: Path, lang: str, lines: tuple[int, int] = EVAL_LINES) -> list[str]:
    return _lines(Path(data_dir) / "flores200" / "devtest" / f"{lang}.devtest", *lines)


def paragraphs(sentences: Sequence[str], per_doc: int = 5) -> list[str]:
    """Consecutive sentences joined as one paragraph, as a web page would hold them."""
    return [" ".join(sentences[i : i + per_doc]) for i in range(0, len(sentences) - per_doc + 1, per_doc)]


def outcomes(gold: str, labels: Sequence[str], kept: Sequence[bool] | None = None, group_ok: Callable[[str], bool] = lambda lab: False) -> Outcome:
    """Shares of `right` (the gold label, and kept when `kept` is given), `und` (or a flagged
    group), `wrong` (another language; `wrong_kept`: and kept), over the texts."""
    n = len(labels) or 1
    kept = kept if kept is not None else [True] * len(labels)
    right = sum(lab == gold and k for lab, k in zip(labels, kept))
    und = sum(lab == UND or group_ok(lab) for lab in labels)
    wrong = sum(lab not in (gold, UND) and not group_ok(lab) for lab in labels)
    wrong_kept = sum(lab not in (gold, UND) and not group_ok(lab) and k for lab, k in zip(labels, kept))
    return {"right": round(right / n, 4), "und": round(und / n, 4), "wrong": round(wrong / n, 4), "wrong_kept": round(wrong_kept / n, 4),
            "n": len(labels), "labels": dict(Counter(labels).most_common(4))}


def label_paragraphs(texts: Sequence[str], cfg: dict, identifier) -> pl.DataFrame:
    """The label stage with the given config (standardize first, as the spine does)."""
    from curation_platform.label import label_frame
    from curation_platform.standardize import standardize_frame

    df = pl.DataFrame({"id": [str(i) for i in range(len(texts))], "text": list(texts)})
    return label_frame(standardize_frame(df, cfg.get("standardize", {})), cfg, identifier)


def clean_paragraphs(data_dir: Path, langs: Sequence[str], cfg: dict, identifier, per_doc: int = 5) -> dict[str, Outcome]:
    """Clean paragraphs of each language through the label stage: kept with the right label?"""
    out = {}
    for lang in langs:
        paras = paragraphs(flores_lines(data_dir, lang), per_doc)
        lab = label_paragraphs(paras, cfg, identifier)
        out[lang] = outcomes(lang, lab["lang"].to_list(), lab["keep"].to_list())
        out[lang]["drop_reasons"] = dict(Counter(r for r in lab["drop_reason"].to_list() if r).most_common(3))
    return out


def mixed_documents(data_dir: Path, langs: Sequence[str], cfg: dict, identifier, *, per_doc: int = 8, max_english: float = 0.4,
                    seed: int = 0, docs_per_lang: int = 40) -> dict[str, dict]:
    """Documents of a main language with 0..`max_english` of their sentences in English, in
    random positions: kept under the main language? and the error of the measured English share."""
    eng = flores_lines(data_dir, "eng_Latn")
    out = {}
    for lang in langs:
        if lang == "eng_Latn":
            continue
        rng = random.Random(f"{seed}:{lang}")  # the same documents for a language whatever else is measured
        main = flores_lines(data_dir, lang)
        texts, truth = [], []
        for d in range(docs_per_lang):
            n_en = rng.randint(0, int(per_doc * max_english))
            idx = rng.sample(range(len(main)), per_doc - n_en)
            sents = [main[i] for i in idx] + [eng[rng.randrange(len(eng))] for _ in range(n_en)]
            order = list(range(len(sents)))
            rng.shuffle(order)
            sents = [sents[i] for i in order]
            weight = SCRIPT_CHAR_WEIGHT.get(lang.split("_")[1], 1.0)  # content, as the label stage measures it
            en_chars = sum(len(s) for s, i in zip(sents, order) if i >= per_doc - n_en)
            texts.append("\n".join(sents))
            truth.append(en_chars / (en_chars + weight * (sum(len(s) for s in sents) - en_chars)))
        lab = label_paragraphs(texts, cfg, identifier)
        shares = [dict((m["lang"], m["share"]) for m in (row or [])).get("eng_Latn", 0.0) for row in lab["languages"].to_list()]
        res = outcomes(lang, lab["lang"].to_list(), lab["keep"].to_list())
        res["share_error"] = round(sum(abs(s - t) for s, t in zip(shares, truth)) / len(truth), 4)
        out[lang] = res
    return out


def short_sentences(data_dir: Path, langs: Sequence[str], identifier, words: tuple[int, int] = (3, 6), seed: int = 0) -> dict[str, Outcome]:
    """The first 3-6 words of each held-out sentence (chat lines, captions): right label?"""
    rng = random.Random(seed)
    out = {}
    for lang in langs:
        texts = [" ".join(s.split()[: rng.randint(*words)]) for s in flores_lines(data_dir, lang)]
        out[lang] = outcomes(lang, [p.lang for p in identifier.predict(texts)])
    return out


def leave_languages_out(data_dir: Path, langs: Sequence[str], work: Path, cfg: dict, *, params: dict | None = None, added: int = 500,
                        log: Callable[[str], None] = lambda m: None) -> dict[str, dict]:
    """Train without `langs` (every shared source of them left out), measure their held-out
    paragraphs through the label stage, with the stock fallback and without it (a language
    nobody knows); then add `added` sentences of each (FLORES lines 1-`added`) as a user
    would, as `<code>.txt` files, retrain, and measure again."""
    from curation_platform.label import identifier_from_config
    from curation_platform.langid_model import load_model_dir

    tag = "-".join(langs)
    without, with_dir, user = work / f"without-{tag}", work / f"with-{tag}", work / f"user-{tag}"
    train_and_evaluate(data_dir, without, params=params, cfg_langid=cfg["langid"], exclude=list(langs), log=log)
    user.mkdir(parents=True, exist_ok=True)
    for lang in langs:
        (user / f"{lang}.txt").write_text("\n".join(flores_lines(data_dir, lang, (TRAIN_LINES[0], added))) + "\n", "utf-8")
    train_and_evaluate(data_dir, with_dir, extra_dirs=[user], params=params, cfg_langid=cfg["langid"], exclude=list(langs), log=log)
    stock = identifier_from_config({**cfg, "langid": {**cfg["langid"], "trained_dir": "stock"}})
    idents = {"before": load_model_dir(without, stock, cfg["langid"]), "before_no_stock": load_model_dir(without, None, cfg["langid"]),
              "after": load_model_dir(with_dir, stock, cfg["langid"])}
    out = {}
    for lang in langs:
        paras = paragraphs(flores_lines(data_dir, lang))
        res: dict = {"language": lang, "left_out_with": [x for x in langs if x != lang]}
        for name, ident in idents.items():
            lab = label_paragraphs(paras, cfg, ident)
            res[name] = outcomes(lang, lab["lang"].to_list(), lab["keep"].to_list())
        out[lang] = res
    return out
