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
import tempfile
import time
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path
from typing import Callable, Iterable, Sequence

from curation_platform.langid import UND, LanguageIdentifier, to_flores_lang
from curation_platform.langid_model import (OpenSetIdentifier, TrainedIdentifier, load_model_dir, normalize_words,  # noqa: F401
                                             prefer_ours, preprocess_parts)
from curation_platform.lexicon import Lexicons, calibrate_ceilings
from curation_platform.scripts import dominant_script

TRAIN_LINES = (1, 506)
EVIDENCE_FILE = "open_set_evidence.json"  # in the corpus folder: the open-set rule fitted by scripts/fit_openset_evidence.py
EVAL_LINES = (507, 1012)
UDHR = {"ace": "ace_Latn", "ban": "ban_Latn", "bcl": "bcl_Latn", "bug": "bug_Latn", "ceb": "ceb_Latn", "cmn_hans": "zho_Hans",
        "eng": "eng_Latn", "hil": "hil_Latn", "hin": "hin_Deva", "ilo": "ilo_Latn", "ind": "ind_Latn", "jav": "jav_Latn",
        "jpn": "jpn_Jpan", "khm": "khm_Khmr", "kor": "kor_Hang", "lao": "lao_Laoo", "mad": "mad_Latn", "min": "min_Latn",
        "mly_latn": "zsm_Latn", "mya": "mya_Mymr", "pam": "pam_Latn", "sun": "sun_Latn", "swh": "swh_Latn", "tet": "tet_Latn",
        "tgl": "tgl_Latn", "tha": "tha_Thai", "vie": "vie_Latn", "war": "war_Latn",
        "arb": "arb_Arab", "ben": "ben_Beng", "ces": "ces_Latn", "cmn_hant": "zho_Hant", "deu": "deu_Latn", "fra": "fra_Latn",
        "hun": "hun_Latn", "por_BR": "por_Latn", "rus": "rus_Cyrl", "spa": "spa_Latn", "tam": "tam_Taml", "urd": "urd_Arab"}
# Not trained on: UDHR in Baybayin (tgl_tglg) and Jawi (mly_arab) stay evaluation text for the script rules.
LINGUA = {"id": "ind_Latn", "ms": "zsm_Latn", "tl": "tgl_Latn", "vi": "vie_Latn", "th": "tha_Thai", "en": "eng_Latn", "ja": "jpn_Jpan",
          "ko": "kor_Hang", "zh": "zho_Hans", "hi": "hin_Deva", "sw": "swh_Latn",
          "ar": "arb_Arab", "bn": "ben_Beng", "de": "deu_Latn", "es": "spa_Latn", "fa": "pes_Arab", "fr": "fra_Latn", "he": "heb_Hebr",
          "mi": "mri_Latn", "nl": "nld_Latn", "pt": "por_Latn", "ru": "rus_Cyrl", "so": "som_Latn", "ta": "tam_Taml", "te": "tel_Telu",
          "tr": "tur_Latn", "uk": "ukr_Cyrl", "ur": "urd_Arab", "yo": "yor_Latn", "zu": "zul_Latn"}


def preprocess(text: str) -> str:
    """NFC, lower case, digits and punctuation to spaces, and the script as a token."""
    return preprocess_parts(unicodedata.normalize("NFC", text or ""))[1]


def _lines(path: Path, lo: int = 1, hi: int | None = None) -> list[str]:
    return [ln.strip() for ln in path.read_text("utf-8").splitlines()[lo - 1 : hi] if ln.strip()]


def flores_split(data_dir: Path, lines: tuple[int, int]) -> list[tuple[str, str]]:
    out = []
    for path in sorted((data_dir / "flores200" / "devtest").glob("*.devtest")):
        code = path.name.split(".")[0]
        out += [(code, t) for t in _lines(path, *lines)]
    return out


def _excluded(code: str, exclude: Iterable[str]) -> bool:
    return any(code == e or code.split("_")[0] == e.split("_")[0] for e in exclude)


# The domain of each shared-data source (the corpus files carry theirs): leave-domain-out
# must leave a domain out of both.
PARALLEL_DOMAIN = {"tatoeba": "conversational", "tico19": "health", "ntrex128": "news"}


