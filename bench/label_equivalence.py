"""The label stage's output on fixed corpora, for comparing two checkouts byte for byte
(a refactor of the stage must not change a label, a signal or a decision).

    python bench/label_equivalence.py write --repo ../old-checkout --out /tmp/ref
    python bench/label_equivalence.py write --out /tmp/new
    python bench/label_equivalence.py compare /tmp/ref /tmp/new

Corpora: the vs-datatrove documents (--n, FLORES + UDHR with planted duplicates, junk
and web copies), clean FLORES paragraphs and mixed documents (a target language with
English sentences) of 20 languages with code-switch targets and hints on, so every
language rule (hint, script, segments, routing) is exercised."""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
LANGS = ["ace_Latn", "ban_Latn", "ceb_Latn", "eng_Latn", "hin_Deva", "ind_Latn", "jav_Latn", "jpn_Jpan", "khm_Khmr", "kor_Hang",
         "lao_Laoo", "min_Latn", "mya_Mymr", "sun_Latn", "swh_Latn", "tgl_Latn", "tha_Thai", "vie_Latn", "zho_Hans", "zsm_Latn"]


def corpora(n: int, data: Path):
    import polars as pl

    from curation_platform.langid_eval import flores_lines, paragraphs
    from vs_datatrove import corpus

    docs = corpus(n, data)
    yield "spine", pl.DataFrame({"id": [d["id"] for d in docs], "text": [d["text"] for d in docs]}), {}
    rng = random.Random(3)
    eng = flores_lines(data, "eng_Latn")
    texts, hints = [], []
    for lang in LANGS:
        lines = flores_lines(data, lang)
        for i, para in enumerate(paragraphs(lines[:200], 5)):
            texts.append(para)
            hints.append(lang.split("_")[0] if i % 3 == 0 else (rng.choice(LANGS).split("_")[0] if i % 3 == 1 else None))
        for i in range(0, 160, 8):
            sents = lines[200 + i : 208 + i] + rng.sample(eng, 3)
            rng.shuffle(sents)
            texts.append(" ".join(sents) if i % 16 else "\n".join(sents))
            hints.append(None)
    frame = pl.DataFrame({"id": [f"m{i}" for i in range(len(texts))], "text": texts, "lang_hint": hints})
    yield "languages", frame, {"codeswitch": {"targets": ["jav", "sun", "tgl", "ceb", "ace"], "min_share": 0.3}}


def write(args: argparse.Namespace) -> None:
    sys.path[:0] = [str(args.repo.resolve()), str(BENCH)]
    from curation_platform.label import label_frame
    from curation_platform.settings import load_config
    from curation_platform.standardize import standardize_frame
    from spine import default_data

    args.out.mkdir(parents=True, exist_ok=True)
    for name, df, over in corpora(args.n, default_data()):
        cfg = load_config()
        for k, v in over.items():
            cfg[k] = {**cfg.get(k, {}), **v}
        out = label_frame(standardize_frame(df, cfg["standardize"]), cfg)
        out.write_parquet(args.out / f"{name}.parquet")
        print(f"{name}: {out.height} rows, {int(out['keep'].sum())} kept -> {args.out / (name + '.parquet')}")


def compare(args: argparse.Namespace) -> None:
    import polars as pl
    from polars.testing import assert_frame_equal

    report = {}
    for ref in sorted(args.a.glob("*.parquet")):
        a, b = pl.read_parquet(ref), pl.read_parquet(args.b / ref.name)
        diff = {}
        for col in a.columns:
            if col not in b.columns:
                diff[col] = "missing"
                continue
            if a.schema[col] != b.schema[col]:
                diff[col] = f"dtype {a.schema[col]} vs {b.schema[col]}"
                continue
            ne = a.with_row_index("row").join(b.with_row_index("row"), on="row", suffix="_b").filter(
                pl.col(col).ne_missing(pl.col(f"{col}_b")) if a.schema[col] != pl.Struct else pl.col(col).struct.json_encode().ne_missing(pl.col(f"{col}_b").struct.json_encode()))
            if ne.height:
                diff[col] = ne.height
        extra = [c for c in b.columns if c not in a.columns]
        report[ref.stem] = {"rows": a.height, "differing_rows_per_column": diff, "new_columns": extra}
        try:
            assert_frame_equal(a, b.select(a.columns))
            report[ref.stem]["equal"] = True
        except AssertionError:
            report[ref.stem]["equal"] = False
    print(json.dumps(report, indent=1))
    if not all(r["equal"] for r in report.values()):
        raise SystemExit(1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("write")
    w.add_argument("--repo", type=Path, default=BENCH.parent)
    w.add_argument("--n", type=int, default=5000)
    w.add_argument("--out", type=Path, required=True)
    c = sub.add_parser("compare")
    c.add_argument("a", type=Path)
    c.add_argument("b", type=Path)
    args = ap.parse_args()
    write(args) if args.cmd == "write" else compare(args)


if __name__ == "__main__":
    main()
