"""The open-set evidence rule, fitted where it will be used: on domains the model never saw.

A model trained without one domain (`curate train-langid --leave-out-domain D`) names a
label for each paragraph of D. Paragraphs whose language is one of its labels and which it
names right are *known*; paragraphs of languages it has no label for are *unknown*. For
each, three features of the named label: its OOV rate, its function-word profile share and
the model's margin. A logistic model over them, fitted on every left-out domain together,
scores "this is the named language"; its threshold keeps `keep` of the known paragraphs
(that pass the OOV ceiling) of the *worst* domain. The report also fits on all domains
but one and tests on that one, the number that says whether the rule carries to a domain
it has never seen; `per_label` is each label's paragraphs of a left-out domain named right
and kept by that rule (the leave-domain-out score of the model card)."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np

from curation_platform.lexicon import PROFILE_UNITS, Lexicons, unit_hashes

FEATURES = ("oov", "profile", "margin")


def evidence_rows(model_dir: Path, corpus_dir: Path, data_dir: Path, domain: str, per_label: int = 80) -> list[dict]:
    """Feature rows of the paragraphs of `domain` for a model trained without it."""
    from curation_platform.langid_corpus import paragraphs, read_corpus
    from curation_platform.langid_model import load_model_dir
    from curation_platform.langid_train import shared_sources

    meta = json.loads((Path(model_dir) / "model.json").read_text("utf-8"))
    if domain not in meta.get("excluded_domains", []):
        raise ValueError(f"{model_dir} was trained on {domain}: its rows would not be held out")
    ident = load_model_dir(model_dir, None)
    if ident.lexicons is None:
        raise ValueError(f"{model_dir}: no lexicon.npz")
    labels = set(meta["languages"])
    df = read_corpus(corpus_dir)
    freq: dict[str, Counter] = defaultdict(Counter)  # the model's training text, by label: its profiles
    for lab, dom, text in [*df.select("label", "domain", "text").iter_rows(), *shared_sources(data_dir)]:
        if dom != domain and lab in labels:
            freq[lab].update(unit_hashes(text).tolist())
    profiles = Lexicons({}, profiles={lab: np.array([h for h, _ in c.most_common(PROFILE_UNITS)], dtype=np.uint32) for lab, c in freq.items()})
    rows = []
    held = df.filter(df["domain"] == domain)
    for (gold,), group in held.group_by("label", maintain_order=True):
        paras = paragraphs(group["text"].to_list())[:per_label]
        for text, pred in zip(paras, ident.predict(paras)):  # every rule keeps the model's own top-k
            if not pred.top:
                continue
            lab, p1 = pred.top[0]
            if pred.rule == "lexicon":  # the pair tables moved the label to a close relative: judge that one
                lab = pred.lang
            known = gold in labels
            oov, share = ident.lexicons.oov(text, lab), profiles.profile_share(text, lab)
            if oov is None or share is None:
                continue
            ceiling = ident.lexicons.ceilings.get(lab, ident.lexicons.default_ceiling)
            rows.append({"domain": domain, "gold": gold, "label": lab, "known": known, "named_right": lab == gold, "oov": round(oov, 4), "profile": round(share, 4),
                         "margin": round(p1 - (pred.top[1][1] if len(pred.top) > 1 else 0.0), 4),
                         "within_ceiling": ceiling is None or oov <= ceiling})
    return rows


def _logistic(X: np.ndarray, y: np.ndarray, groups: np.ndarray, l2: float = 1e-3, iters: int = 100) -> np.ndarray:
    """L2 logistic regression by Newton steps, each (group, class) weighing the same (a domain
    with 8,000 paragraphs must not decide the rule for one with 700); the last weight is the bias."""
    X = np.hstack([X, np.ones((len(X), 1))])
    w = np.zeros(X.shape[1])
    cells = Counter(zip(groups.tolist(), y.tolist()))
    sw = np.array([len(y) / (len(cells) * cells[(g, c)]) for g, c in zip(groups.tolist(), y.tolist())])
    for _ in range(iters):
        p = 1 / (1 + np.exp(-X @ w))
        g = X.T @ ((p - y) * sw) / len(y) + l2 * w
        H = (X.T * (p * (1 - p) * sw)) @ X / len(y) + l2 * np.eye(len(w))
        step = np.linalg.solve(H, g)
        w -= step
        if np.abs(step).max() < 1e-10:
            break
    return w


def _matrix(rows: Sequence[Mapping]) -> tuple[np.ndarray, np.ndarray]:
    return np.array([[r[f] for f in FEATURES] for r in rows], dtype=float), np.array([1 if r["known"] else 0 for r in rows])


def _judged(rows: Sequence[Mapping]) -> list[Mapping]:
    """The rows the open-set rule is judged on: unknown languages, and known ones named right
    (a wrong closed-set answer is the classifier's error, not the rule's)."""
    return [r for r in rows if not r["known"] or r["named_right"]]


def _kept(rows: Sequence[Mapping], ev: Mapping) -> np.ndarray:
    score = _matrix(rows)[0] @ np.array([ev["weights"][f] for f in FEATURES]) + ev["bias"]
    return np.array([r["within_ceiling"] for r in rows]) & (score >= ev["threshold"])


def _fit(rows: Sequence[Mapping], keep: float) -> dict:
    rows = _judged(rows)
    X, y = _matrix(rows)
    w = _logistic(X, y, np.array([r["domain"] for r in rows]))
    thresholds = []
    for dom in sorted({r["domain"] for r in rows}):
        own = [r for r in rows if r["domain"] == dom and r["known"] and r["within_ceiling"]]
        if own:
            thresholds.append(float(np.quantile(_matrix(own)[0] @ w[:-1] + w[-1], 1 - keep)))
    return {"weights": {f: round(float(v), 4) for f, v in zip(FEATURES, w[:-1])}, "bias": round(float(w[-1]), 4),
            "threshold": round(min(thresholds), 4)}


def _outcome(rows: Sequence[Mapping], ev: Mapping) -> dict:
    rows = _judged(rows)
    y = _matrix(rows)[1]
    ok = _kept(rows, ev)
    ceiling_only = np.array([r["within_ceiling"] for r in rows])
    return {"known": int((y == 1).sum()), "unknown": int((y == 0).sum()),
            "known_kept": round(float(ok[y == 1].mean()), 4) if (y == 1).any() else None,
            "unknown_refused": round(float((~ok[y == 0]).mean()), 4) if (y == 0).any() else None,
            "ceiling_only": {"known_kept": round(float(ceiling_only[y == 1].mean()), 4) if (y == 1).any() else None,
                             "unknown_refused": round(float((~ceiling_only[y == 0]).mean()), 4) if (y == 0).any() else None}}


def fit_evidence(rows: Iterable[Mapping], keep: float = 0.99) -> dict:
    """The evidence rule from held-out-domain rows (`evidence_rows` of several left-out
    domains), with its leave-one-domain-out report."""
    rows = list(rows)
    domains = sorted({r["domain"] for r in rows})
    ev = _fit(rows, keep)
    report, per_label = {}, defaultdict(dict)
    for dom in domains:
        rest = [r for r in rows if r["domain"] != dom]
        if not rest or len({r["known"] for r in rest}) < 2:
            continue
        rule = _fit(rest, keep)
        own = [r for r in rows if r["domain"] == dom]
        report[dom] = _outcome(own, rule)
        right = _kept(own, rule) & np.array([r["named_right"] for r in own])
        by: dict[str, list[bool]] = defaultdict(list)
        for r, ok in zip(own, right.tolist()):
            if r["known"]:
                by[r["gold"]].append(ok)
        for lab, oks in by.items():
            per_label[lab][dom] = {"paragraphs": len(oks), "right": round(sum(oks) / len(oks), 4)}
    return {**ev, "features": list(FEATURES), "keep": keep, "domains": domains, "rows": len(rows), "leave_one_domain_out": report,
            "per_label": {lab: per_label[lab] for lab in sorted(per_label)}}