def shared_sources(data_dir: Path) -> list[tuple[str, str, str]]:
    """(FLORES code, domain, text) from every labelled source in the shared-data layout."""
    data: list[tuple[str, str, str]] = [(c, "wiki", t) for c, t in flores_split(data_dir, TRAIN_LINES)]
    udhr = data_dir / "udhr" / "utf8"
    for name, code in UDHR.items():
        if (udhr / f"{name}.txt").is_file():
            data += [(code, "legal", t) for t in _lines(udhr / f"{name}.txt") if len(t) >= 20]
    lingua = data_dir / "lid" / "lingua" / "sentences"
    for name, code in LINGUA.items():
        if (lingua / f"{name}.txt").is_file():
            data += [(code, "misc", t) for t in _lines(lingua / f"{name}.txt")]
    for tsv in sorted((data_dir / "parallel").rglob("*.tsv")) if (data_dir / "parallel").is_dir() else []:
        domain = PARALLEL_DOMAIN.get(tsv.parent.name, tsv.parent.name)
        data += [(c, domain, t) for c, t in _parallel_sides(tsv)]
    return data


def _seed_rows(data_dir: Path, extra_dirs: Sequence[Path], exclude: Sequence[str], exclude_domains: Sequence[str]) -> list[tuple[str, str, str]]:
    """(FLORES code, domain, text) of `training_data`; user folders are domain "user"."""
    rows = [r for r in shared_sources(data_dir) if r[1] not in exclude_domains and not _excluded(r[0], exclude)]
    return rows + [(lab, "user", t) for lab, t in user_sentences(extra_dirs)]


def training_data(data_dir: Path, extra_dirs: Sequence[Path] = (), exclude: Sequence[str] = (),
                  exclude_domains: Sequence[str] = ()) -> list[tuple[str, str]]:
    """(FLORES code, text) from every labelled source in the shared-data layout (and any
    user folder of `<flores_code>.txt` files, one text per line). `exclude` leaves
    languages (ISO 639-3 or FLORES codes) out of the shared sources: the
    leave-languages-out protocol; `exclude_domains` leaves domains out (leave-domain-out);
    a user folder always counts."""
    return [(lab, t) for lab, _, t in _seed_rows(data_dir, extra_dirs, exclude, exclude_domains)]


MIN_LABEL_TEXTS = 300


def corpus_training(corpus_dir: Path, exclude_domains: Sequence[str] = (), exclude: Sequence[str] = (),
                    min_texts: int = MIN_LABEL_TEXTS, heldout_share: float = 0.1,
                    ) -> tuple[list[tuple[str, str, str]], dict[str, list[str]], list[tuple[str, str, str]]]:
    """(label, domain, text) from the multi-domain corpus (`langid_corpus`), without the `exclude_domains`
    (leave-domain-out) and the `exclude`d languages, and only for labels with `min_texts`
    texts left: a label built from one UDHR (60 paragraphs) is not a label. The last
    `heldout_share` of each (label, domain) group of 100 texts or more (in corpus order, so
    a story's neighbouring sentences stay on one side) is held out: every label gets a
    held-out score, those with one domain too. Also returns the domains each label was
    trained on, for the model card and the domain benchmark."""
    from curation_platform.langid_corpus import read_corpus

    df = read_corpus(corpus_dir)
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for lab, dom, text in df.select("label", "domain", "text").iter_rows():
        if dom not in exclude_domains and not _excluded(lab, exclude):
            groups[(lab, dom)].append(text)
    rows, held = [], []
    for (lab, dom), texts in groups.items():
        cut = len(texts) - int(len(texts) * heldout_share) if len(texts) >= 100 else len(texts)
        rows += [(lab, dom, t) for t in texts[:cut]]
        held += [(lab, dom, t) for t in texts[cut:]]
    held_texts = {t for _, _, t in held}
    rows = [r for r in rows if r[2] not in held_texts]  # a sentence in two groups (or twice in one) stays held out
    counts = Counter(lab for lab, _, _ in rows)
    rows = [r for r in rows if counts[r[0]] >= min_texts]
    held = [r for r in held if counts[r[0]] >= min_texts]
    domains: dict[str, set[str]] = defaultdict(set)
    for lab, dom, _ in rows:
        domains[lab].add(dom)
    return rows, {lab: sorted(d) for lab, d in sorted(domains.items())}, held


def resolve_corpus(value: str | Path | None) -> Path | None:
    """`langid.train.corpus` -> a corpus folder: `default` is the checkout's training_data/langid
    (None where an installed package has none), `none` or empty is no corpus, else the path."""
    from curation_platform.langid_corpus import default_corpus_dir

    if value in (None, "default"):
        folder = default_corpus_dir()
        return folder if (folder / "sources.json").is_file() else None
    if str(value).lower() in ("", "none", "null"):
        return None
    folder = Path(value)
    if not (folder / "sources.json").is_file():
        raise FileNotFoundError(f"{folder}: not a language-ID corpus (no sources.json; build one with scripts/build_langid_corpus.py)")
    return folder


