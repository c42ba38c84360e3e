"""Train, evaluate and route language-ID models for the languages the stock model
confuses or does not know (ind/zsm/min/jav/sun/ace/ban, ceb/war/tgl, ...).

Training data: FLORES-200 devtest lines 1-506 of each language, UDHR, Tatoeba / TICO /
NTREX sides, the lingua sentences; FLORES lines 507-1012 are the evaluation set and
never trained on (exact and normalised copies are removed from the training data).
Preprocessing is script-aware: the dominant script is a feature token, and digits and
punctuation (shared by every language) are dropped."""

from __future__ import annotations

import json
import random
import re
import tempfile
import time
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

from curation_platform.langid import UND, LangPrediction, LanguageIdentifier, to_flores_lang
from curation_platform.scripts import dominant_script

TRAIN_LINES = (1, 506)
EVAL_LINES = (507, 1012)
UDHR = {"ace": "ace_Latn", "ban": "ban_Latn", "bcl": "bcl_Latn", "bug": "bug_Latn", "ceb": "ceb_Latn", "cmn_hans": "zho_Hans",
        "eng": "eng_Latn", "hil": "hil_Latn", "hin": "hin_Deva", "ilo": "ilo_Latn", "ind": "ind_Latn", "jav": "jav_Latn",
        "jpn": "jpn_Jpan", "khm": "khm_Khmr", "kor": "kor_Hang", "lao": "lao_Laoo", "mad": "mad_Latn", "min": "min_Latn",
        "mly_latn": "zsm_Latn", "mya": "mya_Mymr", "pam": "pam_Latn", "sun": "sun_Latn", "swh": "swh_Latn", "tet": "tet_Latn",
        "tgl": "tgl_Latn", "tha": "tha_Thai", "vie": "vie_Latn", "war": "war_Latn"}
LINGUA = {"id": "ind_Latn", "ms": "zsm_Latn", "tl": "tgl_Latn", "vi": "vie_Latn", "th": "tha_Thai", "en": "eng_Latn", "ja": "jpn_Jpan",
          "ko": "kor_Hang", "zh": "zho_Hans", "hi": "hin_Deva", "sw": "swh_Latn"}
_PUNCT_DIGITS = re.compile(r"[\d\W_]+", re.UNICODE)


def preprocess(text: str) -> str:
    """NFC, lower case, digits and punctuation to spaces, and the script as a token."""
    text = unicodedata.normalize("NFC", text or "")
    script = dominant_script(text)
    body = " ".join(_PUNCT_DIGITS.sub(" ", text.lower()).split())
    return f"script_{script.lower()} {body}"


def _lines(path: Path, lo: int = 1, hi: int | None = None) -> list[str]:
    return [ln.strip() for ln in path.read_text("utf-8").splitlines()[lo - 1 : hi] if ln.strip()]


def flores_split(data_dir: Path, lines: tuple[int, int]) -> list[tuple[str, str]]:
    out = []
    for path in sorted((data_dir / "flores200" / "devtest").glob("*.devtest")):
        code = path.name.split(".")[0]
        out += [(code, t) for t in _lines(path, *lines)]
    return out


def training_data(data_dir: Path, extra_dirs: Sequence[Path] = ()) -> list[tuple[str, str]]:
    """(FLORES code, text) from every labelled source in the shared-data layout (and any
    user folder of `<flores_code>.txt` files, one text per line)."""
    data: list[tuple[str, str]] = flores_split(data_dir, TRAIN_LINES)
    udhr = data_dir / "udhr" / "utf8"
    for name, code in UDHR.items():
        if (udhr / f"{name}.txt").is_file():
            data += [(code, t) for t in _lines(udhr / f"{name}.txt") if len(t) >= 20]
    lingua = data_dir / "lid" / "lingua" / "sentences"
    for name, code in LINGUA.items():
        if (lingua / f"{name}.txt").is_file():
            data += [(code, t) for t in _lines(lingua / f"{name}.txt")]
    for tsv in sorted((data_dir / "parallel").rglob("*.tsv")) if (data_dir / "parallel").is_dir() else []:
        data += _parallel_sides(tsv)
    for folder in extra_dirs:
        for path in sorted(Path(folder).glob("*.txt")):
            data += [(path.stem, t) for t in _lines(path)]
    return data


