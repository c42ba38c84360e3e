"""Planted noise for measuring bitext filters on real pairs: each noise type is a
known failure of web-mined parallel data. Used by the tests and bench/parallel.py,
and by anyone checking filter precision/recall on their own clean pairs."""

from __future__ import annotations

import random
import re

NOISE_TYPES = ("misaligned", "swapped", "untranslated", "truncated", "digit_mismatch", "wrong_language")


def plant_noise(pairs: list[tuple[str, str]], foreign: list[str], rate: float = 0.3, seed: int = 0) -> list[dict]:
    """From clean (src, tgt) pairs, return rows {src, tgt, noise} with about `rate` of them
    corrupted, spread over NOISE_TYPES. `foreign`: sentences in some third language."""
    rng = random.Random(seed)
    rows = [{"src": s, "tgt": t, "noise": "clean"} for s, t in pairs]
    idx = list(range(len(rows)))
    rng.shuffle(idx)
    n_noisy = int(len(rows) * rate)
    per_type = max(1, n_noisy // len(NOISE_TYPES))
    chosen = idx[:n_noisy]
    with_digits = [i for i in chosen if re.search(r"\d", rows[i]["tgt"]) and re.search(r"\d", rows[i]["src"])]
    used: set[int] = set()
    for i in with_digits[:per_type]:
        rows[i]["tgt"] = re.sub(r"\d+", lambda m: str(int(m.group()) + rng.randint(1, 9)), rows[i]["tgt"], count=1)
        rows[i]["noise"] = "digit_mismatch"
        used.add(i)
    rest = [i for i in chosen if i not in used]
    groups = {t: rest[k * per_type : (k + 1) * per_type] for k, t in enumerate(t for t in NOISE_TYPES if t != "digit_mismatch")}
    mis = groups["misaligned"]
    for a, b in zip(mis, mis[1:] + mis[:1]):
        rows[a]["tgt_new"] = pairs[b][1]
    for i in mis:
        rows[i]["tgt"], rows[i]["noise"] = rows[i].pop("tgt_new"), "misaligned"
    for i in groups["swapped"]:
        rows[i]["src"], rows[i]["tgt"], rows[i]["noise"] = rows[i]["tgt"], rows[i]["src"], "swapped"
    for i in groups["untranslated"]:
        rows[i]["tgt"], rows[i]["noise"] = rows[i]["src"], "untranslated"
    for i in groups["truncated"]:
        ws = rows[i]["tgt"].split()
        cut = " ".join(ws[: max(1, len(ws) // 3)]) if len(ws) >= 6 else rows[i]["tgt"][: max(1, len(rows[i]["tgt"]) // 3)]
        rows[i]["tgt"], rows[i]["noise"] = cut, "truncated"
    for i in groups["wrong_language"]:
        rows[i]["tgt"], rows[i]["noise"] = rng.choice(foreign), "wrong_language"
    return rows


def score_filter(rows: list[dict], keep: list[bool]) -> dict:
    """Per noise type: recall (share dropped); overall precision of drops; clean keep rate."""
    out: dict = {}
    for t in NOISE_TYPES:
        idx = [i for i, r in enumerate(rows) if r["noise"] == t]
        if idx:
            out[t] = {"n": len(idx), "recall": round(sum(not keep[i] for i in idx) / len(idx), 4)}
    dropped = [i for i, k in enumerate(keep) if not k]
    clean = [i for i, r in enumerate(rows) if r["noise"] == "clean"]
    noisy = [i for i, r in enumerate(rows) if r["noise"] != "clean"]
    precision = sum(rows[i]["noise"] != "clean" for i in dropped) / len(dropped) if dropped else 1.0
    for t in out:
        out[t]["precision"] = round(precision, 4)
    return {"noise": out, "precision": round(precision, 4),
            "recall": round(sum(not keep[i] for i in noisy) / len(noisy), 4) if noisy else 1.0,
            "clean_keep": round(sum(keep[i] for i in clean) / len(clean), 4) if clean else 1.0}
