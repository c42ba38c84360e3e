"""Fit the open-set evidence rule on domains the models never saw, and write it beside the corpus.

    python scripts/fit_openset_evidence.py --model conversational=DIR1 --model news=DIR2 --model stories=DIR3 \\
        [--corpus training_data/langid] [--data ../shared/data] [--per-label 80]

Each DIR is a model trained with `curate train-langid --corpus ... --leave-out-domain DOMAIN`.
The rule (`curation_platform.langid_openset`) lands in `<corpus>/open_set_evidence.json` with
its leave-one-domain-out report; `curate train-langid --corpus` reads it from there."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from curation_platform.langid_corpus import default_corpus_dir  # noqa: E402
from curation_platform.langid_openset import evidence_rows, fit_evidence  # noqa: E402
from curation_platform.langid_train import EVIDENCE_FILE  # noqa: E402
from curation_platform.storage import write_json  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", action="append", required=True, metavar="DOMAIN=DIR", help="a leave-domain-out model (repeat)")
    ap.add_argument("--corpus", type=Path, default=default_corpus_dir())
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--per-label", type=int, default=80, help="paragraphs per label and domain")
    ap.add_argument("--keep", type=float, default=0.99, help="share of known paragraphs the threshold keeps in the worst domain")
    args = ap.parse_args()
    rows = []
    for spec in args.model:
        domain, _, model = spec.partition("=")
        got = evidence_rows(Path(model), args.corpus, args.data, domain, args.per_label)
        print(f"{domain}: {sum(r['known'] for r in got)} known and {sum(not r['known'] for r in got)} unknown paragraphs ({model})")
        rows += got
    ev = fit_evidence(rows, args.keep)
    ev["models"] = dict(spec.partition("=")[::2] for spec in args.model)
    print(f"weights {ev['weights']} bias {ev['bias']} threshold {ev['threshold']}")
    print(f"{'left out':15s} {'known kept':>10s} {'unknown refused':>16s}   (OOV ceiling alone)")
    for dom, o in ev["leave_one_domain_out"].items():
        c = o["ceiling_only"]
        print(f"{dom:15s} {o['known_kept']:10.3f} {o['unknown_refused']:16.3f}   ({c['known_kept']:.3f} / {c['unknown_refused']:.3f})")
    write_json(ev, args.corpus / EVIDENCE_FILE)


if __name__ == "__main__":
    main()
