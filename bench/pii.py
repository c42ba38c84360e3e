"""PII of the region: recall per identifier type, names and addresses in five languages,
look-alike numbers destroyed, clean FLORES sentences changed, and throughput.

    python bench/pii.py [--n 200] [--out bench/results/pii.json]

Values are planted into real FLORES-200 devtest sentences (lines 507-1012) of the
language their context words are in (Indonesian, Malay, Tagalog, Vietnamese, Thai,
English); each identifier is valid for its type (checksum, dates, region codes). A value
counts as found when it no longer appears in the redacted sentence; its placeholder's
type is reported too. With presidio-analyzer installed, the same identifier patterns run
as Presidio PatternRecognizers for a throughput comparison."""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from curation_platform.pii import PLACEHOLDERS, WEB_TYPES, redact  # noqa: E402
from curation_platform.pii.plant import ADDRESS_INTRO, ADDRESSES, FIRST, IDS, LAST, LOOKALIKES, NAMES, STREETS, THAI_NAMES  # noqa: E402
from curation_platform.storage import write_json  # noqa: E402

FLORES = {"ind": "ind_Latn", "zsm": "zsm_Latn", "tgl": "tgl_Latn", "vie": "vie_Latn", "tha": "tha_Thai", "eng": "eng_Latn"}


def sentences(data: Path, code: str) -> list[str]:
    return [s for s in (data / "flores200" / "devtest" / f"{code}.devtest").read_text("utf-8").splitlines()[506:] if s.strip()]


def plant(rng: random.Random, base: list[str], phrase: str) -> str:
    s = rng.choice(base)
    return f"{s} {phrase}." if rng.random() < 0.5 else f"{phrase}. {s}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200, help="planted values per type (default 200)")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "pii.json")
    ap.add_argument("--data", type=Path, default=Path(os.environ.get("CURATION_TEST_DATA") or REPO.parent / "shared" / "data"))
    args = ap.parse_args()
    rng = random.Random(0)
    base = {lang: sentences(args.data, code) for lang, code in FLORES.items()}
    result: dict = {"n": args.n, "timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds"), "ids": {}, "lookalikes": {}}

    print(f"\nidentifiers planted in FLORES sentences ({args.n} per type)\n\n{'type':<12} {'recall':>7} {'right type':>10}")
    planted_all = []
    for kind, (gen, templates) in IDS.items():
        found = typed = 0
        for _ in range(args.n):
            lang = rng.choice(sorted(templates))
            value = gen(rng)
            text = plant(rng, base[lang], rng.choice(templates[lang]).format(value))
            planted_all.append(text)
            out, _ = redact(text)
            found += value not in out
            typed += PLACEHOLDERS[kind] in out
        result["ids"][kind] = {"recall": round(found / args.n, 4), "type_accuracy": round(typed / args.n, 4)}
        print(f"{kind:<12} {found / args.n:>7.3f} {typed / args.n:>10.3f}")
    recalls = [v["recall"] for v in result["ids"].values()]
    result["id_recall_mean"], result["id_recall_min"] = round(sum(recalls) / len(recalls), 4), min(recalls)

    print(f"\nlook-alike numbers destroyed ({args.n} each)")
    for kind, gen in LOOKALIKES.items():
        destroyed = 0
        for _ in range(args.n):
            phrase = gen(rng)
            text = plant(rng, base[rng.choice(sorted(base))], phrase)
            destroyed += phrase not in redact(text)[0]
        result["lookalikes"][kind] = round(destroyed / args.n, 4)
        print(f"  {kind:<10} {destroyed / args.n:.3f}")

    result["names"], result["addresses"] = {}, {}
    print(f"\nnames and addresses ({args.n} each per language): recall")
    for lang in NAMES:
        hit = 0
        for _ in range(args.n):
            name = rng.choice(THAI_NAMES) if lang == "tha" else f"{rng.choice(FIRST)} {rng.choice(LAST)}"
            text = plant(rng, base[lang], rng.choice(NAMES[lang]).format(name).rstrip("."))
            out = redact(text)[0]
            hit += all(part not in out for part in name.split())
        addr_hit = 0
        for _ in range(args.n):
            street, n = rng.choice(STREETS), rng.randrange(1, 300)
            addr = rng.choice(ADDRESSES[lang]).format(street=street, n=n, pc5=f"{rng.randrange(10000, 99999)}", pc4=f"{rng.randrange(1000, 9999)}")
            text = plant(rng, base[lang], ADDRESS_INTRO[lang].format(addr).rstrip("."))
            out = redact(text)[0]
            addr_hit += (street not in out or lang == "tha") and f"{n} " not in out and not any(t.isdigit() and len(t) >= 4 and t in out for t in addr.replace(",", " ").split())
        result["names"][lang] = round(hit / args.n, 4)
        result["addresses"][lang] = round(addr_hit / args.n, 4)
        print(f"  {lang}: names {hit / args.n:.3f}  addresses {addr_hit / args.n:.3f}")

    print("\nclean FLORES devtest sentences changed (all 20 languages, lines 507-1012)")
    clean = [s for p in sorted((args.data / "flores200" / "devtest").glob("*.devtest")) for s in p.read_text("utf-8").splitlines()[506:] if s.strip()]
    for name, types in (("web defaults", WEB_TYPES), ("all types (business)", None)):
        changed = [s for s in clean if redact(s, types)[0] != s]
        result.setdefault("clean_changed", {})[name] = round(len(changed) / len(clean), 5)
        print(f"  {name:<22} {len(changed) / len(clean):.4f} ({len(changed)} of {len(clean)})" + (f"  e.g. {redact(changed[0], types)[0][:90]!r}" if changed else ""))

    texts = clean + planted_all
    t0 = time.perf_counter()
    for t in texts:
        redact(t)
    rate = len(texts) / (time.perf_counter() - t0)
    result["sentences_per_s"] = round(rate, 1)
    print(f"\nthroughput, rule backend, one process: {rate:,.0f} sentences/s")
    result["presidio_sentences_per_s"] = presidio_rate(texts)
    if result["presidio_sentences_per_s"]:
        print(f"the same identifier patterns as Presidio PatternRecognizers: {result['presidio_sentences_per_s']:,.0f} sentences/s")
    write_json(result, args.out)
    print(f"wrote {args.out}")


def presidio_rate(texts: list[str]) -> float | None:
    """Our identifier patterns and context words as Presidio PatternRecognizers (no NLP
    engine: Presidio's regex + context path), sentences/s; None without presidio-analyzer."""
    try:
        from presidio_analyzer import Pattern, PatternRecognizer
    except ImportError:
        print("\n(presidio-analyzer not installed: pip install presidio-analyzer for the comparison)")
        return None
    from curation_platform.pii.ids import RECOGNIZERS

    recs = [PatternRecognizer(supported_entity=r.entity, patterns=[Pattern(f"{r.entity}_{i}", p.pattern, max(s, 0.01)) for i, (p, s) in enumerate(r.patterns)],
                              context=[]) for r in RECOGNIZERS]
    t0 = time.perf_counter()
    for t in texts:
        for r in recs:
            r.analyze(t, [r.supported_entities[0]], None)
    return round(len(texts) / (time.perf_counter() - t0), 1)


if __name__ == "__main__":
    main()
