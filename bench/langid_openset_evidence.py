"""Which evidence tells a known language on a new domain from an unknown relative?

    python bench/langid_openset_evidence.py --model DIR [--domain stories] [--n 80] [--out bench/results/langid_openset_evidence.json]

DIR: a model trained with `--leave-out-domain DOMAIN` (`curate train-langid --corpus ...`).
Paragraphs of DOMAIN (never trained on) are split into *known* (their language is a label
and the model names it) and *unknown* (their language is no label). For each paragraph and
the label the model names, three features:
- `oov`: share of units outside the label's lexicon (today's open-set rule);
- `topk`: share of units among the label's 300 most frequent training units (function
  words survive a change of domain; a relative has its own);
- `margin`: the model's top probability minus the second's.
For each, the threshold that keeps 95 % of the known paragraphs and the share of unknown
paragraphs it refuses (higher is better), and the ROC AUC."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from curation_platform.langid_corpus import default_corpus_dir, paragraphs, read_corpus  # noqa: E402
from curation_platform.langid_model import load_model_dir  # noqa: E402
from curation_platform.langid_train import shared_sources  # noqa: E402
from curation_platform.lexicon import units  # noqa: E402
from curation_platform.storage import write_json  # noqa: E402


def auc(pos: list[float], neg: list[float]) -> float:
    """P(a known paragraph scores higher than an unknown one)."""
    if not pos or not neg:
        return float("nan")
    p, n = np.array(pos), np.array(neg)
    return float(((p[:, None] > n[None, :]).mean() + 0.5 * (p[:, None] == n[None, :]).mean()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, required=True)
    ap.add_argument("--domain", default="stories")
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--corpus", type=Path, default=default_corpus_dir())
    ap.add_argument("--top", type=int, default=300)
    ap.add_argument("--n", type=int, default=80, help="paragraphs per language")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "langid_openset_evidence.json")
    args = ap.parse_args()
    meta = json.loads((args.model / "model.json").read_text("utf-8"))
    assert args.domain in meta.get("excluded_domains", []), f"{args.model} was trained on {args.domain}"
    ident = load_model_dir(args.model, None)
    labels = set(meta["languages"])
    df = read_corpus(args.corpus)
    freq: dict[str, Counter] = defaultdict(Counter)  # the model's training text, by label
    for lab, dom, text in [*df.select("label", "domain", "text").iter_rows(), *shared_sources(args.data)]:
        if dom != args.domain and lab in labels:
            freq[lab].update(units(text))
    top = {lab: {u for u, _ in c.most_common(args.top)} for lab, c in freq.items()}
    feats: dict[str, list[dict]] = {"known": [], "unknown": []}
    held = df.filter(df["domain"] == args.domain)
    for (gold,), group in held.group_by("label", maintain_order=True):
        paras = paragraphs(group["text"].to_list())[: args.n]
        for text, pred in zip(paras, ident.trained.predict(paras)):
            if not pred.top:
                continue
            lab, p1 = pred.top[0]
            p2 = pred.top[1][1] if len(pred.top) > 1 else 0.0
            us = units(text)
            oov = ident.lexicons.oov(text, lab) if ident.lexicons is not None else None
            row = {"gold": gold, "label": lab, "oov": oov, "topk": sum(u in top.get(lab, ()) for u in us) / max(1, len(us)),
                   "margin": p1 - p2}
            if gold in labels and lab == gold:
                feats["known"].append(row)
            elif gold not in labels:
                feats["unknown"].append(row)
    result = {"model": str(args.model), "domain": args.domain, "known": len(feats["known"]), "unknown": len(feats["unknown"]),
              "known_langs": dict(Counter(r["gold"] for r in feats["known"])),
              "unknown_named_as": dict(Counter(f"{r['gold']}->{r['label']}" for r in feats["unknown"]).most_common(12)), "features": {}}
    print(f"{args.domain}: {result['known']} known paragraphs, {result['unknown']} unknown; unknown named as {result['unknown_named_as']}")
    print(f"{'feature':8s} {'AUC':>6s} {'keep 95% known: threshold':>27s} {'unknown refused':>16s}")
    for name, sign in (("oov", -1), ("topk", 1), ("margin", 1)):
        pos = [sign * r[name] for r in feats["known"] if r[name] is not None]
        neg = [sign * r[name] for r in feats["unknown"] if r[name] is not None]
        if not pos or not neg:
            continue
        th = float(np.quantile(pos, 0.05))
        refused = float(np.mean(np.array(neg) < th))
        result["features"][name] = {"auc": round(auc(pos, neg), 4), "threshold": round(sign * th, 4), "unknown_refused": round(refused, 4)}
        print(f"{name:8s} {auc(pos, neg):6.3f} {sign * th:27.3f} {refused:16.3f}")
    result["rows"] = feats
    write_json(result, args.out)


if __name__ == "__main__":
    main()
