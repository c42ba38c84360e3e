"""Language-ID benchmark: the stock lid.176 model, a model trained here and the router,
side by side on FLORES-200 devtest lines 507-1012 (never trained on): macro-F1, F1 per
language, sentences/s; plus the raw fastText throughput of the stock model per core.

    python bench/langid.py [--n 1012] [--model-dir DIR] [--out bench/results/langid.json]

Without --model-dir it trains a model first (about a minute on 2 cores). --n caps the
evaluation lines per language (max 506)."""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from curation_platform.langid import LanguageIdentifier  # noqa: E402
from curation_platform.langid_train import EVAL_LINES, evaluate, flores_split, load_routed, train_and_evaluate  # noqa: E402
from curation_platform.settings import load_config  # noqa: E402
from curation_platform.storage import write_json  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=506, help="evaluation lines per language (default all 506)")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "langid.json")
    ap.add_argument("--data", type=Path, default=Path(os.environ.get("CURATION_TEST_DATA") or REPO.parent / "shared" / "data"))
    ap.add_argument("--model-dir", type=Path, help="a trained model folder (default: train one into a temp folder)")
    args = ap.parse_args()
    cfg = load_config()["langid"]
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = args.model_dir or Path(tmp) / "langid"
        train_s = None
        if not args.model_dir:
            t0 = time.perf_counter()
            train_and_evaluate(args.data, model_dir, cfg_langid=cfg, log=lambda m: print(m, file=sys.stderr))
            train_s = round(time.perf_counter() - t0, 1)
        lo, _ = EVAL_LINES
        held = flores_split(args.data, (lo, lo + min(args.n, 506) - 1))
        langs = sorted({g for g, _ in held})
        stock = LanguageIdentifier(cfg.get("model"), k=3, min_score=cfg["min_score"])
        routed = load_routed(model_dir, stock, cfg)
        models = {"stock": stock, "trained": routed.trained, "routed": routed}
        results = {}
        for name, ident in models.items():
            r = evaluate(lambda x, i=ident: [p.lang for p in i.predict(x)], held, langs)
            results[name] = {"macro_f1": r["macro_f1"], "per_lang": {k: v["f1"] for k, v in r["per_lang"].items()},
                             "sentences_per_s": r["sentences_per_s"], "und": r["und"]}
        texts = [" ".join(t.split()) for _, t in held]
        raw = stock.model
        t0 = time.perf_counter()
        for _ in range(3):
            raw.predict(texts, k=1)
        raw_rate = round(3 * len(texts) / (time.perf_counter() - t0), 1)
    result = {"models": results, "sentences": len(held), "languages": langs, "stock_raw_sentences_per_s_per_core": raw_rate,
              "train_seconds": train_s, "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
              "cpu_count": os.cpu_count(), "python": platform.python_version(), "timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    print(f"\nlangid benchmark: {len(held)} FLORES devtest sentences (lines 507-{lo + min(args.n, 506) - 1}), {len(langs)} languages\n")
    print(f"{'language':<10} " + " ".join(f"{m:>8}" for m in models))
    for lang in langs:
        print(f"{lang:<10} " + " ".join(f"{results[m]['per_lang'][lang]:>8.3f}" for m in models))
    print(f"{'macro-F1':<10} " + " ".join(f"{results[m]['macro_f1']:>8.3f}" for m in models))
    print(f"{'sent/s':<10} " + " ".join(f"{results[m]['sentences_per_s']:>8.0f}" for m in models))
    print(f"\nstock fastText alone (k=1, one process): {raw_rate:,.0f} sentences/s")
    write_json(result, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
