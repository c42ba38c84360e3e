"""The locks in requirements/ are what runs: the test environment and Label Studio's equal
their locks package for package, the locks satisfy pyproject.toml's ranges and agree with
each other, and the server helpers report a dead server instead of hiding it."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from curation_platform.local_servers import stop_process_group, wait_until_serving

REPO = Path(__file__).resolve().parents[1]
LOCKS = REPO / "requirements"
sys.path.insert(0, str(REPO / "scripts"))
import check_lock  # noqa: E402

LS_PY = Path(os.environ.get("LABEL_STUDIO_BIN") or REPO / ".venv-label-studio" / "bin" / "label-studio").parent / "python"
REQUIRE = bool(os.environ.get("CI_REQUIRE_LOCK"))


def _pins(name: str) -> dict[str, str]:
    return {p.name: p.version for p in check_lock.read_lock(LOCKS / name) if p.marker is None or p.marker.evaluate()}


def test_test_environment_equals_its_lock():
    if Path(sys.prefix).resolve() != (REPO / ".venv").resolve() and not REQUIRE:
        pytest.skip(f"not the locked environment ({sys.prefix}; `make test` builds {REPO / '.venv'})")
    assert check_lock.differences([LOCKS / "bootstrap.txt", LOCKS / "test.txt"], sys.executable) == []


def test_label_studio_environment_equals_its_lock():
    if not LS_PY.is_file():
        if REQUIRE or os.environ.get("CI_REQUIRE_LABEL_STUDIO"):
            pytest.fail(f"no Label Studio environment at {LS_PY.parent.parent} (make label-studio)")
        pytest.skip("no Label Studio environment (make label-studio)")
    assert check_lock.differences([LOCKS / "bootstrap.txt", LOCKS / "label-studio.txt"], str(LS_PY)) == []


def test_locks_satisfy_pyproject_and_agree():
    project = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))["project"]
    runtime, test = _pins("runtime.txt"), _pins("test.txt")
    extras = project["optional-dependencies"]
    wanted = [Requirement(r) for r in project["dependencies"] + extras["test"]]
    for req in wanted:  # the project's own extras (curation-platform[celery]) expand to theirs
        if canonicalize_name(req.name) == "curation-platform":
            wanted += [Requirement(r) for extra in req.extras for r in extras[extra]]
    for req in wanted:
        name = canonicalize_name(req.name)
        if name == "curation-platform" or (req.marker and not req.marker.evaluate()):
            continue
        assert name in test, f"{req} is in pyproject.toml but not in requirements/test.txt: run `make lock`"
        assert req.specifier.contains(test[name], prereleases=True), f"test.txt locks {name}=={test[name]} outside {req}: run `make lock`"
    for req in map(Requirement, project["dependencies"]):
        assert req.specifier.contains(runtime[canonicalize_name(req.name)], prereleases=True), req
    # one version of a package whichever environment installs it
    assert {n: v for n, v in runtime.items() if test.get(n) != v} == {}
    boot = _pins("bootstrap.txt")
    assert {"pip", "setuptools", "wheel"} <= boot.keys()
    ls = _pins("label-studio.txt")
    assert ls["label-studio"] == "1.23.2" and int(ls["sentry-sdk"].split(".")[0]) < 3
    assert {n: v for n, v in boot.items() if ls.get(n, v) != v or test.get(n, v) != v} == {}


def test_lock_reader_names_a_line_that_is_not_a_pin(tmp_path):
    lock = tmp_path / "bad.txt"
    lock.write_text("# header\nnumpy==2.0.0 \\\n    --hash=sha256:00\nrequests>=2\n", "utf-8")
    with pytest.raises(ValueError, match=r"bad.txt:4: not an exact pin: requests>=2"):
        check_lock.read_lock(lock)


def test_lock_check_reports_missing_wrong_and_extra_packages(tmp_path):
    version = check_lock.probe(sys.executable)["dists"]["pytest"]["version"]
    lock = tmp_path / "lock.txt"
    lock.write_text(f"pytest=={version}\npolars==0.0.1\nnot-a-real-package-xyz==1.0 ; python_version >= '3'\n"
                    "windows-only-pkg==1.0 ; sys_platform == 'win32'\n", "utf-8")
    problems = check_lock.differences([lock], sys.executable)
    assert any(p.startswith("polars is ") and "the lock says 0.0.1" in p for p in problems)
    assert any(p.startswith("not-a-real-package-xyz==1.0") and "not installed" in p for p in problems)
    assert not any("windows-only-pkg" in p or p.split()[0] in ("pytest", f"pytest=={version}") for p in problems)
    assert any(p.startswith("duckdb==") and "in no lock" in p for p in problems)


def test_a_server_that_dies_is_reported_with_its_status_and_log(tmp_path):
    log = tmp_path / "server.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-c", "import sys; print('TypeError: Unknown option', flush=True); sys.exit(3)"],
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    with pytest.raises(RuntimeError) as err:
        wait_until_serving(proc, lambda: False, what="toy server", log=log, timeout_s=60, every_s=0.1)
    assert "toy server exited with status 3 before it answered" in str(err.value)
    assert "TypeError: Unknown option" in str(err.value)
    stop_process_group(proc)  # already gone: no ProcessLookupError
    stop_process_group(proc)


def test_a_server_that_never_answers_times_out_and_is_stopped(tmp_path):
    log = tmp_path / "server.log"
    log.write_text("", "utf-8")
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True)
    with pytest.raises(RuntimeError, match=r"(?s)still running\) did not answer within 1 s.*is empty"):
        wait_until_serving(proc, lambda: False, what="toy server", log=log, timeout_s=1, every_s=0.1)
    stop_process_group(proc, timeout_s=5)
    assert proc.returncode == -15