def user_sentences(folders: Sequence[Path]) -> list[tuple[str, str]]:
    """Sentences a user adds for a language: `<code>.txt` files (any code `flores_code`
    understands: `bjn`, `bjn_Latn`, `shn-Mymr`), one sentence per line, in any folder."""
    from curation_platform.langid import flores_code

    out: list[tuple[str, str]] = []
    for folder in folders:
        for path in sorted(Path(folder).glob("*.txt")):
            try:
                code = flores_code(path.stem)
            except ValueError as exc:
                raise ValueError(f"{path}: the file name must be a language code (bjn_Latn.txt): {exc}") from None
            out += [(code, t) for t in _lines(path)]
    return out


def _parallel_sides(tsv: Path) -> list[tuple[str, str]]:
    """Both sides of a bitext file: per-line labels when a `.labels` file exists, else the pair in the name."""
    from curation_platform.bitext.readers import pair_from_name

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

    norm = normalize_words
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
                lr: float = 0.5, word_ngrams: int = 2, seed: int = 7, threads: int = 2, per_language: int = 6000,
                bucket: int = 500_000) -> Path:
    """Supervised fastText on preprocessed text. Languages are balanced: large ones are
    sampled down to `per_language` texts, small ones repeated up to about that many."""
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
    try:
        model = train_supervised(input=train_file, epoch=epoch, dim=dim, minn=minn, maxn=maxn, lr=lr, wordNgrams=word_ngrams,
                                 loss="softmax", seed=seed, thread=threads, verbose=0, bucket=bucket)
    finally:
        Path(train_file).unlink()
    return _save(model, out_path)


def train_supervised(**kwargs):
    """fastText's supervised training in a fresh process (spawned: its own heap), retried on
    one thread with half the learning rate and another seed when it diverges ("Encountered
    NaN"). In-process training diverged now and then in long test runs, never alone."""
    import multiprocessing as mp

    import fasttext

    ctx = mp.get_context("spawn")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "model.bin"
        for attempt in range(4):
            proc = ctx.Process(target=_train_child, args=(kwargs, str(out)))
            proc.start()
            proc.join()
            if proc.exitcode == 0 and out.is_file():
                return fasttext.load_model(str(out))
            if attempt == 3:
                raise RuntimeError(f"fastText training failed {attempt + 1} times (exit code {proc.exitcode}; "
                                   f"last run: {(Path(tmp) / 'error.txt').read_text() if (Path(tmp) / 'error.txt').is_file() else 'no message'})")
            kwargs = {**kwargs, "thread": 1, "lr": kwargs.get("lr", 0.1) / 2, "seed": kwargs.get("seed", 0) + 1}


def _train_child(kwargs: dict, out: str) -> None:
    import fasttext

    try:
        fasttext.train_supervised(**kwargs).save_model(out)
    except RuntimeError as exc:  # "Encountered NaN": the parent retries
        Path(out).with_name("error.txt").write_text(str(exc), "utf-8")
        raise SystemExit(3)


def _save(model, out_path: Path) -> Path:
    tmp = out_path.with_name(out_path.name + ".tmp")
    model.save_model(str(tmp))
    tmp.replace(out_path)
    return out_path


def quantize_model(src: Path, dst: Path, cutoff: int = 100_000) -> Path:
    """Product-quantized `.ftz` of a trained model (about 1/50 of its size; the F1 cost
    is measured by `train_and_evaluate`): the model that fits inside the package."""
    import fasttext

    model = fasttext.load_model(str(src))
    model.quantize(qnorm=True, retrain=False, cutoff=cutoff)
    return _save(model, dst)


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


SOURCES = [
    ("FLORES-200 devtest, lines 1-506", "CC BY-SA 4.0", "flores200/devtest"),
    ("UDHR translations (nltk_data)", "public domain", "udhr/utf8"),
    ("lingua-py test sentences", "Apache-2.0", "lid/lingua/sentences"),
    ("Tatoeba test pairs (Helsinki-NLP)", "CC BY 2.0 FR", "parallel/tatoeba"),
    ("TICO-19", "CC0", "parallel/tico19"),
    ("NTREX-128", "CC BY-SA 4.0", "parallel/ntrex128"),
]
EVAL_NOTE = "FLORES-200 devtest lines 507-1012 (never trained on; exact and n-gram copies removed from the training text)"
ROUTER_LANGS = ("ind_Latn", "zsm_Latn", "min_Latn", "jav_Latn", "sun_Latn", "ace_Latn", "ban_Latn", "ceb_Latn", "tgl_Latn")


