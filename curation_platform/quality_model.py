"""Model-based quality (the FineWeb-Edu / JQL pattern): a panel of LLM judges rates a
stratified sample, a fastText classifier learns the panel's majority label and scores
every document at label time (the `quality_model` signal, P(high quality)).

The teacher is named in every output: `llm` (the judges) or `heuristic` (the policy's own
keep/drop, for machines without an LLM; a classifier that imitates the rules can never
beat them, so it is recorded but not applied by default). The classifier is applied by the
policy (`min_quality_model`) only where it measured better than the heuristic rules at
predicting held-out judge labels (`apply: auto`)."""

from __future__ import annotations

import json
import random
import statistics
import tempfile
from collections import Counter, defaultdict
from pathlib import Path
from typing import Callable, Sequence

import polars as pl
import xxhash

from curation_platform.langid_train import preprocess, train_supervised

HQ, LQ = "__label__hq", "__label__lq"
LANGUAGE_REASONS = frozenset({"lang_und", "min_lang_score", "language_not_allowed"})
_END_PUNCT = tuple(".!?。！？।॥።؟…\"')»”")


def shape_tokens(text: str) -> str:
    """Coarse layout features as tokens (log length, share of distinct words, line count,
    share of lines ending a sentence): a bag of words cannot see repetition or menus."""
    words = text.split()
    lines = [ln for ln in text.splitlines() if ln.strip()] or [""]
    n = max(1, len(words))
    uniq = len(set(words)) / n
    ended = sum(ln.rstrip().endswith(_END_PUNCT) for ln in lines) / len(lines)
    return f"qlen{min(12, n.bit_length())} quniq{int(uniq * 10)} qlines{min(6, len(lines).bit_length())} qend{int(ended * 4)}"


def features(text: str, max_chars: int = 4000, shape_weight: int = 8) -> str:
    """What the classifier sees: shape tokens (repeated: fastText averages token vectors, so
    four tokens among hundreds of words would carry no weight), then the LID preprocessing
    (script token, lower case, no digits or punctuation)."""
    text = text[:max_chars]
    return f"{(shape_tokens(text) + ' ') * shape_weight}{preprocess(text)}"


