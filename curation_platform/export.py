"""Export a release or a training mixture in the Hugging Face datasets layout
(`<config>/<split>-NNNNN-of-NNNNN.parquet` plus a README.md dataset card whose YAML lists
one config per language), so `datasets.load_dataset(path, "jav_Latn")` reads it as is."""

from __future__ import annotations

import json
import re
import shutil
from collections import defaultdict
from pathlib import Path

import yaml

_SPLIT = re.compile(r"^(train|validation|test)(?:-\d+-of-\d+)?\.parquet$")


def export_hf(src: str | Path, out: str | Path) -> dict:
    """Copy every `<lang>/<split>[-i-of-n].parquet` of `src` (a release build or a mixture
    folder; symlinks such as `current` are followed) to `out`, renamed to the HF shard
    pattern, with a card. The folder appears whole or not at all (staging + rename)."""
    src, out = Path(src).resolve(), Path(out)
    if not src.is_dir():
        raise FileNotFoundError(f"{src}: no release or mixture folder to export")
    files: dict[tuple[str, str], list[Path]] = defaultdict(list)
    for f in sorted(src.glob("*/*.parquet")):
        m = _SPLIT.match(f.name)
        if m:
            files[(f.parent.name, m.group(1))].append(f)
    if not files:
        raise ValueError(f"{src}: no <language>/<split>*.parquet files (is this a release build or a mixture folder?)")
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} exists and is not empty; choose a new folder")
    staging = out.with_name(f".{out.name}.staging")
    shutil.rmtree(staging, ignore_errors=True)
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    for (lang, split), parts in sorted(files.items()):
        for i, f in enumerate(parts):
            dest = staging / lang / f"{split}-{i:05d}-of-{len(parts):05d}.parquet"
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(f, dest)
        counts[lang][split] = len(parts)
    (staging / "README.md").write_text(_card(src, counts), encoding="utf-8")
    for extra in ("manifest.json",):
        if (src / extra).is_file():
            shutil.copyfile(src / extra, staging / extra)
    if out.exists():
        out.rmdir()
    staging.rename(out)
    return {"path": str(out), "configs": sorted(counts), "files": sum(sum(v.values()) for v in counts.values())}


def _card(src: Path, counts: dict[str, dict[str, int]]) -> str:
    """The source's own card with its YAML `configs` rewritten to this layout; a new card
    (from manifest.json when present) otherwise."""
    configs = [{"config_name": lang, "data_files": [{"split": split, "path": f"{lang}/{split}-*.parquet"} for split in sorted(splits)]}
               for lang, splits in sorted(counts.items())]
    body, meta = "", {}
    card = src / "README.md"
    if card.is_file():
        text = card.read_text("utf-8")
        if text.startswith("---\n") and "\n---\n" in text[4:]:
            head, body = text[4:].split("\n---\n", 1)
            meta = yaml.safe_load(head) or {}
        else:
            body = text
    else:
        manifest = json.loads((src / "manifest.json").read_text("utf-8")) if (src / "manifest.json").is_file() else {}
        body = (f"\n# Training mixture `{manifest.get('plan_hash', src.name)}`\n\nExported by `curate export` from `{src}`.\n"
                "Per-language rows follow the mixture plan (weights, boosts and epochs are in manifest.json).\n")
        meta = {"task_categories": ["text-generation"]}
    meta["configs"] = configs
    return "---\n" + yaml.safe_dump(meta, sort_keys=False, allow_unicode=True) + "---\n" + body