def measured_confusions(confusion: dict[str, dict[str, int]], min_rate: float = 0.02) -> dict[str, list[str]]:
    """{lang: [languages it is mistaken for, or mistaken with]} from held-out predictions:
    a pair counts when at least `min_rate` of one language's sentences went to the other."""
    pairs: set[tuple[str, str]] = set()
    for gold, row in confusion.items():
        total = sum(row.values())
        for pred, n in row.items():
            if pred not in (gold, UND) and total and n / total >= min_rate:
                pairs |= {(gold, pred), (pred, gold)}
    out: dict[str, list[str]] = defaultdict(list)
    for a, b in sorted(pairs):
        out[a].append(b)
    return dict(out)


def genetic_neighbours(langs: Sequence[str], unmeasured: Sequence[str], max_distance: float = 0.35, k: int = 2) -> dict[str, list[str]]:
    """For languages without held-out text, their nearest relatives by URIEL family
    membership (lang2vec): the confusable set a measurement would most likely give."""
    from curation_platform import typology

    try:
        codes = typology.known(list(langs))
    except (FileNotFoundError, OSError):  # pragma: no cover - lang2vec data missing
        return {}
    if not codes:
        return {}
    dist = typology.distance_matrix(codes, {"genetic": 1.0})
    out = {}
    for lang in unmeasured:
        if lang not in codes:
            continue
        i = codes.index(lang)
        near = sorted((dist[i, j], codes[j]) for j in range(len(codes)) if j != i and dist[i, j] <= max_distance)
        if near:
            out[lang] = [c for _, c in near[:k]]
    return out


POOR = 0.90  # a label whose held-out paragraphs of some domain are named right less often is marked poor


def label_reliability(meta: dict) -> dict[str, dict]:
    """Every label's held-out evidence, from the three protocols the card reports: FLORES
    507-1012 (F1 of the routed model), the corpus text held out of training (paragraphs per
    domain) and leave-domain-out (paragraphs of a domain the label's model never saw,
    `open_set_evidence.per_label`). `poor`: some held-out paragraphs below POOR;
    `unmeasured`: no held-out text at all."""
    s = meta["scores"]
    routed = s.get("routed", s.get("ours", {})).get("per_lang", {})
    lodo = (meta.get("open_set_evidence") or {}).get("per_label", {})
    out = {}
    for lab in meta["languages"]:
        held = {dom: r["paragraphs"]["right"] for dom, r in (meta.get("heldout") or {}).get(lab, {}).items() if "paragraphs" in r}
        cross = {dom: r["right"] for dom, r in lodo.get(lab, {}).items()}
        scores = [*held.values(), *cross.values()]
        f1 = routed.get(lab)
        status = "unmeasured" if not scores and f1 is None else ("poor" if min(scores + ([f1] if f1 is not None else [])) < POOR else "ok")
        out[lab] = {"flores_f1": f1, "heldout_paragraphs": held, "leave_domain_out_paragraphs": cross, "status": status}
    return out


def _fmt(scores: dict[str, float]) -> str:
    return ", ".join(f"{dom} {v:.2f}" for dom, v in sorted(scores.items())) or "-"


