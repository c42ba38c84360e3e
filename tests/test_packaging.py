"""A non-editable install works: the wheel maps assets/ and resources/ under
curation_platform (never as top-level modules) and carries the config and data files."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def test_wheel_layout_and_import_without_the_checkout(tmp_path):
    out = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(REPO)], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    wheel = next(tmp_path.glob("curation_platform-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.endswith(".dist-info/") and ".dist-info" not in n.split("/")[0]}
    assert tops == {"curation_platform"}
    for needed in ("curation_platform/assets/definitions.py", "curation_platform/resources/curation.py",
                   "curation_platform/config/defaults.yaml", "curation_platform/data/stopwords/ind_Latn.txt",
                   "curation_platform/data/demo/documents.json", "curation_platform/prompts/in_context.completions.txt"):
        assert needed in names
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    code = (
        "import curation_platform, curation_platform.assets.definitions as d, importlib.util as u;"
        "assert curation_platform.__file__.startswith(%r), curation_platform.__file__;"
        "assert u.find_spec('assets') is None and u.find_spec('resources') is None;"
        "from curation_platform.settings import load_config; from curation_platform.demo import load_documents;"
        "assert load_config()['dedup']['num_perm'] > 0 and len(load_documents()) >= 40;"
        "print(len(d.defs.resolve_asset_graph().get_all_asset_keys()))"
    ) % str(site)
    env = {**os.environ, "PYTHONPATH": str(site)}
    res = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "24"


def test_code_location_loads_from_the_repository_root_with_a_non_editable_install(tmp_path):
    """A deployment builds an image from the repository and runs `dagster dev -w
    workspace.yaml` from its root: the checkout's curation_platform/ (without assets/
    inside) comes first on sys.path and shadows the installed wheel. It must still load."""
    out = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(tmp_path / "site"), str(REPO)],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    import sysconfig

    # -S: no site processing, so the project venv's editable-install hook is not active;
    # its packages (dagster, polars, ...) come in as plain PYTHONPATH entries after the wheel
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path / "site"), sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])}
    code = ("import curation_platform, curation_platform.assets.definitions as d;"
            "print(curation_platform.__file__); print(len(d.defs.resolve_asset_graph().get_all_asset_keys()))")
    res = subprocess.run([sys.executable, "-S", "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    first, count = res.stdout.strip().splitlines()[-2:]
    assert first.startswith(str(REPO)) and count == "24"  # the checkout shadowed the wheel, and still loaded
    val = subprocess.run([sys.executable, "-S", "-m", "dagster", "definitions", "validate", "-w", "workspace.yaml"], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=300)
    assert val.returncode == 0, (val.stdout + val.stderr)[-3000:]


def test_polars_allocator_is_set_before_polars_loads_and_a_user_value_wins():
    """The engine sets polars' jemalloc to one arena (`curation_platform/__init__.py`) before any
    engine module imports polars: the CLI, the code location and the workers all import the
    package first. A value already in the environment is left as it is."""
    code = "import sys, os; import curation_platform.pipeline; print(os.environ['_RJEM_MALLOC_CONF'])"
    env = {k: v for k, v in os.environ.items() if k != "_RJEM_MALLOC_CONF"}
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip().endswith(",narenas:1")  # polars puts its own defaults first, ours after them
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env={**env, "_RJEM_MALLOC_CONF": "narenas:2"}, capture_output=True, text=True, check=True)
    assert out.stdout.strip().endswith(",narenas:2") and "narenas:1" not in out.stdout
    first = subprocess.run([sys.executable, "-c", "import curation_platform.assets.definitions, sys; print(list(sys.modules).index('curation_platform') < list(sys.modules).index('polars'))"],
                           cwd=REPO, env=env, capture_output=True, text=True, check=True)
    assert first.stdout.strip().splitlines()[-1] == "True"  # the code location imports the package before polars


def test_large_blocks_stay_out_of_the_heap_and_a_user_threshold_wins():
    """Importing the engine fixes glibc's mmap threshold at 1 MB (`curation_platform/__init__.py`):
    by default a freed 8 MB block raises the threshold to 8 MB, and the 2 MB blocks after it
    (batches, pickles) come from the heap, whose freed middle stays resident. A
    MALLOC_MMAP_THRESHOLD_ the user set is glibc's to apply, and is kept."""
    code = ("import curation_platform\n"
            "def heap():\n"
            "    for line in open('/proc/self/maps'):\n"
            "        if line.rstrip().endswith('[heap]'):\n"
            "            a, b = line.split()[0].split('-'); return int(b, 16) - int(a, 16)\n"
            "    return 0\n"
            "b = bytearray(8 << 20); del b\n"
            "before = heap(); kept = [bytearray(2 << 20) for _ in range(8)]; print((heap() - before) >> 20)\n")
    if not Path("/proc/self/maps").is_file() or platform.libc_ver()[0] != "glibc":
        pytest.skip("glibc's malloc on Linux only")
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_MMAP_THRESHOLD_"}
    ours = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=True)
    assert int(ours.stdout.split()[-1]) < 4  # the 16 MB were mapped, not taken from the heap
    user = subprocess.run([sys.executable, "-c", code], cwd=REPO, env={**env, "MALLOC_MMAP_THRESHOLD_": str(32 << 20)}, capture_output=True, text=True, check=True)
    assert int(user.stdout.split()[-1]) >= 16