def _parallel_sides(tsv: Path) -> list[tuple[str, str]]:
    """Both sides of a bitext file: per-line labels when a `.labels` file exists, else the pair in the name."""
    from curation_platform.bitext_readers import pair_from_name

    pair = pair_from_name(tsv.name)
    if not pair:
        return []
    rows = [ln.split("\t") for ln in tsv.read_text("utf-8").splitlines() if "\t" in ln]
    out = []
    stem = tsv.name[: -len(".tsv")]
    for side, code in enumerate(pair):
        iso = tsv.name.split(".")[0].split("-")[side]
        labels_file = tsv.with_name(f"{stem}.{iso}.labels")
        labels = labels_file.read_text("utf-8").splitlines() if labels_file.is_file() else None
        for i, row in enumerate(rows):
            text = row[side].strip() if side < len(row) else ""
            if len(text) < 3:
                continue
            lab = code
            if labels and i < len(labels) and labels[i].strip():
                lab3 = to_flores_lang(labels[i].strip().split("_")[0])
                lab3 = {"cmn": "zho", "zlm": "zsm"}.get(lab3, lab3)  # Mandarin and Malay individual codes -> FLORES'
                lab = f"{lab3}_{dominant_script(text)}"
            out.append((lab, text))
    return out


def decontaminate(train: list[tuple[str, str]], held_out: Iterable[str]) -> tuple[list[tuple[str, str]], int]:
    """Drop training texts that equal a held-out sentence after normalisation, or share an
    8-word / 24-character n-gram with one (the mixture's decontamination index)."""
    from curation_platform.decontaminate import ContaminationIndex

    norm = lambda t: " ".join(_PUNCT_DIGITS.sub(" ", t.lower()).split())  # noqa: E731
    held_out = list(held_out)
    held = {norm(t) for t in held_out}
    index = ContaminationIndex(held_out, 8, 24)
    keep, dropped = [], 0
    for lab, text in train:
        if norm(text) in held or index.is_contaminated(text):
            dropped += 1
            continue
        keep.append((lab, text))
    return keep, dropped


