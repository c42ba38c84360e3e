"""Stdlib-only plumbing shared by the benchmark sides, which run in different virtualenvs
(the project's, datatrove's, text-dedup's) so no third-party import is allowed here.

A side is a subprocess: the driver pins it to the same CPUs as the other side, it times
its stages itself (wall and CPU seconds, so threads show up as cores used) and writes one
JSON result file the driver reads back."""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Sequence


def cpu_seconds() -> float:
    """User + system CPU of this process (all its threads) and its waited-for children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def peak_rss_mb() -> float:
    """Peak resident set size of this process (the children's largest is reported apart)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def children_peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)


class Stages:
    """Ordered per-stage timings: wall seconds, CPU seconds, docs in, docs/s, docs per CPU-second."""

    def __init__(self) -> None:
        self.stages: dict[str, dict[str, Any]] = {}

    @contextmanager
    def timed(self, name: str, docs_in: int) -> Iterator[dict[str, Any]]:
        extra: dict[str, Any] = {}
        c0, t0 = cpu_seconds(), time.perf_counter()
        yield extra
        wall, cpu = time.perf_counter() - t0, cpu_seconds() - c0
        self.stages[name] = {
            "docs_in": docs_in,
            "seconds": round(wall, 3),
            "cpu_seconds": round(cpu, 3),
            "docs_per_s": round(docs_in / wall, 1) if wall else None,
            "docs_per_cpu_s": round(docs_in / cpu, 1) if cpu else None,
            **extra,
        }

    def totals(self, n_docs: int) -> dict[str, Any]:
        wall = sum(s["seconds"] for s in self.stages.values())
        cpu = sum(s["cpu_seconds"] for s in self.stages.values())
        return {
            "end_to_end_seconds": round(wall, 3),
            "end_to_end_cpu_seconds": round(cpu, 3),
            "end_to_end_docs_per_s": round(n_docs / wall, 1) if wall else None,
            "end_to_end_docs_per_cpu_s": round(n_docs / cpu, 1) if cpu else None,
            "effective_cores": round(cpu / wall, 2) if wall else None,
        }


def side_info() -> dict[str, Any]:
    return {"python": platform.python_version(), "executable": sys.executable, "cpus_allowed": sorted(os.sched_getaffinity(0))}


def write_result(path: str | Path, result: dict[str, Any]) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def read_jsonl(paths: Sequence[str | Path]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for p in paths:
        with open(p, encoding="utf-8") as f:
            out.extend(json.loads(line) for line in f if line.strip())
    return out


def write_jsonl(path: str | Path, rows: Sequence[dict[str, Any]]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


# ---- driver side: virtualenvs and pinned subprocesses ------------------------------------

# The other tools' own virtualenvs (bench/.venv-*), never the project's.
DATATROVE_REQUIREMENTS = ["datatrove[processing]==0.10.1", "spacy>=3.8,<3.9", "orjson"]  # spaCy: its word tokenizer
TEXTDEDUP_REQUIREMENTS = ["text-dedup==0.4.1"]  # needs Python >= 3.12


def machine(cpus: Sequence[int]) -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.is_file() else []
    model = next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name")), platform.processor())
    return {"cpu_count": os.cpu_count(), "cpu_model": model, "cores_used": len(cpus), "pinned_cpus": list(cpus),
            "platform": platform.platform(), "python": platform.python_version(),
            "loadavg_1_5_15_at_end": [round(x, 2) for x in os.getloadavg()]}

def ensure_venv(venv: Path, python: str, requirements: Sequence[str], log=print) -> Path:
    """Create `venv` with `python` and pip-install `requirements` once; return its python.

    A marker file records the requirement list, so changing it reinstalls."""
    py = venv / "bin" / "python"
    marker = venv / ".bench-requirements"
    wanted = "\n".join(requirements)
    if py.is_file() and marker.is_file() and marker.read_text() == wanted:
        return py
    log(f"creating {venv} with {python}: pip install {' '.join(requirements)} (once; a few minutes)")
    subprocess.run([python, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(py), "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True)
    subprocess.run([str(py), "-m", "pip", "install", "--quiet", *requirements], check=True)
    marker.write_text(wanted)
    return py


def package_versions(py: Path, names: Sequence[str]) -> dict[str, str | None]:
    code = (
        "import json,sys\nfrom importlib.metadata import version, PackageNotFoundError\n"
        "def v(n):\n try: return version(n)\n except PackageNotFoundError: return None\n"
        "print(json.dumps({n: v(n) for n in sys.argv[1:]}))"
    )
    out = subprocess.run([str(py), "-c", code, *names], check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def pick_cpus(cores: int) -> list[int]:
    """The first `cores` CPUs this process may run on (0 = no pinning, every allowed CPU)."""
    allowed = sorted(os.sched_getaffinity(0))
    return allowed if cores <= 0 else allowed[:cores]


def run_side(cmd: Sequence[str], result_file: Path, cpus: Sequence[int], env: dict[str, str] | None = None,
             log_file: Path | None = None) -> dict[str, Any]:
    """Run one side pinned to `cpus`; return its JSON result plus the process wall time."""
    cpu_set = set(cpus)
    t0 = time.perf_counter()
    with open(log_file or os.devnull, "w") as log:
        proc = subprocess.run(list(cmd), env={**os.environ, **(env or {})}, stdout=log, stderr=subprocess.STDOUT,
                              preexec_fn=lambda: os.sched_setaffinity(0, cpu_set))
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        tail = Path(log_file).read_text(errors="replace")[-3000:] if log_file else ""
        raise RuntimeError(f"side failed (rc={proc.returncode}): {' '.join(cmd)}\n{tail}")
    result = json.loads(Path(result_file).read_text(encoding="utf-8"))
    result["process_seconds"] = round(wall, 3)
    return result
