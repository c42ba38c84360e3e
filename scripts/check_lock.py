"""Compare what a Python environment has installed with the lock files it was built from.

    python scripts/check_lock.py --python .venv/bin/python requirements/bootstrap.txt requirements/test.txt

Exit 0 when every locked package that applies to that interpreter (its markers are
evaluated there) is installed at exactly the locked version and nothing else is installed
(the project's own editable install aside); exit 1 with one line per difference. Needs
`packaging` here, nothing in the environment checked.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

# Run inside the checked interpreter: its installed distributions and its marker environment
# (the same keys packaging.markers.default_environment() gives, without needing packaging there).
_PROBE = r"""
import importlib.metadata as md, json, os, platform, sys
impl = sys.implementation
iv = "{0.major}.{0.minor}.{0.micro}".format(impl.version)
if impl.version.releaselevel != "final":
    iv += impl.version.releaselevel[0] + str(impl.version.serial)
env = {"implementation_name": impl.name, "implementation_version": iv, "os_name": os.name,
       "platform_machine": platform.machine(), "platform_release": platform.release(),
       "platform_system": platform.system(), "platform_version": platform.version(),
       "python_full_version": platform.python_version(), "platform_python_implementation": platform.python_implementation(),
       "python_version": ".".join(platform.python_version_tuple()[:2]), "sys_platform": sys.platform}
dists = {}
for d in md.distributions():
    name = d.metadata["Name"]
    if name:
        direct = d.read_text("direct_url.json") or "{}"
        dists[name] = {"version": d.version, "editable": json.loads(direct).get("dir_info", {}).get("editable", False)}
print(json.dumps({"env": env, "dists": dists}))
"""


@dataclass(frozen=True)
class Pin:
    name: str
    version: str
    marker: Marker | None
    where: str  # file:line, for the report


def read_lock(path: Path) -> list[Pin]:
    """Pins of a `uv pip compile` / `pip-compile` output: `name==version [; marker]`, hashes
    on continuation lines. Anything else that is not a comment is an error naming its line."""
    pins: list[Pin] = []
    for i, line in enumerate(path.read_text("utf-8").splitlines(), 1):
        text = line.split("#", 1)[0].strip()
        if not text or text.startswith("-"):  # hashes on continuation lines, pip options
            continue
        req = Requirement(text.rstrip("\\").strip())
        specs = list(req.specifier)
        if len(specs) != 1 or specs[0].operator != "==":
            raise ValueError(f"{path}:{i}: not an exact pin: {text}")
        pins.append(Pin(canonicalize_name(req.name), specs[0].version, req.marker, f"{path}:{i}"))
    return pins


def probe(python: str) -> dict:
    # -I: the current directory is not on sys.path, so a checkout's *.egg-info (left by a wheel
    # build there) is not taken for an installed distribution of that environment
    out = subprocess.run([python, "-I", "-c", _PROBE], capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        raise RuntimeError(f"{python} could not list its packages: {out.stderr[-2000:]}")
    return json.loads(out.stdout)


def differences(locks: list[Path], python: str) -> list[str]:
    """Every way the environment of `python` differs from the union of `locks`."""
    state = probe(python)
    installed = {canonicalize_name(n): d for n, d in state["dists"].items()}
    wanted: dict[str, Pin] = {}
    problems: list[str] = []
    for lock in locks:
        for pin in read_lock(lock):
            if pin.marker is not None and not pin.marker.evaluate(state["env"]):
                continue
            seen = wanted.get(pin.name)
            if seen and seen.version != pin.version:
                problems.append(f"{pin.name}: {seen.where} locks {seen.version}, {pin.where} locks {pin.version}")
            wanted[pin.name] = pin
    for name, pin in sorted(wanted.items()):
        got = installed.get(name)
        if got is None:
            problems.append(f"{name}=={pin.version} ({pin.where}) is not installed")
        elif got["version"] != pin.version:
            problems.append(f"{name} is {got['version']}, the lock says {pin.version} ({pin.where})")
    for name, got in sorted(installed.items()):
        if name not in wanted and not got["editable"]:
            problems.append(f"{name}=={got['version']} is installed but in no lock")
    return problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("locks", nargs="+", type=Path)
    ap.add_argument("--python", default=sys.executable, help="interpreter of the environment to check (default: this one)")
    args = ap.parse_args(argv)
    problems = differences(args.locks, args.python)
    for line in problems:
        print(line)
    print(f"{args.python}: {'matches' if not problems else f'{len(problems)} differences from'} {', '.join(map(str, args.locks))}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
