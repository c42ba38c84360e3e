"""Language ID off its training domains: the label stage's defaults on text of a domain
the model never saw for that label (leave-domain-out), and on languages it has no label for.

    python bench/langid_domains.py [--corpus training_data/langid] [--n 60] [--model DIR] [--out bench/results/langid_domains.json]

Text: the multi-domain corpus (`curation_platform.langid_corpus`: FLORES-200 devtest lines
1-506 = wiki, NTREX-128 = news, TICO-19 = health, Tatoeba = conversational, UDHR = legal,
NusaParagraph = stories). A (label, domain) group is *held out* when the model's training
text has no text of that label from that domain (its shared-data sources are re-derived from
`langid_train`, its corpus domains read from its card), and any shared-data text the model
trained on is removed from every group. FLORES-200 devtest lines 507-1012 of every label the
model has (the corpus's `eval/` file) are scored apart as in-domain held-out text.

Per group, through the platform's defaults (`load_config()`):
- paragraphs (consecutive texts joined to 60 words or 400 characters, or one UDHR article):
  `label_frame` after `standardize_frame`, as the spine runs: right = the gold label
  (`right_kept`: and kept by the quality rules too; `drop_reasons` says why not);
- sentences (8-25 words): the identifier alone, as `curate langid` runs it.
Labels the shipped model does not know are reported apart: right when the stock fallback
names them, `und` (the right answer for a language nobody knows), or wrong (kept under
another label); `other_macrolanguage` counts only wrong labels outside the language's ISO
639-3 macrolanguage (Cusco Quechua filed as Ayacucho Quechua, Hakka as Chinese are not)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter, defaultdict
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from curation_platform.label import identifier_from_config  # noqa: E402
from curation_platform.langid import same_macrolanguage  # noqa: E402
from curation_platform.langid_corpus import default_corpus_dir, paragraphs, read_corpus, read_heldout, sample, sentences  # noqa: E402
from curation_platform.langid_eval import label_paragraphs, outcomes  # noqa: E402
from curation_platform.langid_model import known_languages, resolve_model_dir  # noqa: E402
from curation_platform.langid_train import shared_sources  # noqa: E402
from curation_platform.settings import load_config  # noqa: E402
from curation_platform.storage import write_json  # noqa: E402

SEA = ["ace_Latn", "ban_Latn", "bbc_Latn", "bcl_Latn", "bjn_Latn", "bug_Latn", "ceb_Latn", "hil_Latn", "ilo_Latn", "ind_Latn",
       "jav_Latn", "khm_Khmr", "lao_Laoo", "mad_Latn", "min_Latn", "mya_Mymr", "pag_Latn", "pam_Latn", "shn_Mymr", "sun_Latn",
       "tet_Latn", "tgl_Latn", "tha_Thai", "vie_Latn", "war_Latn", "zsm_Latn"]


def model_training(data_dir: Path, meta: dict) -> tuple[dict[str, set[str]], set[str]]:
    """Domains per label of a model's training text, and its shared-data texts (the
    sources `langid_train.training_data` reads, less the domains the model left out, plus
    the corpus domains its card lists)."""
    domains: dict[str, set[str]] = defaultdict(set)
    texts: set[str] = set()
    for code, domain, text in shared_sources(data_dir):
        if domain not in meta.get("excluded_domains", []):
            domains[code].add(domain)
            texts.add(" ".join(text.split()))
    for code, doms in (meta.get("train_domains") or {}).items():
        domains[code].update(doms)
    return domains, texts


def same_language(gold: str, got: str) -> bool:
    return got == gold or (got.split("_")[0] == gold.split("_")[0] and got.split("_")[-1] in (gold.split("_")[-1], "Hani"))


def score(gold: str, labels: list[str], kept: list[bool] | None = None, macro: bool = False) -> dict:
    """`outcomes` with a script-agnostic match for Han (a stock `zho_Hani` for zho_Hant is right);
    `macro`: a label of the gold language's macrolanguage is not counted wrong."""
    fixed = [gold if same_language(gold, lab) else lab for lab in labels]
    return outcomes(gold, fixed, kept, group_ok=(lambda lab: same_macrolanguage(gold, lab)) if macro else (lambda lab: False))


