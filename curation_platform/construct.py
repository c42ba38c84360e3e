"""Construct: per-language release shards, a manifest and a data card.

A release is built in a fresh folder named by its content hash and published by
swapping the `current` symlink, so readers see either the old or the new release,
never a half-written one, and a rerun on the same input rebuilds the same folder."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Iterator

import polars as pl
import xxhash

from curation_platform.settings import config_hash
from curation_platform.pii import pii_card_lines, redact_release
from curation_platform.storage import publish_dir, write_json, write_parquet, write_text
from curation_platform.taggers import release_columns
from curation_platform.words import words

RELEASE_COLUMNS = ["id", "text", "lang", "script", "lang_score", "corpus", "source", "locator", "license", "fetched_at", "synthetic", "dup_count", "domain",
                   "contributor", "allowed_pretraining", "allowed_commercial", "attribution"]


def _split(ids: pl.Series, valid_fraction: float) -> pl.Series:
    if valid_fraction <= 0:
        return pl.Series("split", ["train"] * len(ids))
    cut = int(valid_fraction * 10_000)
    return pl.Series("split", ["validation" if xxhash.xxh64_intdigest(i.encode()) % 10_000 < cut else "train" for i in ids.to_list()])


def _tokens(part: pl.DataFrame) -> int:
    """Word tokens of a frame: the label stage's `n_words` signal counted them with the same
    tokenizer (re-tokenizing the released text was most of construct's time)."""
    if "signals" in part.columns and "n_words" in {f.name for f in part.schema["signals"].fields} and part["signals"].struct.field("n_words").null_count() == 0:
        return int(part["signals"].struct.field("n_words").sum())
    return sum(len(words(t)) for t in part["text"].to_list())


def final_frame(labelled: pl.LazyFrame, dedup: pl.LazyFrame) -> pl.LazyFrame:
    """Every labelled row with its dedup decision and the final keep (policy AND dedup)."""
    d = dedup.select("id", "cluster_id", "dup_count", pl.col("keep").alias("dedup_keep"))
    return (
        labelled.join(d, on="id", how="left")
        .with_columns(
            pl.col("dup_count").fill_null(1),
            (pl.col("keep") & pl.col("dedup_keep").fill_null(True)).alias("final_keep"),
            pl.when(pl.col("keep") & ~pl.col("dedup_keep").fill_null(True)).then(pl.lit("duplicate")).otherwise(pl.col("drop_reason")).alias("final_reason"),
        )
    )


def language_summary(meta: pl.DataFrame) -> pl.DataFrame:
    """Docs in, kept by policy, kept after dedup, retention, per language (`meta`: the
    final frame without text, with `n_chars`)."""
    return (
        meta.group_by("lang")
        .agg(
            pl.len().alias("docs_in"),
            pl.col("keep").sum().alias("kept_policy"),
            pl.col("final_keep").sum().alias("kept_final"),
            pl.col("n_chars").filter(pl.col("final_keep")).sum().alias("chars"),
        )
        .with_columns((pl.col("kept_final") / pl.col("docs_in")).round(4).alias("retention"))
        .sort(["kept_final", "lang"], descending=[True, False])
    )


def release_meta(labelled: pl.LazyFrame, dedup: pl.LazyFrame) -> pl.DataFrame:
    """The final frame without text (one row per id): what counts, hashes and the card need.
    Text is reduced to its length before the join, so no text is held for the corpus."""
    cols = labelled.collect_schema().names()
    extra = [c for c in ("license", "source", "corpus", "attribution", "allowed_pretraining", "allowed_commercial") if c in cols]
    small = labelled.select("id", "lang", "keep", "drop_reason", *extra, pl.col("text").str.len_chars().alias("n_chars"))
    return (final_frame(small, dedup).select("id", "lang", "keep", "final_keep", "final_reason", *extra, "n_chars")
            .unique(subset="id", keep="first", maintain_order=True).collect(engine="streaming"))


def _kept_parts(labelled: pl.LazyFrame, dedup: pl.LazyFrame, langs: list[str], spill: Path, rows: int) -> Iterator[tuple[str, pl.DataFrame]]:
    """(language, its kept rows, unique by id, sorted by id), language by language, from one
    pass over the labelled rows: `rows` at a time, each language's kept rows are spilled to
    its own folder under `spill`, then read back one language at a time. Filtering the
    corpus once per language decompressed every row group's text each time (a release of
    200 languages read its corpus 200 times); memory holds one slice or one language."""
    index = {lang: i for i, lang in enumerate(langs)}  # folder names: a language code is data
    d = dedup.select("id", "cluster_id", "dup_count", "keep").collect()  # no text: what `meta` already holds per id
    total = labelled.select(pl.len()).collect().item()
    spilled: dict[str, list[Path]] = {lang: [] for lang in langs}
    shutil.rmtree(spill, ignore_errors=True)  # an interrupted build's
    try:
        for c, start in enumerate(range(0, total, rows)):
            chunk = (final_frame(labelled.slice(start, rows), d.lazy()).filter(pl.col("final_keep") & pl.col("lang").is_in(langs))
                     .collect(engine="streaming"))
            for lang in chunk["lang"].unique(maintain_order=True).to_list():  # one language's copy at a time
                path = spill / f"{index[lang]:05d}" / f"{c:06d}.parquet"
                path.parent.mkdir(parents=True, exist_ok=True)
                chunk.filter(pl.col("lang") == lang).write_parquet(path, compression="lz4", statistics=False)
                spilled[lang].append(path)
            del chunk
        for lang in langs:
            part = pl.concat([pl.read_parquet(f) for f in spilled[lang]], how="vertical_relaxed")
            shutil.rmtree(spill / f"{index[lang]:05d}")
            yield lang, part.unique(subset="id", keep="first", maintain_order=True).sort("id")
    finally:
        shutil.rmtree(spill, ignore_errors=True)


def build_release(labelled: pl.LazyFrame, dedup: pl.LazyFrame, release_root: str | Path, cfg: dict) -> tuple[dict, pl.DataFrame]:
    """Write release_root/builds/<hash>/<lang>/<split>-NNNNN.parquet + manifest + card; point
    `current` at it. Streams: the corpus is scanned without text for the counts, then once
    with text (`construct.read_rows` at a time), each language's kept rows spilled to disk
    and written from there one language at a time."""
    ccfg = cfg.get("construct", {})
    release_root = Path(release_root)
    meta = release_meta(labelled, dedup)
    kept = meta.filter(pl.col("final_keep")).sort("id")
    min_docs = int(ccfg.get("min_docs_per_language", 1))
    counts = kept.group_by("lang").len()
    langs = sorted(counts.filter(pl.col("len") >= min_docs)["lang"].to_list())
    content = xxhash.xxh64("\n".join(kept["id"].to_list()).encode())
    content.update(config_hash(cfg).encode())
    build_id = content.hexdigest()[:16]
    build_dir = release_root / "builds" / build_id
    staging = release_root / "builds" / f".{build_id}.staging"
    if staging.exists():
        shutil.rmtree(staging)
    shard_rows = int(ccfg.get("shard_rows", 100_000))
    columns = [*RELEASE_COLUMNS, *(c for c in release_columns(cfg) if c not in RELEASE_COLUMNS)]  # taggers configured with `release: true`
    files, per_lang, pii = [], {}, {}
    spill = release_root / "builds" / f".{build_id}.spill"
    for lang, part in _kept_parts(labelled, dedup, langs, spill, int(ccfg.get("read_rows", 4_000))):
        part = part.with_columns(_split(part["id"], float(ccfg.get("valid_fraction", 0.0))))
        redacted, counts = redact_release(part["text"].to_list(), part["corpus"].to_list() if "corpus" in part.columns else [None] * part.height, cfg)
        part = part.with_columns(pl.Series("text", redacted, dtype=pl.String))
        pii[lang] = dict(sorted(counts.items()))
        tokens = _tokens(part)
        per_lang[lang] = {"docs": part.height, "chars": int(part["text"].str.len_chars().sum()), "tokens": tokens}
        for split in ("train", "validation"):
            sp = part.filter(pl.col("split") == split).select([c for c in columns if c in part.columns])
            n_shards = max(1, -(-sp.height // shard_rows)) if sp.height else 0
            for s in range(n_shards):
                chunk = sp.slice(s * shard_rows, shard_rows)
                rel = f"{lang}/{split}-{s:05d}-of-{n_shards:05d}.parquet"
                write_parquet(chunk, staging / rel)
                files.append({"path": rel, "lang": lang, "split": split, "rows": chunk.height, "bytes": (staging / rel).stat().st_size})
        del part
    summary = language_summary(meta)
    reasons = (
        meta.filter(~pl.col("final_keep")).group_by("lang", "final_reason").len().sort(["lang", "len", "final_reason"], descending=[False, True, False])
    )
    manifest = {
        "build_id": build_id,
        "config_hash": config_hash(cfg),
        "docs_in": meta.height,
        "docs_released": kept.height,
        "languages": per_lang,
        "files": files,
        "drop_reasons": {f"{r['lang']}:{r['final_reason']}": r["len"] for r in reasons.iter_rows(named=True)},
        "pii_redacted": {lang: c for lang, c in pii.items() if c},
    }
    write_json(manifest, staging / "manifest.json")
    write_text(data_card(manifest, summary, reasons, kept, cfg), staging / "README.md")
    publish_dir(staging, build_dir, release_root / "current", Path("builds") / build_id)
    manifest["path"] = str(build_dir)
    return manifest, summary


def _size_category(n: int) -> str:
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"), (10_000_000, "1M<n<10M")):
        if n < limit:
            return name
    return "n>10M"


def _filters(cfg: dict, langs: list[str]) -> list[str]:
    """The policy as applied: default thresholds, then what differs for released languages."""
    from curation_platform.settings import language_policy

    pol = cfg.get("policy", {})
    default = {k: v for k, v in (pol.get("default") or {}).items() if v is not None}
    out = ["| rule | default | languages with another value |", "|---|---|---|"]
    for key in sorted(set(default) | {k for lang in langs for k in language_policy(pol, lang)}):
        others = {lang: language_policy(pol, lang).get(key) for lang in langs}
        diff = ", ".join(f"{lang}: {'off' if v is None else v}" for lang, v in others.items() if v != default.get(key))
        out.append(f"| `{key}` | {default.get(key, 'off')} | {diff or '-'} |")
    d = cfg.get("dedup", {})
    out += ["", f"Deduplication: exact (normalised text), then MinHash word {d.get('ngram')}-grams, {d.get('bands')} bands x {d.get('rows')} rows, "
            f"verified at estimated Jaccard >= {d.get('threshold')}; one survivor per cluster (the longest copy)."]
    q = cfg.get("quality_model") or {}
    out.append(f"Quality classifier: `apply: {q.get('apply', 'auto')}` (its score is recorded as the `quality_model` signal when a model exists).")
    return out


LIMITATIONS = [
    "Language labels come from fastText models; Indonesian and Standard Malay share much of their written form and are the least "
    "reliable pair at sentence level (F1 0.81 / 0.86 on FLORES with the trained router), and close languages without a trained model fall back "
    "to the stock lid.176 labels.",
    "Heuristic quality rules were designed for languages written with spaces; scripts without spaces use per-script overrides (listed above), "
    "and thresholds calibrated on edited reference text (`curate calibrate`) only loosen rules.",
    "Near-duplicates with more than ~5 % of words edited are below the MinHash threshold and stay as separate documents.",
    "PII is found by rules (identifiers validated by checksum or structure, names and addresses by context words): "
    "a name without a title or self-introduction, or an identifier written in an unusual format, can stay.",
]


def data_card(manifest: dict, summary: pl.DataFrame, reasons: pl.DataFrame, kept: pl.DataFrame, cfg: dict | None = None) -> str:
    """A Hugging Face dataset card: YAML metadata (configs per language, languages,
    licences, size), then sources, counts, the filters with their thresholds, why
    documents were dropped, licences and known limitations."""
    cfg = cfg or {}
    langs = sorted(manifest["languages"])
    licenses = sorted({str(x) for x in kept["license"].to_list() if x}) if kept.height and "license" in kept.columns else []
    lines = ["---", "language:"] + [f"- {code.split('_')[0]}" for code in sorted({lang.split("_")[0] for lang in langs}) if code != "und"]
    lines += ["license:"] + [f"- {lic.lower()}" for lic in licenses] if licenses else ["license: other"]
    lines += ["task_categories:", "- text-generation", "size_categories:", f"- {_size_category(manifest['docs_released'])}", "configs:"]
    for lang in langs:
        lines += [f"- config_name: {lang}", "  data_files:"]
        for split in ("train", "validation"):
            if any(f["lang"] == lang and f["split"] == split for f in manifest["files"]):
                lines += [f"  - split: {split}", f"    path: {lang}/{split}-*.parquet"]
    lines += ["---", "", f"# Curated corpus release `{manifest['build_id']}`", "",
              f"{manifest['docs_released']} documents released out of {manifest['docs_in']} parsed "
              f"(config `{manifest['config_hash']}`). Built by curation_platform: parse -> standardize -> "
              "label (fastText language id, Gopher/C4/FineWeb heuristics) -> policy -> exact + MinHash dedup -> construct."]
    if kept.height and "source" in kept.columns:
        by = kept.group_by(*[c for c in ("corpus", "source") if c in kept.columns]).len().sort("len", descending=True).head(20)
        lines += ["", "## Sources", "", "| " + " | ".join(by.columns[:-1]) + " | released docs |", "|" + "---|" * len(by.columns)]
        lines += ["| " + " | ".join(str(v) for v in r) + " |" for r in by.iter_rows()]
    if kept.height and "attribution" in kept.columns and kept["attribution"].drop_nulls().len():
        att = kept.filter(pl.col("attribution").is_not_null()).group_by("source", "attribution", "allowed_pretraining", "allowed_commercial").len().sort("source")
        lines += ["", "## Community sources: attributions and allowed uses", "",
                  "| source | attribution | pre-training | commercial | released docs |", "|---|---|---|---|---:|"]
        lines += [f"| {r['source']} | {r['attribution']} | {'yes' if r['allowed_pretraining'] else 'no'} | {'yes' if r['allowed_commercial'] else 'no'} | {r['len']} |"
                  for r in att.iter_rows(named=True)]
        lines += ["", "Mixtures are built only from rows whose allowed uses include the mixture's uses (`loop.mixture.uses`)."]
    lines += ["", "## Languages", "", "| language | docs in | kept by policy | released | retention | characters | tokens |", "|---|---:|---:|---:|---:|---:|---:|"]
    for r in summary.iter_rows(named=True):
        tok = manifest["languages"].get(r["lang"], {}).get("tokens", 0)
        lines.append(f"| {r['lang']} | {r['docs_in']} | {r['kept_policy']} | {r['kept_final']} | {r['retention']:.1%} | {r['chars'] or 0} | {tok} |")
    lines += ["", "Tokens are word tokens (characters in scripts written without spaces).", "", "## Filters applied", ""]
    lines += _filters(cfg, langs) if cfg else ["(configuration not recorded)"]
    lines += ["", "## Why documents were dropped", "", "| language | reason | docs |", "|---|---|---:|"]
    for r in reasons.iter_rows(named=True):
        lines.append(f"| {r['lang']} | {r['final_reason']} | {r['len']} |")
    lines += ["", "## PII redacted in this release", ""]
    pii = manifest.get("pii_redacted") or {}
    lines += [f"Types per corpus: {', '.join(f'{k}: {v}' for k, v in sorted(((cfg or {}).get('pii') or {}).get('corpora', {}).items()))}.", ""]
    lines += pii_card_lines(pii)
    lines += ["", "## Licences of released documents", "", ", ".join(licenses) or "none recorded", "",
              "Documents keep their source, locator (URL) and fetch time; check each source's terms before redistribution.", "",
              "## Known limitations", ""] + [f"- {x}" for x in LIMITATIONS] + [""]
    return "\n".join(lines)
