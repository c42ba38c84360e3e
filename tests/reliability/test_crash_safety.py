"""Crash safety: a stage killed with SIGKILL in the middle of its work leaves no partial
output where readers look (atomic renames; a release is a symlink swap), and the rerun
produces byte-identical files to an uninterrupted run."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

CURATE = str(Path(sys.executable).parent / "curate")


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): _digest(p) for p in sorted(root.rglob("*")) if p.is_file() and not p.name.startswith(".")}


@pytest.fixture(scope="module")
def big_jsonl(tmp_path_factory, flores_codes, flores) -> Path:
    """~24k documents (FLORES sentences of 20 languages, in 4-sentence documents, repeated
    with a suffix so labelling takes several seconds)."""
    path = tmp_path_factory.mktemp("crash") / "in.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        n = 0
        for rep in range(12):
            for code in flores_codes:
                lines = flores(code)
                for i in range(0, 400, 4):
                    fh.write(json.dumps({"id": f"{code}-{rep}-{i}", "text": " ".join(lines[i : i + 4]) + f" ({rep})"}, ensure_ascii=False) + "\n")
                    n += 1
    return path


def _kill_midway(args: list[str], out: Path, after_s: float) -> None:
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(after_s)
    assert proc.poll() is None, "the stage finished before it could be killed: give it more input"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not out.exists()  # nothing half-written where readers look


@pytest.mark.parametrize("command", ["label", "dedup"])
def test_killed_cli_stage_reruns_to_identical_bytes(command, big_jsonl, tmp_path):
    ref, out = tmp_path / "ref.parquet", tmp_path / "out.parquet"
    t0 = time.time()
    done = subprocess.run([CURATE, command, str(big_jsonl), str(ref)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    took = time.time() - t0
    _kill_midway([CURATE, command, str(big_jsonl), str(out)], out, after_s=min(took * 0.6, max(2.5, took * 0.4)))
    assert subprocess.run([CURATE, command, str(big_jsonl), str(out)], capture_output=True).returncode == 0
    assert _digest(out) == _digest(ref)


DRIVER = """
import sys
from pathlib import Path
from curation_platform.pipeline import construct_corpus, dedup_corpus, label_shard, parse_shard, standardize_shard
from curation_platform.settings import load_config
from curation_platform.storage import Layout
layout, cfg, src = Layout(sys.argv[1]).ensure(), load_config(), Path(sys.argv[2])
p, s, l = (layout.stage_file("web_crawl", st, "x") for st in ("parsed", "standardized", "labelled"))
for path, fn in ((p, lambda: parse_shard(src, p, layout.quarantine("web_crawl") / "x.parquet")), (s, lambda: standardize_shard(p, s, cfg)),
                 (l, lambda: label_shard(s, l, cfg)), (layout.dedup_file(), lambda: dedup_corpus([l], layout.dedup_file(), cfg, index_dir=layout.dedup_keys_dir()))):
    if not path.exists():   # a rerun resumes: finished stages are not redone
        fn()
construct_corpus([l], layout.dedup_file(), layout.release_dir(), cfg)
"""


def test_killed_spine_resumes_to_an_identical_release(big_jsonl, tmp_path):
    """The whole file-level spine (parse -> construct) killed at several points: every
    rerun completes to the same lake files and the same release as an uninterrupted run."""
    ref_root, root = tmp_path / "ref", tmp_path / "crashed"
    t0 = time.time()
    assert subprocess.run([sys.executable, "-c", DRIVER, str(ref_root), str(big_jsonl)], capture_output=True).returncode == 0
    took = time.time() - t0
    for frac in (0.2, 0.5, 0.8):
        proc = subprocess.Popen([sys.executable, "-c", DRIVER, str(root), str(big_jsonl)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(took * frac)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        current = root / "release" / "current"
        assert not current.exists() or (current.resolve() / "manifest.json").is_file()  # a release is whole or absent
    assert subprocess.run([sys.executable, "-c", DRIVER, str(root), str(big_jsonl)], capture_output=True).returncode == 0
    assert _tree(root / "lake") == _tree(ref_root / "lake")
    assert _tree((root / "release" / "current").resolve()) == _tree((ref_root / "release" / "current").resolve())
    assert os.readlink(root / "release" / "current") == os.readlink(ref_root / "release" / "current")