def model_card(meta: dict, train: list[tuple[str, str]]) -> str:
    """The model card: sources and licences, per-language F1, size, confusions, ceilings."""
    sizes = Counter(lab for lab, _ in train)
    s = meta["scores"]
    cols = [k for k in ("stock", "full", "ours", "routed") if k in s]
    lines = [f"# Language-ID model `{meta['file']}`", "",
             "Supervised fastText trained by `curate train-langid` (the `train_langid` asset), "
             f"{'product-quantized' if meta['quantized'] else 'not quantized'}, {meta['size_mb']} MB, "
             f"{len(meta['languages'])} languages.", "",
             f"Parameters: `{json.dumps(meta['params'], sort_keys=True)}`", "",
             "## Sources and licences", "", "| source | licence |", "|---|---|"]
    lines += [f"| {name} | {lic} |" for name, lic, _ in SOURCES]
    lines += [f"| corpus `{c['file']}` ({c['domain']}): {c['repository']} | {c['licence']} |" for c in meta.get("corpus_sources", [])]
    lines += [f"| user folders: {', '.join(meta['extra_dirs'])} | the user's |" if meta.get("extra_dirs") else "", "",
              f"Training texts: {len(train)} ({meta['dropped_contaminated']} dropped as copies of evaluation sentences).",
              f"Left out (leave-languages-out): {', '.join(meta['excluded']) or 'none'}.", "",
              *_reliability_section(meta),
              f"## Scores on {EVAL_NOTE}", "",
              "`full`: the float model before quantization; `ours`: the shipped model alone; `routed`: with the open-set rules and "
              "the stock lid.176 fallback, as the label stage runs it.", "",
              "| language | train texts | " + " | ".join(f"F1 {c}" for c in cols) + " |", "|---|---:|" + "---:|" * len(cols)]
    for lang in sorted(s[cols[-1]]["per_lang"]):
        lines.append(f"| {lang} | {sizes.get(lang, 0)} | " + " | ".join(str(s[c]["per_lang"].get(lang, "")) for c in cols) + " |")
    lines += ["| **macro-F1** | | " + " | ".join(f"**{s[c]['macro_f1']}**" for c in cols) + " |", "",
              f"Quantization cost (macro-F1, full - quantized): {meta.get('quantization_cost')}.", "",
              "## Confusable languages (measured on held-out sentences; URIEL neighbours where nothing was measured)", "",
              "| language | confused with | source |", "|---|---|---|"]
    for lang, others in sorted(meta["confusable"].items()):
        lines.append(f"| {lang} | {', '.join(others)} | {meta['confusable_source'].get(lang, 'measured')} |")
    lines += ["", "## Open-set ceilings", "",
              "Text whose out-of-vocabulary rate against the named language's lexicon is above its ceiling is not that language "
              "(`und`, rule `unknown`, unless the stock model knows it). Ceiling = 99th percentile of the language's own "
              "held-out paragraphs + 0.15 (from its text alone).", "",
              "| language | median OOV | ceiling |", "|---|---:|---:|"]
    for lang, r in sorted(meta["lexicon"].items()):
        lines.append(f"| {lang} | {r['median_oov']} | {r['ceiling']} |")
    unmeasured = [lab for lab in meta["languages"] if lab not in s[cols[-1]]["per_lang"]]
    no_ceiling = [lab for lab in meta["languages"] if lab not in meta["lexicon"]]
    lines += ["", "## Limitations", "",
              f"- No FLORES 507-1012 text (their held-out scores are the corpus tail and leave-domain-out above): {', '.join(unmeasured) or 'none'}.",
              f"- Too little text to calibrate their own open-set ceiling (they use the median ceiling): {', '.join(no_ceiling) or 'none'}.",
              "- Texts of fewer than 8 lexical units get no open-set verdict; a short line of an unseen language can get a neighbour's label.",
              "- Labels marked `poor` above are close varieties (Arabic dialects, Bosnian/Croatian/Serbian, Cantonese/Mandarin in "
              "Traditional characters, Dari/Persian) or labels with one domain of text: treat their labels as a group, or add text.",
              "- Retrain with `curate train-langid` (or the `train_langid` asset); add a language with a folder of `<code>.txt` sentences.",
              ""]
    return "\n".join(lines)


def _reliability_section(meta: dict) -> list[str]:
    rel = meta.get("reliability") or label_reliability(meta)
    ev = meta.get("open_set_evidence")
    counts = Counter(r["status"] for r in rel.values())
    lines = ["## Held-out scores of every label (the headline)", "",
             "Paragraphs named right (and kept by the open-set rule) on text the model never trained on: *held-out* is the last "
             "tenth of each of the label's corpus groups (same domain); *leave-domain-out* is a domain the label's model never "
             "saw (models trained with `--leave-out-domain`, scored under the evidence rule fitted without that domain); "
             f"*FLORES* is sentence-level F1 of the routed model on {EVAL_NOTE}. `poor`: some held-out paragraphs named right, or "
             f"the FLORES sentence F1, below {POOR:.2f}; the policy file lists these labels (`langid_reliability`).", "",
             f"Labels: {len(rel)}; ok {counts.get('ok', 0)}, poor {counts.get('poor', 0)}, unmeasured {counts.get('unmeasured', 0)}.", ""]
    if ev:
        lines += ["Open-set evidence rule (fitted on domains its models never saw): score = "
                  + " + ".join(f"{w} x {f}" for f, w in ev["weights"].items()) + f" + {ev['bias']}; `und` below {ev['threshold']} "
                  "(or above the label's OOV ceiling). Fitted on all left-out domains but one, tested on that one:", "",
                  "| left-out domain | known kept | unknown refused | OOV ceiling alone: kept / refused |", "|---|---:|---:|---|"]
        lines += [f"| {d} | {o['known_kept']} | {o['unknown_refused']} | {o['ceiling_only']['known_kept']} / {o['ceiling_only']['unknown_refused']} |"
                  for d, o in ev["leave_one_domain_out"].items()]
        lines.append("")
    lines += ["| label | trained on | held-out P | leave-domain-out P | FLORES sentence F1 | status |", "|---|---|---|---|---:|---|"]
    for lab, r in sorted(rel.items()):
        lines.append(f"| {lab} | {', '.join(meta.get('train_domains', {}).get(lab, [])) or 'shared data'} | {_fmt(r['heldout_paragraphs'])} | "
                     f"{_fmt(r['leave_domain_out_paragraphs'])} | {r['flores_f1'] if r['flores_f1'] is not None else '-'} | {r['status']} |")
    return lines + [""]


