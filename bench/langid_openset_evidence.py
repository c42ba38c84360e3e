"""Which evidence tells a known language on a new domain from an unknown relative?

    python bench/langid_openset_evidence.py --model DIR [--domain stories] [--n 80] [--out bench/results/langid_openset_evidence.json]

DIR: a model trained with `--leave-out-domain DOMAIN` (`curate train-langid --corpus ...`).
Paragraphs of DOMAIN (never trained on) are split into *known* (their language is a label
and the model names it) and *unknown* (their language is no label). For each paragraph and
the label the model names, three features:
- `oov`: share of units outside the label's lexicon (today's open-set rule);
- `profile`: share of units among the label's 300 most frequent training units (function
  words survive a change of domain; a relative has its own);
- `margin`: the model's top probability minus the second's.
For each, the threshold that keeps 95 % of the known paragraphs and the share of unknown
paragraphs it refuses (higher is better), and the ROC AUC. The rows come from `langid_openset.evidence_rows`, as the fitted rule's do
(`scripts/fit_openset_evidence.py`)."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from curation_platform.langid_corpus import default_corpus_dir  # noqa: E402
from curation_platform.langid_openset import evidence_rows  # noqa: E402
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
    ap.add_argument("--n", type=int, default=80, help="paragraphs per language")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "langid_openset_evidence.json")
    args = ap.parse_args()
    rows = [r for r in evidence_rows(args.model, args.corpus, args.data, args.domain, args.n) if not r["known"] or r["named_right"]]
    known, unknown = [r for r in rows if r["known"]], [r for r in rows if not r["known"]]
    result = {"model": str(args.model), "domain": args.domain, "known": len(known), "unknown": len(unknown),
              "known_langs": dict(Counter(r["gold"] for r in known)),
              "unknown_named_as": dict(Counter(f"{r['gold']}->{r['label']}" for r in unknown).most_common(12)), "features": {}}
    print(f"{args.domain}: {result['known']} known paragraphs, {result['unknown']} unknown; unknown named as {result['unknown_named_as']}")
    print(f"{'feature':8s} {'AUC':>6s} {'keep 95% known: threshold':>27s} {'unknown refused':>16s}")
    for name, sign in (("oov", -1), ("profile", 1), ("margin", 1)):
        pos = [sign * r[name] for r in known]
        neg = [sign * r[name] for r in unknown]
        if not pos or not neg:
            continue
        th = float(np.quantile(pos, 0.05))
        refused = float(np.mean(np.array(neg) < th))
        result["features"][name] = {"auc": round(auc(pos, neg), 4), "threshold": round(sign * th, 4), "unknown_refused": round(refused, 4)}
        print(f"{name:8s} {auc(pos, neg):6.3f} {sign * th:27.3f} {refused:16.3f}")
    write_json(result, args.out)


if __name__ == "__main__":
    main()
