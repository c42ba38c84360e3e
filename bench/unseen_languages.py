"""Low-resource text survives by default: the label stage's defaults (our shipped model,
open-set rules, the policy) on held-out text, and languages left out of training.

    python bench/unseen_languages.py [--n 101] [--leave-out ban_Latn,lao_Laoo,mya_Mymr] [--out bench/results/unseen_languages.json]

Parts (all on FLORES-200 devtest lines 507-1012, never trained on):
- clean: paragraphs of 5 sentences through `label_frame` with the default config: kept with the right label;
- leave_out: for each language, a model trained without it (leave-languages-out): its paragraphs are `und`
  (or named by the stock model when it knows the language) rather than a neighbour's label; then ~500 of its
  sentences added as a user folder, retrained, measured again;
- mixed: documents of 8 sentences with 0-40 % English: kept under the main language, English share error;
- short: the first 3-6 words of each sentence of Philippine languages: right label;
- ind_zsm: paragraph-level F1 of Indonesian and Malay;
- speed: sentences/s of our identifier (open-set + routing) and of the stock path, one process.
--n caps the paragraphs per language; --fast trains the leave-out models with small parameters."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from curation_platform.label import identifier_from_config  # noqa: E402
from curation_platform.langid_eval import (clean_paragraphs, flores_lines, leave_languages_out, mixed_documents,  # noqa: E402
                                           short_sentences)
from curation_platform.settings import load_config  # noqa: E402
from curation_platform.storage import write_json  # noqa: E402

FAST = {"epoch": 10, "dim": 32, "bucket": 200_000, "per_language": 3000}


def f1_pair(clean: dict, a: str, b: str) -> dict[str, float]:
    """Paragraph-level F1 of a and b over the paragraphs of both."""
    out = {}
    for x, y in ((a, b), (b, a)):
        tp = clean[x]["labels"].get(x, 0)
        fn = clean[x]["n"] - tp
        fp = clean[y]["labels"].get(x, 0)
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        out[x] = round(2 * p * r / (p + r), 4) if p + r else 0.0
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=101, help="paragraphs per language (default all 101)")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "unseen_languages.json")
    ap.add_argument("--data", type=Path, default=Path(os.environ.get("CURATION_TEST_DATA") or REPO.parent / "shared" / "data"))
    ap.add_argument("--leave-out", default="ban_Latn,lao_Laoo,mya_Mymr,min_Latn", help="comma-separated languages to leave out ('' = none)")
    ap.add_argument("--fast", action="store_true", help="small fastText parameters for the leave-out models")
    args = ap.parse_args()
    cfg = load_config()
    ident = identifier_from_config(cfg)
    langs = sorted(p.name.split(".")[0] for p in (args.data / "flores200" / "devtest").glob("*.devtest"))
    result: dict = {"timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds"), "cpu_count": os.cpu_count()}

    clean = clean_paragraphs(args.data, langs, cfg, ident)
    result["clean"] = clean
    result["clean_mean"] = round(sum(v["right"] for v in clean.values()) / len(clean), 4)
    result["clean_min"] = min(v["right"] for v in clean.values())
    print(f"\nclean paragraphs, default config: kept with the right label (mean {result['clean_mean']}, min {result['clean_min']})")
    print(f"{'language':<10} {'right':>6} {'und':>6} {'wrong':>6}  drop reasons")
    for lang, v in clean.items():
        print(f"{lang:<10} {v['right']:>6.3f} {v['und']:>6.3f} {v['wrong']:>6.3f}  {v['drop_reasons']}")
    result["ind_zsm_f1"] = f1_pair(clean, "ind_Latn", "zsm_Latn")
    print(f"\nIndonesian / Malay paragraph F1: {result['ind_zsm_f1']}")

    mixed = mixed_documents(args.data, langs, cfg, ident)
    result["mixed"] = mixed
    result["mixed_kept_main"] = round(sum(v["right"] for v in mixed.values()) / len(mixed), 4)
    result["mixed_share_error"] = round(sum(v["share_error"] for v in mixed.values()) / len(mixed), 4)
    print(f"\nmixed documents (main + 0-40 % English): kept under the main language {result['mixed_kept_main']}, "
          f"mean English share error {result['mixed_share_error']}; worst: "
          + ", ".join(f"{k} {v['right']}" for k, v in sorted(mixed.items(), key=lambda kv: kv[1]["right"])[:3]))

    short = short_sentences(args.data, ["tgl_Latn", "ceb_Latn"], ident)
    result["short"] = short
    print("short Philippine sentences (3-6 words), right label: " + ", ".join(f"{k} {v['right']}" for k, v in short.items()))

    sents = [s for lang in langs for s in flores_lines(args.data, lang)]
    stock = identifier_from_config({**cfg, "langid": {**cfg["langid"], "trained_dir": "stock"}})
    speed = {}
    for name, i in (("ours", ident), ("stock", stock)):
        i.predict(sents[:1000])
        t0 = time.perf_counter()
        i.predict(sents)
        speed[name] = round(len(sents) / (time.perf_counter() - t0), 1)
    result["sentences_per_s"] = speed
    print(f"language ID, sentences/s in one process: ours {speed['ours']:,.0f}, stock {speed['stock']:,.0f}")

    result["leave_out"] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for lang in [x for x in args.leave_out.split(",") if x]:
            t0 = time.perf_counter()
            r = leave_languages_out(args.data, [lang], Path(tmp), cfg, params=FAST if args.fast else None)[lang]
            r["seconds"] = round(time.perf_counter() - t0, 1)
            result["leave_out"][lang] = r
            b, nb, a = r["before"], r["before_no_stock"], r["after"]
            print(f"leave out {lang}: before right {b['right']} und {b['und']} wrong-kept {b['wrong_kept']} | no stock: und {nb['und']} "
                  f"wrong-kept {nb['wrong_kept']} | after {len(flores_lines(args.data, lang, (1, 500)))} sentences: right {a['right']} "
                  f"({r['seconds']} s)")
    write_json(result, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