CONFUSABLE = [["ind_Latn", "zsm_Latn", "min_Latn"], ["jav_Latn", "sun_Latn", "ind_Latn"], ["ceb_Latn", "war_Latn", "tgl_Latn"],
              ["ace_Latn", "ban_Latn", "min_Latn"], ["zho_Hans", "jpn_Jpan"]]
load_routed = load_model_dir  # the name earlier callers use
DEFAULT_PARAMS = {"word_ngrams": 2, "epoch": 20, "dim": 32, "minn": 2, "maxn": 5, "bucket": 500_000, "quantize": True, "cutoff": 100_000}


def _shown(corpus: Path | None) -> str | None:
    """The corpus as the card shows it: relative to the checkout when it is the checkout's."""
    if corpus is None:
        return None
    repo, path = Path(__file__).resolve().parents[1], Path(corpus).resolve()
    return str(path.relative_to(repo)) if path.is_relative_to(repo) else str(corpus)


def _corpus_sources(corpus: Path) -> list[dict]:
    from curation_platform.langid_corpus import sources

    return [{"file": name, "domain": src.get("domain", "?"), "repository": f"{src.get('repo', '?')}@{str(src.get('commit', ''))[:12]}", "licence": src.get("licence", "?")}
            for name, src in sorted(sources(corpus).items())]


def corpus_heldout_scores(identifier, held: Sequence[tuple[str, str, str]]) -> dict[str, dict[str, dict]]:
    """{label: {domain: scores}} on the corpus text held out of training: paragraphs
    (consecutive texts joined, `langid_corpus.paragraphs`) and sentences of 8-25 words, each
    the share named right, `und` and wrong, through the open-set identifier."""
    from curation_platform.langid_corpus import paragraphs, sentences

    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for lab, dom, text in held:
        groups[(lab, dom)].append(text)
    out: dict[str, dict[str, dict]] = defaultdict(dict)
    for (lab, dom), texts in sorted(groups.items()):
        row = {}
        for unit, items in (("paragraphs", paragraphs(texts)), ("sentences", sentences(texts))):
            if not items:
                continue
            got = [p.lang for p in identifier.predict(items)]
            row[unit] = {"n": len(items), "right": round(sum(g == lab for g in got) / len(got), 4),
                         "und": round(sum(g == UND for g in got) / len(got), 4)}
        if row:
            out[lab][dom] = row
    return dict(out)


def add_pair_tables(lexicons: Lexicons, confusable: dict[str, list[str]]) -> int:
    """A word table for every confusable pair written in one script (`Lexicons.add_pair`)."""
    done = set()
    for a, others in sorted(confusable.items()):
        for b in others:
            pair = tuple(sorted((a, b)))
            if pair in done or a.split("_")[-1] != b.split("_")[-1] or not {a, b} <= set(lexicons.counts_by_lang):
                continue
            done.add(pair)
            lexicons.add_pair(*pair)
    lexicons.counts_by_lang = {}
    return len(done)


def calibrate_policy(train: list[tuple[str, str]], log: Callable[[str], None] = lambda m: None) -> dict:
    """Quality thresholds for every language of the model, from its own training text
    (documents of 8 sentences; looser than the packaged policy only where that text needs it)."""
    from curation_platform.calibrate import calibrate, reference_documents
    from curation_platform.settings import load_config

    by: dict[str, list[str]] = defaultdict(list)
    for lab, text in train:
        by[lab].append(text)
    reference = {lab: reference_documents(list(dict.fromkeys(texts))) for lab, texts in by.items()}
    base = load_config(overrides={"policy": {"calibrated": {}}})
    from curation_platform.settings import language_policy

    thresholds = calibrate({k: v for k, v in reference.items() if len(v) >= 10}, policy=base["policy"], lexicons=base.get("lexicons"))
    # shipped defaults only loosen rules that are on; switching a rule on stays the user's choice (`curate calibrate`)
    thresholds = {lang: {k: v for k, v in th.items() if language_policy(base["policy"], lang).get(k) is not None} for lang, th in thresholds.items()}
    log(f"calibrated policy thresholds for {len(thresholds)} languages")
    return {"method": "per-language quantiles of the model's training text (calibrate.py)", "languages": thresholds}