def sample_documents(df: pl.DataFrame, per_language: int, seed: int = 0, min_chars: int = 40) -> pl.DataFrame:
    """Up to `per_language` documents per language, half kept and half dropped where both
    exist, so the judges see what the rules let through and what they removed."""
    df = df.filter(pl.col("text").str.len_chars() >= min_chars)
    out = []
    for (lang,), part in df.sort("id").group_by("lang", maintain_order=True):
        if lang == "und":
            continue
        kept, dropped = part.filter(pl.col("keep")), part.filter(~pl.col("keep"))
        k = min(kept.height, max(per_language // 2, per_language - dropped.height))
        d = min(dropped.height, per_language - k)
        out += [kept.sample(k, seed=seed, shuffle=True), dropped.sample(d, seed=seed, shuffle=True)]
    return pl.concat(out) if out else df.head(0)


def majority(votes: Sequence[Sequence[float | None]], threshold: float) -> list[int | None]:
    """One label per item from the judges' ratings: majority of (rating >= threshold);
    a tie goes to the mean rating; None when no judge answered."""
    out: list[int | None] = []
    for item in zip(*votes):
        rated = [r for r in item if r is not None]
        if not rated:
            out.append(None)
            continue
        hi = sum(r >= threshold for r in rated)
        lo = len(rated) - hi
        out.append(int(hi > lo) if hi != lo else int(sum(rated) / len(rated) >= threshold))
    return out


def fleiss_kappa(votes: Sequence[Sequence[int]]) -> float | None:
    """Fleiss' kappa over binary votes (items × raters, every rater voted); None when
    undefined (fewer than two raters, or every vote the same)."""
    items = [v for v in votes if len(v) >= 2]
    if not items:
        return None
    n = len(items[0])
    items = [v for v in items if len(v) == n]
    p_hi = sum(sum(v) for v in items) / (len(items) * n)
    p_e = p_hi**2 + (1 - p_hi) ** 2
    p_i = [(sum(v) ** 2 + (n - sum(v)) ** 2 - n) / (n * (n - 1)) for v in items]
    p_o = sum(p_i) / len(p_i)
    return round((p_o - p_e) / (1 - p_e), 4) if p_e < 1 else None


def agreement(votes: dict[str, Sequence[float | None]], threshold: float) -> dict:
    """Pairwise raw agreement and Fleiss' kappa of the judges' binary votes."""
    names = list(votes)
    binary = [[int(r >= threshold) for r in item] for item in zip(*votes.values()) if all(r is not None for r in item)]
    pairs = {}
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            both = [(x, y) for x, y in zip(votes[a], votes[b]) if x is not None and y is not None]
            pairs[f"{a}~{b}"] = round(sum((x >= threshold) == (y >= threshold) for x, y in both) / len(both), 4) if both else None
    answered = {n: sum(r is not None for r in v) for n, v in votes.items()}
    return {"judges": names, "answered": answered, "pairwise_agreement": pairs, "fleiss_kappa": fleiss_kappa(binary) if len(names) > 1 else None,
            "items_rated_by_all": len(binary)}


def holdout_mask(ids: Sequence[str], share: float, salt: str = "quality") -> list[bool]:
    """Deterministic split by id hash: the same document is always on the same side."""
    return [(xxhash.xxh64_intdigest(f"{salt}:{i}".encode()) % 10_000) / 10_000 < share for i in ids]


def train_classifier(texts: Sequence[str], labels: Sequence[int], out_path: Path, *, epoch: int = 25, dim: int = 32, word_ngrams: int = 2,
                     minn: int = 2, maxn: int = 4, lr: float = 0.2, seed: int = 7, threads: int = 1) -> Path:
    """Binary fastText (`hq` / `lq`) on `features`; classes are balanced by repetition. One
    thread: the data is small, and Hogwild updates on it diverged ("NaN") in long test runs."""
    by = defaultdict(list)
    for text, lab in zip(texts, labels):
        by[lab].append(f"{HQ if lab else LQ} {features(text)}")
    if len(by) < 2:
        raise ValueError(f"the teacher gave only one class ({'hq' if 1 in by else 'lq'}) to {len(texts)} documents: nothing to learn")
    top = max(len(v) for v in by.values())
    lines = [ln for v in by.values() for ln in v * max(1, round(top / len(v)))]
    random.Random(seed).shuffle(lines)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
        train_file = fh.name
    try:
        model = train_supervised(input=train_file, epoch=epoch, dim=dim, wordNgrams=word_ngrams, minn=minn, maxn=maxn, lr=lr,
                                 seed=seed, thread=threads, verbose=0, bucket=200_000)
    finally:
        Path(train_file).unlink()
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_suffix(".tmp")
    model.save_model(str(tmp))
    tmp.replace(out_path)
    return out_path


class QualityScorer:
    """P(high quality) per text from a trained classifier folder (model.bin + model.json)."""

    def __init__(self, model_dir: str | Path, max_chars: int = 4000):
        import fasttext

        self.dir = Path(model_dir)
        self.meta = json.loads((self.dir / "model.json").read_text("utf-8"))
        self.model = fasttext.load_model(str(self.dir / "model.bin"))
        self.max_chars = max_chars

    def score(self, texts: Sequence[str]) -> list[float]:
        if not texts:
            return []
        labels, probs = self.model.predict([features(t, self.max_chars) for t in texts], k=2)
        return [round(float(min(dict(zip(ls, ps)).get(HQ, 0.0), 1.0)), 4) for ls, ps in zip(labels, probs)]


def binary_scores(pred: Sequence[int], gold: Sequence[int]) -> dict:
    """Accuracy, and precision / recall / F1 of the high-quality class."""
    tp = sum(p and g for p, g in zip(pred, gold))
    fp = sum(p and not g for p, g in zip(pred, gold))
    fn = sum(g and not p for p, g in zip(pred, gold))
    acc = sum(p == g for p, g in zip(pred, gold)) / len(gold) if gold else None
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / (tp + fn) if tp + fn else 0.0
    return {"n": len(gold), "accuracy": round(acc, 4) if acc is not None else None, "precision_hq": round(prec, 4), "recall_hq": round(rec, 4),
            "f1_hq": round(2 * prec * rec / (prec + rec), 4) if prec + rec else 0.0}


def good_examples(sample: pl.DataFrame, clip: int = 300) -> dict[str, str]:
    """A few-shot "5" example per language: the kept document closest to `clip` characters."""
    good = {}
    for (lang,), part in sample.filter(pl.col("keep")).group_by("lang"):
        texts = sorted(part["text"].to_list(), key=lambda t: (abs(len(t) - clip), t))
        good[lang] = texts[0]
    return good


def teach(sample: pl.DataFrame, teacher: str, judges: Sequence[tuple[str, object, str]] = (), qcfg: dict | None = None,
          log: Callable[[str], None] = lambda m: None) -> tuple[list[int | None], dict]:
    """Labels from the teacher: `heuristic` = the policy's keep; `llm` = the judges' majority
    (`judges`: (name, LLMClient, prompt template)). Returns (labels, agreement report)."""
    from curation_platform.synthetic import judge

    qcfg = qcfg or {}
    if teacher == "heuristic":
        # a language decision says nothing about quality: those rows get no label
        reasons = sample["drop_reason"].to_list() if "drop_reason" in sample.columns else [None] * sample.height
        return ([None if r in LANGUAGE_REASONS else int(k) for k, r in zip(sample["keep"].to_list(), reasons)],
                {"judges": ["heuristic"], "fleiss_kappa": None})
    if not judges:
        raise ValueError("teacher 'llm' needs at least one judge (an LLM server: synthetic.llm.base_url or CURATION_LLM_URL)")
    texts, langs, good = sample["text"].to_list(), sample["lang"].to_list(), good_examples(sample)
    votes: dict[str, list[float | None]] = {}
    for name, client, template in judges:
        log(f"judge {name}: rating {len(texts)} documents")
        votes[name] = judge(client, texts, langs, {"judge": qcfg.get("judge", {})}, good, template,
                            progress=lambda d, n, name=name: log(f"judge {name}: {d}/{n}"))
    # `rating_threshold: median` calibrates each judge on its own scale (a small judge that
    # rates everything 1-2 still ranks documents); a number is the same cut for every judge
    setting = qcfg.get("rating_threshold", 3.0)
    cuts = {n: (statistics.median([r for r in v if r is not None] or [3.0]) if setting == "median" else float(setting)) for n, v in votes.items()}
    thr = 3.0
    shifted = {n: [None if r is None else r - cuts[n] + thr for r in v] for n, v in votes.items()}
    labels = majority(list(shifted.values()), thr)
    report = agreement(shifted, thr)
    report["rating_cuts"] = {n: round(c, 3) for n, c in cuts.items()}
    report["mean_rating"] = {n: round(sum(x for x in v if x is not None) / max(1, sum(x is not None for x in v)), 3) for n, v in votes.items()}
    report["votes"] = votes
    return labels, report


def train_quality_model(sample: pl.DataFrame, out_dir: Path, teacher: str, judges: Sequence[tuple[str, object, str]] = (), qcfg: dict | None = None,
                        log: Callable[[str], None] = lambda m: None) -> dict:
    """Label the sample with the teacher, train on the training split, evaluate the
    classifier and the heuristic rules against the held-out teacher labels, and write
    out_dir/{model.bin, model.json, labels.parquet, README.md}. `beats_heuristic` is what
    `apply: auto` reads."""
    from curation_platform.storage import write_json, write_parquet, write_text

    qcfg = qcfg or {}
    labels, report = teach(sample, teacher, judges, qcfg, log)
    votes = report.pop("votes", {})
    labelled = sample.select("id", "lang", "text", "keep", "drop_reason").with_columns(pl.Series("teacher_label", labels, dtype=pl.Int8),
                                                                         *[pl.Series(f"rating_{n}", v, dtype=pl.Float64) for n, v in votes.items()])
    usable = labelled.filter(pl.col("teacher_label").is_not_null())
    held = pl.Series(holdout_mask(usable["id"].to_list(), float(qcfg.get("holdout", 0.25))))
    train, test = usable.filter(~held), usable.filter(held)
    if test.is_empty() or train.is_empty():
        raise ValueError(f"{usable.height} labelled documents are too few to hold out a test split")
    log(f"training on {train.height} documents ({teacher} teacher), evaluating on {test.height}")
    out_dir.mkdir(parents=True, exist_ok=True)
    params = {"epoch": 25, "dim": 32, "word_ngrams": 2, "minn": 2, "maxn": 4, "lr": 0.5, **(qcfg.get("train") or {})}
    staging = train_classifier(train["text"].to_list(), train["teacher_label"].to_list(), out_dir / "model.bin.new", **params)
    gold = test["teacher_label"].to_list()
    import fasttext

    model = fasttext.load_model(str(staging))
    thr = float(qcfg.get("threshold", 0.5))
    labs, probs = model.predict([features(t) for t in test["text"].to_list()], k=2)
    p_hq = [dict(zip(ls, ps)).get(HQ, 0.0) for ls, ps in zip(labs, probs)]
    clf = binary_scores([int(p >= thr) for p in p_hq], gold)
    rules = binary_scores([int(k) for k in test["keep"].to_list()], gold)
    per_lang = []
    for (lang,), part in test.with_columns(pl.Series("pred", [int(p >= thr) for p in p_hq])).group_by("lang", maintain_order=True):
        g = part["teacher_label"].to_list()
        per_lang.append({"language": lang, "n": part.height, "hq_share": round(sum(g) / len(g), 3),
                         "classifier_acc": binary_scores(part["pred"].to_list(), g)["accuracy"],
                         "rules_acc": binary_scores([int(k) for k in part["keep"].to_list()], g)["accuracy"]})
    per_lang.sort(key=lambda r: r["language"])
    beats = teacher != "heuristic" and (clf["accuracy"] or 0) > (rules["accuracy"] or 0)
    staging.replace(out_dir / "model.bin")
    write_parquet(labelled, out_dir / "labels.parquet")
    meta = {"teacher": teacher, "judges": report.get("judges"), "agreement": report, "sampled": sample.height, "labelled": usable.height,
            "train": train.height, "held_out": test.height, "hq_share": round(sum(usable["teacher_label"].to_list()) / usable.height, 4),
            "threshold": thr, "params": params, "classifier": clf, "rules": rules, "per_language": per_lang, "beats_heuristic": beats,
            "languages": sorted(Counter(usable["lang"].to_list()))}
    write_json(meta, out_dir / "model.json")
    write_text(model_card(meta), out_dir / "README.md")
    return meta


def model_card(meta: dict) -> str:
    ag = meta["agreement"]
    lines = ["# Quality classifier", "", "fastText, binary (`hq` / `lq`), trained by `curate train-quality` / the `train_quality_model` asset.", "",
             f"Teacher: **{meta['teacher']}** ({', '.join(meta['judges'] or [])}); Fleiss' kappa {ag.get('fleiss_kappa')}, "
             f"pairwise agreement {ag.get('pairwise_agreement')}.",
             f"Documents: {meta['sampled']} sampled, {meta['labelled']} labelled, {meta['train']} train / {meta['held_out']} held out; "
             f"high-quality share {meta['hq_share']}.", "",
             "| against held-out teacher labels | accuracy | precision (hq) | recall (hq) | F1 (hq) |", "|---|---:|---:|---:|---:|"]
    for name in ("classifier", "rules"):
        s = meta[name]
        lines.append(f"| {name} | {s['accuracy']} | {s['precision_hq']} | {s['recall_hq']} | {s['f1_hq']} |")
    lines += ["", f"Applied by the label stage (`apply: auto`): **{'yes' if meta['beats_heuristic'] else 'no'}** "
              "(only a classifier taught by LLM judges that beats the rules on held-out labels is applied).", ""]
    return "\n".join(lines)


def load_scorer(cfg: dict) -> QualityScorer | None:
    """The trained classifier named by `quality_model.trained_dir`, if there is one."""
    d = (cfg.get("quality_model") or {}).get("trained_dir")
    if d and (Path(d) / "model.json").is_file() and (Path(d) / "model.bin").is_file():
        return QualityScorer(d)
    return None


def effective_policy(cfg: dict, scorer: QualityScorer | None) -> dict:
    """The policy with `min_quality_model` switched on where the classifier applies:
    `apply: always`, or `auto` and it beat the heuristic rules; an explicit default
    threshold in the policy (or per-language overrides) always wins."""
    policy = cfg.get("policy", {})
    qcfg = cfg.get("quality_model") or {}
    mode = str(qcfg.get("apply", "auto"))
    if scorer is None or mode == "never" or (mode == "auto" and not scorer.meta.get("beats_heuristic")):
        return policy
    default = dict(policy.get("default", {}))
    if default.get("min_quality_model") is None:
        default["min_quality_model"] = float(qcfg.get("threshold", scorer.meta.get("threshold", 0.5)))
    return {**policy, "default": default}


def build_judges(base, qcfg: dict, cache_path: str | Path | None, log: Callable[[str], None] | None = None) -> list[tuple[str, object, str]]:
    """(name, LLMClient, template) per configured judge: each judge's base_url / model / api
    override the base LLM settings (a second server or model = an independent judge).
    No base settings and no judge URL: no judges."""
    from dataclasses import replace

    from curation_platform.llm import LLMClient, LLMSettings

    out = []
    for j in qcfg.get("judges") or []:
        over = {k: j[k] for k in ("base_url", "model", "api") if j.get(k)}
        if base is None and not over.get("base_url"):
            continue
        settings = replace(base, **over) if base is not None else LLMSettings.from_dict(over)
        out.append((str(j.get("name") or j.get("template", "judge")), LLMClient(settings, cache_path=cache_path, log=log), str(j.get("template", "judge"))))
    return out


def train_from_labelled(files: Sequence[str | Path], out_dir: Path, cfg: dict, judges: Sequence[tuple[str, object, str]] = (),
                        log: Callable[[str], None] = lambda m: None) -> dict:
    """Sample the labelled shards, pick the teacher (`auto`: the judges when there are any,
    else the heuristic rules) and train; see `train_quality_model`."""
    from curation_platform.storage import scan_labelled

    qcfg = cfg.get("quality_model") or {}
    teacher = str(qcfg.get("teacher", "auto"))
    if teacher == "auto":
        teacher = "llm" if judges else "heuristic"
    df = scan_labelled(files).select("id", "text", "lang", "keep", "drop_reason").collect()
    sample = sample_documents(df, int(qcfg.get("sample_per_language", 200)), int(qcfg.get("seed", 0)))
    log(f"sampled {sample.height} of {df.height} labelled documents in {sample['lang'].n_unique()} languages; teacher: {teacher}")
    return train_quality_model(sample, out_dir, teacher, judges if teacher == "llm" else (), qcfg, log)
