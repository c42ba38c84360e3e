"""curation_platform: the engine. Plain Python over polars frames and files; no Dagster
imports here (the asset graph lives in `assets/`, installed as curation_platform.assets)."""

__version__ = "0.1.0"

import os as _os

# polars allocates through its own jemalloc, which by default keeps an arena per thread
# group (4 per core) and gives an arena's freed pages back to the system only as that
# arena allocates again: the pages one phase freed in one arena stay resident while the
# next phase allocates in another. One arena lets the next phase reuse them. Measured
# (`bench/memory.py --n 10000 --scales 1,10`): the 10x peak 376 -> 338 MB (growth 1.38 ->
# 1.24), CPU unchanged. polars reads this variable as it is imported (adding its own decay
# defaults before it), so it is set here, before any engine module imports polars; a value
# already in the environment is kept.
_os.environ.setdefault("_RJEM_MALLOC_CONF", "narenas:1")

# glibc's malloc (Python objects over 512 bytes, numpy, fastText, pickles) serves a block
# above its mmap threshold from a mapping of its own, returned whole when freed; but the
# threshold grows with every such block freed (up to 32 MB), so the batches a stage
# passes around (a few MB each) end up in the heap, whose freed middle is never returned.
# A fixed 1 MB threshold keeps them mapped. Measured (`curate label`, 50k documents): the
# process tree's peak PSS with 2 workers 630 -> 557 MB, with 1 worker 346 -> 328 MB. A
# value the user set (MALLOC_MMAP_THRESHOLD_, read by glibc at start) is kept.
_MMAP_THRESHOLD = 1 << 20


def _fix_mmap_threshold() -> None:
    if "MALLOC_MMAP_THRESHOLD_" in _os.environ:
        return
    try:
        import ctypes

        ctypes.CDLL(None).mallopt(-3, _MMAP_THRESHOLD)  # M_MMAP_THRESHOLD; absent outside glibc
    except (OSError, AttributeError):
        pass


_fix_mmap_threshold()

_here = _os.path.dirname(_os.path.abspath(__file__))
_root = _os.path.dirname(_here)
if not _os.path.isdir(_os.path.join(_here, "assets")) and _os.path.isfile(_os.path.join(_root, "assets", "definitions.py")):
    # Imported from a source checkout (the repository root on sys.path shadows an installed
    # copy, as `dagster dev -w workspace.yaml` run from the root does): the checkout's
    # assets/ and resources/ are this package's subpackages, as the wheel installs them.
    __path__.append(_root)  # noqa: F821  (the package's own search path)