def train_params(tcfg: dict) -> dict:
    """The fastText parameters of `langid.train` (the rest of that block says what to train on)."""
    return {k: tcfg[k] for k in ("epoch", "dim", "word_ngrams", "minn", "maxn", "lr", "bucket", "quantize", "cutoff", "per_language") if k in tcfg}


def train_and_evaluate(data_dir: Path, out_dir: Path, *, extra_dirs: Sequence[Path] = (), params: dict | None = None,
                       cfg_langid: dict | None = None, log: Callable[[str], None] = lambda m: None, exclude: Sequence[str] = (),
                       corpus: Path | None = None, exclude_domains: Sequence[str] = ()) -> dict:
    """Train on everything but FLORES 507-1012 (and the `exclude`d languages), quantize,
    evaluate stock / full / ours / routed on it, and write out_dir/{model.ftz, lexicon.npz,
    lexicon.json, model.json, README.md, confusion.png}. `prefer_trained` lists the languages
    where our F1 beats the stock model's: the router trusts ours there."""
    from curation_platform.plots import confusion_matrix
    from curation_platform.storage import write_json, write_text

    cfg_langid = cfg_langid or {}
    params = {**DEFAULT_PARAMS, **(params or {})}
    held_all = flores_split(data_dir, EVAL_LINES)
    if not held_all:
        raise FileNotFoundError(f"{data_dir}: no flores200/devtest/*.devtest files to evaluate on")
    rows = _seed_rows(data_dir, extra_dirs, exclude, exclude_domains)
    train_domains: dict[str, list[str]] = {}
    corpus_held: list[tuple[str, str, str]] = []
    if corpus is not None:
        more, train_domains, corpus_held = corpus_training(Path(corpus), exclude_domains, exclude)
        rows += more
        log(f"corpus {corpus}: {len(more)} texts of {len(train_domains)} labels (domains left out: {', '.join(exclude_domains) or 'none'})")
    domain_of = {(lab, t): dom for lab, dom, t in rows}
    pairs = [(lab, t) for lab, _, t in rows]
    if corpus is not None:
        pairs = list(dict.fromkeys(pairs))  # the corpus repeats FLORES 1-506 of the shared data
        held_norm = {normalize_words(t) for _, _, t in corpus_held}  # the shared data repeats Tatoeba, NTREX, TICO and UDHR
        pairs = [(lab, t) for lab, t in pairs if normalize_words(t) not in held_norm]
        # every label needs MIN_LABEL_TEXTS texts (a UDHR or a handful of Tatoeba lines is not a label), but a user's own folder counts
        user = {lab for lab, _ in user_sentences(extra_dirs)}
        counts = Counter(lab for lab, _ in pairs)
        thin = sorted(lab for lab, n in counts.items() if n < MIN_LABEL_TEXTS and lab not in user)
        pairs = [(lab, t) for lab, t in pairs if lab not in thin]
        log(f"{len(thin)} labels with fewer than {MIN_LABEL_TEXTS} texts left out: {', '.join(thin)}")
        # FLORES 507-1012 of every FLORES label (the corpus's eval file) is the held-out score, not only the shared 20
        from curation_platform.langid_corpus import read_heldout

        if (Path(corpus) / "eval").is_dir():
            flores_eval = [(lab, t) for lab, t in read_heldout(Path(corpus)).select("label", "text").iter_rows()]
            eval_norm = {normalize_words(t) for _, t in flores_eval}
            pairs = [(lab, t) for lab, t in pairs if normalize_words(t) not in eval_norm]
            held_all = list(dict.fromkeys(held_all + flores_eval))
    train, dropped = decontaminate(pairs, [t for _, t in flores_split(data_dir, EVAL_LINES)])
    if "wiki" not in exclude_domains:
        kept = {t for _, t in train}  # never a held-out line again
        train += [x for x in flores_split(data_dir, TRAIN_LINES) if not _excluded(x[0], exclude) and x[1] in kept] * 3  # in-domain text weighs more
    labels = sorted({lab for lab, _ in train})
    held = [(g, t) for g, t in held_all if g in labels]
    log(f"training on {len(train)} texts in {len(labels)} languages ({dropped} dropped as copies of evaluation sentences)")
    out_dir.mkdir(parents=True, exist_ok=True)
    quantize = bool(params.get("quantize"))
    full_file, final = out_dir / "model.bin.new", out_dir / ("model.ftz" if quantize else "model.bin")
    train_params = {k: v for k, v in params.items() if k not in ("quantize", "cutoff")}
    train_model(train, full_file, **train_params)
    min_score = float(cfg_langid.get("min_score", 0.25))
    langs = sorted({g for g, _ in held})
    stock = LanguageIdentifier(cfg_langid.get("model"), k=3, min_score=min_score)
    predict = lambda ident: (lambda x: [p.lang for p in ident.predict(x)])  # noqa: E731
    scores = {"stock": evaluate(predict(stock), held, langs), "full": evaluate(predict(TrainedIdentifier(full_file, k=3, min_score=min_score)), held, langs)}
    if quantize:
        log("quantizing")
        staged = quantize_model(full_file, out_dir / "model.ftz.new", int(params.get("cutoff", 100_000)))
        full_file.unlink()
    else:
        staged = full_file
    ours = TrainedIdentifier(staged, k=3, min_score=min_score)
    scores["ours"] = evaluate(predict(ours), held, langs) if quantize else scores["full"]
    log("calibrating the open-set lexicons")
    lexicons = Lexicons.build(train)
    # across domains where a language has several (the shift a new domain brings, measured), else the shared-data way
    ceilings, lex_report = calibrate_ceilings(train, domains=domain_of, margin=0.05) if corpus is not None else calibrate_ceilings(train)
    lexicons.ceilings = ceilings
    evidence_file = Path(corpus) / EVIDENCE_FILE if corpus is not None else None
    evidence = json.loads(evidence_file.read_text("utf-8")) if evidence_file is not None and evidence_file.is_file() else None
    if evidence is not None:
        lexicons.evidence = {k: evidence[k] for k in ("weights", "bias", "threshold", "features")}
        log(f"open-set evidence rule from {evidence_file} (fitted on domains its models never saw: {', '.join(evidence['domains'])})")
    confusable = measured_confusions(scores["ours"]["confusion"])
    source = {lang: "measured" for lang in confusable}
    for lang, near in genetic_neighbours(labels, [lab for lab in labels if lab not in langs]).items():
        confusable[lang], source[lang] = near, "URIEL genetic"
    n_pairs = add_pair_tables(lexicons, confusable)
    log(f"pair word tables for {n_pairs} confusable pairs")
    prefer = prefer_ours({"languages": labels, "scores": {k: {"per_lang": {lang: x["f1"] for lang, x in scores[k]["per_lang"].items()}}
                                                            for k in ("ours", "stock")}})
    router = cfg_langid.get("router", {}) or {}
    routed = OpenSetIdentifier(ours, stock, lexicons, confusable, float(router.get("margin", 0.1)), prefer=set(prefer))
    scores["routed"] = evaluate(predict(routed), held, langs)
    heldout = corpus_heldout_scores(routed, corpus_held) if corpus_held else {}
    if heldout:
        log(f"held-out corpus text: {sum(len(v) for v in heldout.values())} (label, domain) groups scored")
    lexicons.save(out_dir / "lexicon.npz")
    policy = calibrate_policy(train, log)
    staged.replace(final)
    for stale in {"model.bin", "model.ftz"} - {final.name}:
        (out_dir / stale).unlink(missing_ok=True)
    meta = {"file": final.name, "quantized": quantize, "size_mb": round(final.stat().st_size / 2**20, 2), "languages": labels,
            "train_texts": len(train), "dropped_contaminated": dropped, "params": params, "prefer_trained": sorted(prefer),
            "excluded": sorted(exclude), "extra_dirs": [str(d) for d in extra_dirs], "eval": EVAL_NOTE,
            "corpus": _shown(corpus), "excluded_domains": sorted(exclude_domains), "train_domains": train_domains,
            "sources": [{"name": n, "licence": lic, "path": p} for n, lic, p in SOURCES],
            "confusable": confusable, "confusable_source": source, "lexicon": lex_report,
            "heldout": heldout,
            "open_set_evidence": evidence,
            "quantization_cost": round(scores["full"]["macro_f1"] - scores["ours"]["macro_f1"], 4),
            "scores": {k: {"macro_f1": v["macro_f1"], "per_lang": {lang: x["f1"] for lang, x in v["per_lang"].items()},
                           "sentences_per_s": v["sentences_per_s"], "und": v["und"]} for k, v in scores.items()}}
    meta["corpus_sources"] = _corpus_sources(Path(corpus)) if corpus is not None else []
    meta["reliability"] = label_reliability(meta)
    policy["langid_reliability"] = {lab: r["status"] for lab, r in meta["reliability"].items() if r["status"] != "ok"}
    write_json(policy, out_dir / "policy.json")
    write_json(meta, out_dir / "model.json")
    write_text(model_card(meta, train), out_dir / "README.md")
    png = confusion_matrix(scores["routed"]["confusion"], "routed model on FLORES devtest 507-1012 (row-normalised)")
    (out_dir / "confusion.png").write_bytes(png)
    meta["confusion_png"] = png
    meta["full_scores"] = scores
    return meta