def summarise(rows: list[dict], level: str, labels: list[str] | None = None) -> dict:
    pick = [r for r in rows if r[level]["n"] and (labels is None or r["label"] in labels)]
    if not pick:
        return {"groups": 0}
    right = [r[level]["right"] for r in pick]
    worst = sorted(pick, key=lambda r: r[level]["right"])[:8]
    return {"groups": len(pick), "right_mean": round(sum(right) / len(right), 4), "right_min": round(min(right), 4),
            "und_mean": round(sum(r[level]["und"] for r in pick) / len(pick), 4),
            "below_0.90": sum(x < 0.90 for x in right),
            "worst": [f"{r['label']}/{r['domain']} {r[level]['right']} (und {r[level]['und']}, {r[level]['labels']})" for r in worst]}


def summarise_outside(rows: list[dict], level: str) -> dict:
    """Languages outside the label set: the share kept under a wrong label (sentences are
    not filtered by the policy, so every wrong label counts as kept there)."""
    wrong = [r[level].get("wrong_kept", r[level]["wrong"]) for r in rows if r[level]["n"]]
    other = [r[level].get("wrong_kept_other_macrolanguage", w) for r, w in zip((r for r in rows if r[level]["n"]), wrong)]
    return {"groups": len(wrong), "wrong_kept_mean": round(sum(wrong) / max(1, len(wrong)), 4),
            "wrong_kept_above_0.10": sum(w > 0.10 for w in wrong),
            "other_macrolanguage_mean": round(sum(other) / max(1, len(other)), 4), "other_macrolanguage_above_0.10": sum(w > 0.10 for w in other)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=default_corpus_dir())
    ap.add_argument("--data", type=Path, default=Path(os.environ.get("CURATION_TEST_DATA") or REPO.parent / "shared" / "data"))
    ap.add_argument("--n", "--per-group", dest="per_group", type=int, default=60, help="paragraphs and sentences per (label, domain) group")
    ap.add_argument("--model", type=Path, help="a model folder from `curate train-langid` (default: the shipped model)")
    ap.add_argument("--labels", default="", help="comma-separated labels (default: every label of the corpus)")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "langid_domains.json")
    args = ap.parse_args()
    t0 = time.perf_counter()
    cfg = load_config(overrides={"langid": {"trained_dir": str(args.model)}} if args.model else None)
    ident = identifier_from_config(cfg)
    known = known_languages(ident)
    ours = {lab.replace("__label__", "") for lab in ident.trained.model.get_labels()} if hasattr(ident, "trained") else set()
    model_dir = resolve_model_dir(cfg["langid"].get("trained_dir", "bundled"))
    trained_domains, trained_texts = model_training(args.data, json.loads((model_dir / "model.json").read_text("utf-8")))
    df = read_corpus(args.corpus)
    wanted = set(args.labels.split(",")) if args.labels else None
    rows: list[dict] = []
    groups = sorted({(lab, dom) for lab, dom in df.select("label", "domain").unique().iter_rows() if wanted is None or lab in wanted})
    texts_by_group: dict[tuple[str, str], list[str]] = defaultdict(list)
    for lab, dom, text in df.select("label", "domain", "text").iter_rows():
        texts_by_group[(lab, dom)].append(text)
    for n, (label, domain) in enumerate(groups, 1):
        texts = [t for t in texts_by_group[(label, domain)] if " ".join(t.split()) not in trained_texts]
        paras = sample(paragraphs(texts), args.per_group)
        sents = sample(sentences(texts), args.per_group)
        row = {"label": label, "domain": domain, "ours": label in ours, "known": label in known or label.split("_")[0] in {k.split("_")[0] for k in known},
               "held_out": domain not in trained_domains.get(label, set()), "trained_domains": sorted(trained_domains.get(label, set())),
               "paragraphs": {"n": 0}, "sentences": {"n": 0}}
        if paras:
            lab = label_paragraphs(paras, cfg, ident)
            row["paragraphs"] = score(label, lab["lang"].to_list())
            kept = score(label, lab["lang"].to_list(), lab["keep"].to_list())
            macro = score(label, lab["lang"].to_list(), lab["keep"].to_list(), macro=True)
            row["paragraphs"].update(right_kept=kept["right"], wrong_kept=kept["wrong_kept"], wrong_kept_other_macrolanguage=macro["wrong_kept"],
                                     drop_reasons=dict(Counter(r for r in lab["drop_reason"].to_list() if r).most_common(3)))
        if sents:
            got = [p.lang for p in ident.predict(sents)]
            row["sentences"] = score(label, got)
            row["sentences"]["wrong_kept_other_macrolanguage"] = score(label, got, macro=True)["wrong"]
        rows.append(row)
        if n % 50 == 0:
            print(f"  {n}/{len(groups)} groups, {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    flores_rows = []  # in-domain held-out: FLORES devtest 507-1012 of every label the model has
    heldout = read_heldout(args.corpus)
    for (label,), group in heldout.group_by("label", maintain_order=True):
        if label not in ours or (wanted is not None and label not in wanted):
            continue
        texts = group["text"].to_list()
        paras, sents = sample(paragraphs(texts), args.per_group), sample(sentences(texts), args.per_group)
        lab = label_paragraphs(paras, cfg, ident)
        flores_rows.append({"label": label, "domain": "wiki (FLORES 507-1012)", "paragraphs": score(label, lab["lang"].to_list()),
                            "sentences": score(label, [p.lang for p in ident.predict(sents)])})
    held = [r for r in rows if r["ours"] and r["held_out"]]
    outside = [r for r in rows if not r["known"]]
    summary = {
        "ours_held_out_domain": {lvl: summarise(held, lvl) for lvl in ("paragraphs", "sentences")},
        "ours_held_out_domain_sea": {lvl: summarise(held, lvl, SEA) for lvl in ("paragraphs", "sentences")},
        "ours_flores_heldout_lines": {lvl: summarise(flores_rows, lvl) for lvl in ("paragraphs", "sentences")},
        "ours_trained_domain": {lvl: summarise([r for r in rows if r["ours"] and not r["held_out"]], lvl) for lvl in ("paragraphs", "sentences")},
        "outside_label_set": {lvl: summarise_outside(outside, lvl) for lvl in ("paragraphs", "sentences")},
    }
    print(f"\n{len(rows)} groups ({len(held)} held-out domains of our labels, {len(outside)} of languages outside the label set), "
          f"{time.perf_counter() - t0:.0f} s")
    print(f"{'':34s} {'groups':>6s} {'right':>7s} {'min':>6s} {'und':>6s} {'<0.90':>6s}")
    for name in ("ours_held_out_domain", "ours_held_out_domain_sea", "ours_flores_heldout_lines", "ours_trained_domain"):
        for lvl, s in summary[name].items():
            if s.get("groups"):
                print(f"{name + ' ' + lvl:34s} {s['groups']:6d} {s['right_mean']:7.3f} {s['right_min']:6.3f} {s['und_mean']:6.3f} {s['below_0.90']:6d}")
    for lvl, s in summary["outside_label_set"].items():
        print(f"{'outside label set ' + lvl:34s} {s['groups']:6d}  wrong kept {s['wrong_kept_mean']:.3f}, groups above 0.10: "
              f"{s['wrong_kept_above_0.10']}; outside the language's macrolanguage {s['other_macrolanguage_mean']:.3f}, "
              f"above 0.10: {s['other_macrolanguage_above_0.10']}")
    print("\nSoutheast Asian labels on held-out domains (paragraphs right / und; sentences right):")
    for r in sorted((r for r in rows if r["label"] in SEA), key=lambda r: (r["label"], r["domain"])):
        p, s = r["paragraphs"], r["sentences"]
        print(f"  {r['label']:9s} {r['domain']:15s} {'held-out' if r['held_out'] else 'trained ':8s} {'ours ' if r['ours'] else 'other'} "
              f"P {p.get('right', float('nan')):.2f}/{p.get('und', float('nan')):.2f} kept {p.get('right_kept', float('nan')):.2f} n={p['n']:3d}  S {s.get('right', float('nan')):.2f} n={s['n']:3d}  {p.get('labels', {})}")
    write_json({"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "model": str(model_dir),
                "per_group": args.per_group, "summary": summary, "groups": rows, "flores_heldout": flores_rows}, args.out)
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