def train_model(train: list[tuple[str, str]], out_path: Path, *, epoch: int = 20, dim: int = 64, minn: int = 2, maxn: int = 5,
                lr: float = 0.5, word_ngrams: int = 2, seed: int = 7, threads: int = 2, per_language: int = 6000) -> Path:
    """Supervised fastText on preprocessed text. Languages are balanced: large ones are
    sampled down to `per_language` texts, small ones repeated up to about that many."""
    import fasttext

    by_lang: dict[str, list[str]] = defaultdict(list)
    for lab, text in train:
        by_lang[lab].append(preprocess(text))
    rng = random.Random(seed)
    lines = []
    for lab, texts in sorted(by_lang.items()):
        if len(texts) > per_language:
            texts = rng.sample(texts, per_language)
        reps = texts * max(1, min(per_language // 2, 3000) // max(1, len(texts)))
        lines += [f"__label__{lab} {t}" for t in reps]
    rng.shuffle(lines)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
        train_file = fh.name
    model = fasttext.train_supervised(input=train_file, epoch=epoch, dim=dim, minn=minn, maxn=maxn, lr=lr, wordNgrams=word_ngrams,
                                      loss="softmax", seed=seed, thread=threads, verbose=0, bucket=500_000)
    Path(train_file).unlink()
    tmp = out_path.with_suffix(".tmp")
    model.save_model(str(tmp))
    tmp.replace(out_path)
    return out_path


class TrainedIdentifier(LanguageIdentifier):
    """A model trained here: its labels are FLORES codes already and it expects preprocessed text."""

    def predict(self, texts: Sequence[str]) -> list[LangPrediction]:
        cleaned = [preprocess(t[: self.max_chars]) for t in texts]
        labels, probs = self.model.predict(cleaned, k=self.k)
        out = []
        for raw, labs, ps in zip(texts, labels, probs):
            top = tuple(zip([lab.replace("__label__", "") for lab in labs], [round(p if p < 1.0 else 1.0, 4) for p in ps.tolist()]))
            if not (raw or "").strip() or not top:
                out.append(LangPrediction(UND, 0.0, dominant_script(raw or ""), ()))
                continue
            lang, score = top[0]
            out.append(LangPrediction(lang if score >= self.min_score else UND, score, lang.split("_")[-1], top))
        return out


@dataclass
class _Labels:
    labels: list[str]

    def get_labels(self) -> list[str]:
        return self.labels


class RoutedIdentifier:
    """The trained model for the languages it knows, the stock model for everything else,
    and explicit confusable sets: when the two best labels are in one set and their
    probabilities are closer than `margin`, the answer is `und`, not a guess."""

    def __init__(self, trained: LanguageIdentifier, stock: LanguageIdentifier, confusable: Sequence[Sequence[str]] = (), margin: float = 0.1,
                 fallback_score: float = 0.5, prefer: set[str] | None = None):
        self.trained, self.stock, self.margin, self.fallback_score = trained, stock, margin, fallback_score
        self.prefer = prefer  # languages where the trained model measured better; None = all it knows
        self.sets = [set(s) for s in confusable]
        self.known = set(trained.model.get_labels())
        self.known_langs = {lab.replace("__label__", "") for lab in self.known}
        self.min_score = trained.min_score

    @property
    def model(self) -> _Labels:
        return _Labels(sorted(set(self.stock.model.get_labels()) | self.known))

    def predict(self, texts: Sequence[str]) -> list[LangPrediction]:
        tr = self.trained.predict(texts)
        st = self.stock.predict(texts)
        out = []
        for t, s in zip(tr, st):
            # the stock model is trusted for a language the trained model never saw
            if s.lang != UND and s.lang not in self.known_langs and s.score >= self.fallback_score and t.score < s.score:
                out.append(s)
                continue
            # ... and where it measured better than the trained one
            if self.prefer is not None and t.lang not in self.prefer and s.lang != UND:
                out.append(s)
                continue
            if len(t.top) >= 2:
                (a, pa), (b, pb) = t.top[0], t.top[1]
                if pa - pb < self.margin and any(a in cs and b in cs for cs in self.sets):
                    out.append(LangPrediction(UND, pa, t.script, t.top))
                    continue
            out.append(t)
        return out


def evaluate(predict: Callable[[list[str]], list[str]], gold: list[tuple[str, str]], langs: Sequence[str] | None = None) -> dict:
    """Per-language precision / recall / F1 over `langs` (default: the gold labels), macro-F1,
    confusion counts, sentences/s. `und` counts as a miss, never as a wrong language."""
    texts = [t for _, t in gold]
    t0 = time.perf_counter()
    pred = predict(texts)
    secs = time.perf_counter() - t0
    langs = sorted(set(langs or [g for g, _ in gold]))
    conf: dict[str, Counter] = defaultdict(Counter)
    for (g, _), p in zip(gold, pred):
        conf[g][p] += 1
    per = {}
    for lang in langs:
        tp = conf[lang][lang]
        fn = sum(conf[lang].values()) - tp
        fp = sum(c[lang] for g, c in conf.items() if g != lang)
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        per[lang] = {"precision": round(prec, 4), "recall": round(rec, 4), "f1": round(2 * prec * rec / (prec + rec), 4) if prec + rec else 0.0}
    macro = sum(v["f1"] for v in per.values()) / len(per) if per else 0.0
    return {"macro_f1": round(macro, 4), "per_lang": per, "sentences_per_s": round(len(texts) / secs, 1) if secs else None,
            "confusion": {g: dict(c.most_common(6)) for g, c in sorted(conf.items())}, "und": sum(1 for p in pred if p == UND)}


def model_card(path: Path, train: list[tuple[str, str]], dropped: int, scores: dict, params: dict) -> str:
    sizes = Counter(lab for lab, _ in train)
    lines = [f"# Language-ID model `{path.name}`", "", "Supervised fastText, trained by `curate train-langid`.", "",
             f"Parameters: `{json.dumps(params, sort_keys=True)}`", "",
             f"Training texts: {len(train)} in {len(sizes)} languages ({dropped} dropped as copies of evaluation sentences).",
             "Sources: FLORES-200 devtest lines 1-506, UDHR, lingua sentences, Tatoeba / TICO-19 / NTREX-128 sides.",
             "Evaluation: FLORES-200 devtest lines 507-1012 (never trained on).", "",
             "| language | train texts | F1 (trained) | F1 (stock) | F1 (routed) |", "|---|---:|---:|---:|---:|"]
    for lang in sorted(scores.get("trained", {}).get("per_lang", {})):
        f = lambda k: scores.get(k, {}).get("per_lang", {}).get(lang, {}).get("f1", "")  # noqa: E731
        lines.append(f"| {lang} | {sizes.get(lang, 0)} | {f('trained')} | {f('stock')} | {f('routed')} |")
    lines += ["", "| model | macro-F1 |", "|---|---:|"] + [f"| {k} | {v['macro_f1']} |" for k, v in scores.items()] + [""]
    return "\n".join(lines)


CONFUSABLE = [["ind_Latn", "zsm_Latn", "min_Latn"], ["jav_Latn", "sun_Latn", "ind_Latn"], ["ceb_Latn", "war_Latn", "tgl_Latn"],
              ["ace_Latn", "ban_Latn", "min_Latn"], ["zho_Hans", "jpn_Jpan"]]


def load_routed(model_dir: str | Path, stock: LanguageIdentifier, cfg_langid: dict) -> "RoutedIdentifier":
    """The router over a trained model folder (model.bin + model.json from `train_and_evaluate`)."""
    model_dir = Path(model_dir)
    meta = json.loads((model_dir / "model.json").read_text("utf-8"))
    trained = TrainedIdentifier(model_dir / "model.bin", k=3, min_score=float(cfg_langid.get("min_score", 0.25)))
    router = cfg_langid.get("router", {})
    return RoutedIdentifier(trained, stock, router.get("confusable", CONFUSABLE), float(router.get("margin", 0.1)),
                            prefer=set(meta.get("prefer_trained", [])))


def train_and_evaluate(data_dir: Path, out_dir: Path, *, extra_dirs: Sequence[Path] = (), params: dict | None = None,
                       cfg_langid: dict | None = None, log: Callable[[str], None] = lambda m: None) -> dict:
    """Train on everything but FLORES 507-1012, evaluate stock / trained / routed on it, and
    write out_dir/{model.bin, model.json, README.md, confusion.png}. `prefer_trained` lists the
    languages where the trained model's F1 beats the stock model's: the router trusts it there."""
    from curation_platform.plots import confusion_matrix
    from curation_platform.storage import write_json, write_text

    cfg_langid = cfg_langid or {}
    params = {"word_ngrams": 2, "epoch": 20, "dim": 64, "minn": 2, "maxn": 5, **(params or {})}
    held = flores_split(data_dir, EVAL_LINES)
    if not held:
        raise FileNotFoundError(f"{data_dir}: no flores200/devtest/*.devtest files to evaluate on")
    train, dropped = decontaminate(training_data(data_dir, extra_dirs), [t for _, t in held])
    train += [x for x in flores_split(data_dir, TRAIN_LINES)] * 3  # in-domain text weighs more
    log(f"training on {len(train)} texts ({dropped} dropped as copies of evaluation sentences)")
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = out_dir / "model.bin.new"
    train_model(train, staging, **params)
    langs = sorted({g for g, _ in held})
    stock = LanguageIdentifier(cfg_langid.get("model"), k=3, min_score=float(cfg_langid.get("min_score", 0.25)))
    trained = TrainedIdentifier(staging, k=3, min_score=float(cfg_langid.get("min_score", 0.25)))
    scores = {"stock": evaluate(lambda x: [p.lang for p in stock.predict(x)], held, langs),
              "trained": evaluate(lambda x: [p.lang for p in trained.predict(x)], held, langs)}
    prefer = [lang for lang in langs if scores["trained"]["per_lang"][lang]["f1"] > scores["stock"]["per_lang"][lang]["f1"]]
    router = cfg_langid.get("router", {})
    routed = RoutedIdentifier(trained, stock, router.get("confusable", CONFUSABLE), float(router.get("margin", 0.1)), prefer=set(prefer))
    scores["routed"] = evaluate(lambda x: [p.lang for p in routed.predict(x)], held, langs)
    final = out_dir / "model.bin"
    staging.replace(final)
    meta = {"languages": sorted(set(lab for lab, _ in train)), "train_texts": len(train), "dropped_contaminated": dropped,
            "params": params, "prefer_trained": prefer, "eval": "FLORES-200 devtest lines 507-1012",
            "scores": {k: {"macro_f1": v["macro_f1"], "per_lang": {l: x["f1"] for l, x in v["per_lang"].items()}, "sentences_per_s": v["sentences_per_s"],
                           "und": v["und"]} for k, v in scores.items()}}
    write_json(meta, out_dir / "model.json")
    write_text(model_card(final, train, dropped, scores, params), out_dir / "README.md")
    png = confusion_matrix(scores["routed"]["confusion"], "routed model on FLORES devtest 507-1012 (row-normalised)")
    (out_dir / "confusion.png").write_bytes(png)
    meta["confusion_png"] = png
    meta["full_scores"] = scores
    return meta
