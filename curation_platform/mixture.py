"""Training mixture: materialise a plan from the released per-language shards.

Per language: drop documents that overlap evaluation text (decontamination), hold out
a validation share by id hash, then repeat training documents by their rehydration
factor scaled to the language's token budget (deterministic: seeded by plan hash)."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import xxhash

from curation_platform.decontaminate import ContaminationIndex
from curation_platform.plan import rehydration_factor
from curation_platform.settings import language_policy
from curation_platform.storage import publish_dir, write_json, write_parquet
from curation_platform.words import words

MIXTURE_COLUMNS = ["id", "text", "lang", "corpus", "domain", "source", "locator", "dup_count", "copy", "synthetic",
                   "contributor", "allowed_pretraining", "allowed_commercial", "attribution"]


def allowed_for(df: pl.DataFrame, uses: list[str]) -> pl.DataFrame:
    """Rows whose community terms allow every use of the mixture (`pretraining`,
    `commercial`); rows without terms (web text, business data) carry null and stay."""
    for use in uses:
        col = f"allowed_{use}"
        if col in df.columns:
            df = df.filter(pl.col(col).fill_null(True))
    return df


def _unit(key: str) -> float:
    return xxhash.xxh64_intdigest(key.encode()) / 2**64


def release_language_files(release_dir: Path, lang: str) -> list[Path]:
    return sorted((release_dir / lang).glob("*.parquet"))


def synthetic_pick(synth: pl.DataFrame, budget_tokens: float) -> tuple[pl.DataFrame, int]:
    """Synthetic documents in a fixed hash order, each at most once, until the token
    budget is met: synthetic text is never repeated to fill a budget."""
    if synth.height == 0 or budget_tokens <= 0:
        return synth.head(0), 0
    synth = synth.with_columns(pl.Series("_o", [_unit(f"synth:{i}") for i in synth["id"].to_list()])).sort("_o").drop("_o")
    chosen, total = [], 0
    for i, text in enumerate(synth["text"].to_list()):
        if total >= budget_tokens:
            break
        chosen.append(i)
        total += len(words(text))
    return synth[chosen], total


def _parallel_part(parallel_dir: Path, pairs: list[str], staging: Path, contamination: ContaminationIndex | None) -> dict:
    out = {}
    for pair in pairs:
        src = parallel_dir / pair / "pairs.parquet"
        if not src.is_file():
            continue
        df = pl.read_parquet(src).sort("pair_id")
        dropped = 0
        if contamination is not None and contamination.grams:
            flags = [contamination.is_contaminated(a) or contamination.is_contaminated(b)
                     for a, b in zip(df["src_text"].to_list(), df["tgt_text"].to_list())]
            dropped = sum(flags)
            df = df.filter(~pl.Series(flags, dtype=pl.Boolean))
        write_parquet(df, staging / "parallel" / f"{pair}.parquet")
        out[pair] = {"pairs": df.height, "contaminated_dropped": dropped}
    return out


def build_mixture(release_dir: str | Path, plan: dict, loop_cfg: dict, out_root: str | Path,
                  contamination: ContaminationIndex | None = None, synthetic_dir: str | Path | None = None,
                  synthetic_share: dict | None = None, parallel_dir: str | Path | None = None) -> dict:
    """Write out_root/<plan_hash>/<lang>/{train,validation}.parquet + manifest.json; point `current` at it.

    Synthetic documents (`synthetic_dir/<lang>/synthetic.parquet`) fill at most the
    language's `max_share` of its budget (`synthetic_share`: default / languages), are
    decontaminated like real text, never repeated and never used for validation.

    Parallel pairs (`parallel_dir/<src>-<tgt>/pairs.parquet`) go in for the pairs of the
    plan's `transfer.parallel_pairs` (the typology plan's selected languages), as
    realignment data under `parallel/<pair>.parquet`, decontaminated on both sides."""
    release_dir, out_root = Path(release_dir), Path(out_root)
    mcfg = loop_cfg.get("mixture", {})
    valid_fraction = float(mcfg.get("valid_fraction", 0.05))
    uses = [str(u) for u in mcfg.get("uses", ["pretraining"])]
    table = loop_cfg.get("rehydration", [])
    plan_hash = plan["plan_hash"]
    staging = out_root / f".{plan_hash}.staging"
    if staging.exists():
        shutil.rmtree(staging)
    langs: dict[str, dict] = {}
    excluded: dict[str, int] = {}  # rows left out per language because their community terms do not allow the mixture's uses
    for lang, lp in sorted(plan["languages"].items()):
        files = release_language_files(release_dir, lang)
        if not files or lp["budget_tokens"] <= 0:
            continue
        df = pl.concat([pl.read_parquet(f) for f in files], how="diagonal_relaxed").sort("id")
        before_terms = df.height
        df = allowed_for(df, uses)
        excluded_by_terms = before_terms - df.height
        if excluded_by_terms:
            excluded[lang] = excluded_by_terms
        if df.height == 0:
            continue
        synth_file = Path(synthetic_dir) / lang / "synthetic.parquet" if synthetic_dir else None
        synth = pl.read_parquet(synth_file).sort("id") if synth_file and synth_file.exists() else pl.DataFrame(schema={"id": pl.String, "text": pl.String})
        contaminated = 0
        if contamination is not None and contamination.grams:
            flags = [contamination.is_contaminated(t) for t in df["text"].to_list()]
            sflags = [contamination.is_contaminated(t) for t in synth["text"].to_list()]
            contaminated = sum(flags) + sum(sflags)
            df, synth = df.filter(~pl.Series(flags, dtype=pl.Boolean)), synth.filter(~pl.Series(sflags, dtype=pl.Boolean))
        cap = float(language_policy(synthetic_share or {}, lang).get("share", 0.0) or 0.0)
        synth_docs, synth_tokens = synthetic_pick(synth, cap * lp["budget_tokens"])
        real_budget = lp["budget_tokens"] - synth_tokens
        units = [_unit(f"valid:{i}") for i in df["id"].to_list()]
        is_valid = pl.Series([u < valid_fraction for u in units])
        min_valid = int(mcfg.get("min_validation_docs", 1))
        if int(is_valid.sum()) < min_valid and df.height >= min_valid + 2:
            # tiny languages still get a held-out sample: the docs with the smallest hash
            cut = sorted(units)[min_valid - 1]
            is_valid = pl.Series([u <= cut for u in units])
        valid, train = df.filter(is_valid), df.filter(~is_valid)
        tokens = [len(words(t)) for t in train["text"].to_list()]
        factors = [rehydration_factor(int(d or 1), table) for d in train["dup_count"].to_list()] if "dup_count" in train.columns else [1.0] * train.height
        weighted = sum(t * f for t, f in zip(tokens, factors)) or 1
        scale = real_budget / weighted
        copies = []
        for doc_id, f in zip(train["id"].to_list(), factors):
            want = f * scale
            whole = int(want)
            # seeded by the document only: the same budget gives the same mixture under any plan hash,
            # so an unchanged allocation reproduces the same proxy score and the loop settles
            copies.append(whole + (1 if _unit(f"copy:{doc_id}") < want - whole else 0))
        train = train.with_columns(pl.Series("copies", copies, dtype=pl.Int64)).filter(pl.col("copies") > 0)
        expanded = train.with_columns(pl.int_ranges(0, pl.col("copies")).alias("copy")).explode("copy")
        order = [xxhash.xxh64_intdigest(f"{plan_hash}:{i}:{c}".encode()) for i, c in zip(expanded["id"].to_list(), expanded["copy"].to_list())]
        expanded = expanded.with_columns(pl.Series("order", order, dtype=pl.UInt64), pl.lit(False).alias("synthetic"))
        if synth_docs.height:
            synth_rows = synth_docs.with_columns(pl.lit(0, dtype=pl.Int64).alias("copy"), pl.lit(True).alias("synthetic"),
                                                 pl.lit(1, dtype=pl.Int64).alias("dup_count"))
            synth_rows = synth_rows.with_columns(pl.Series("order", [xxhash.xxh64_intdigest(f"{plan_hash}:{i}:s".encode()) for i in synth_rows["id"].to_list()], dtype=pl.UInt64))
            cols = [c for c in [*MIXTURE_COLUMNS, "order"] if c in expanded.columns and c in synth_rows.columns]
            expanded = pl.concat([expanded.select(cols), synth_rows.select(cols)], how="vertical_relaxed")
        expanded = expanded.sort("order")
        cols = [c for c in MIXTURE_COLUMNS if c in expanded.columns]
        write_parquet(expanded.select(cols), staging / lang / "train.parquet")
        valid = valid.with_columns(pl.lit(0, dtype=pl.Int64).alias("copy"), pl.lit(False).alias("synthetic"))
        write_parquet(valid.select([c for c in MIXTURE_COLUMNS if c in valid.columns]), staging / lang / "validation.parquet")
        train_tokens = sum(t * c for t, c in zip(tokens, copies)) + synth_tokens
        domains: dict[str, int] = {}
        if "domain" in expanded.columns:  # business sources label their domain; the gaps and plans read it per language
            for d, text in zip(expanded["domain"].to_list(), expanded["text"].to_list()):
                domains[d or "general"] = domains.get(d or "general", 0) + len(words(text))
        langs[lang] = {
            "train_rows": expanded.height, "train_docs": train.height, "validation_docs": valid.height,
            "train_tokens": train_tokens, "budget_tokens": lp["budget_tokens"],
            "epochs": round((train_tokens - synth_tokens) / max(1, sum(tokens)), 3), "contaminated_dropped": contaminated,
            "synthetic_docs": synth_docs.height, "synthetic_tokens": synth_tokens, "domain_tokens": domains,
            "synthetic_share": round(synth_tokens / train_tokens, 4) if train_tokens else 0.0, "synthetic_cap": cap,
            "excluded_by_terms": excluded_by_terms,
        }
    parallel = _parallel_part(Path(parallel_dir), plan.get("transfer", {}).get("parallel_pairs", []), staging, contamination) if parallel_dir else {}
    manifest = {"plan_hash": plan_hash, "uses": uses, "excluded_by_terms": excluded, "languages": langs, "parallel": parallel, "decontamination": {
        "heldout_texts": contamination.count if contamination else 0, "ngram_words": contamination.n_words if contamination else None}}
    write_json(manifest, staging / "manifest.json")
    final = publish_dir(staging, out_root / plan_hash, out_root / "current", plan_hash)
    manifest["path"] = str(final)
    return manifest
