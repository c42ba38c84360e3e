"""Screenshots of the Dagster UI in a real headless Chromium: the lineage graph and an
asset page with its metadata (tables and inline PNG plots), for the README and to check
that what the assets emit renders.

    python scripts/ui_screenshot.py --data-root data [--out docs/img] [--chromium /usr/bin/chromium]

Needs a materialized data root (`make demo`) and Chromium (Debian: `apt-get install chromium`).
Starts `dagster-webserver` on a free port with that root's instance, waits for it, takes
the screenshots, stops the server by its PID."""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

PAGES = {"lineage.png": "/locations/curation_platform.assets.definitions/asset-groups/web_crawl/lineage", "construct.png": "/assets/construct", "label.png": "/assets/label"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def screenshot(chromium: str, url: str, out: Path, budget_ms: int = 60000) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1600,1100", "--run-all-compositor-stages-before-draw",
                    f"--virtual-time-budget={budget_ms}", f"--screenshot={out}", url],
                   check=True, capture_output=True, timeout=120)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-root", type=Path, default=Path("data"))
    ap.add_argument("--out", type=Path, default=Path("docs/img"))
    ap.add_argument("--chromium", default=shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome"))
    args = ap.parse_args(argv)
    if not args.chromium:
        print("error: no Chromium found (apt-get install chromium, or pass --chromium)", file=sys.stderr)
        return 2
    root = args.data_root.resolve()
    home = root / "dagster_home"
    if not (home / "dagster.yaml").is_file():
        print(f"error: {home} has no instance: run `make demo` (or `curate demo --data-root {root}`) first", file=sys.stderr)
        return 2
    port = free_port()
    env = {**os.environ, "DAGSTER_HOME": str(home), "CURATION_DATA_ROOT": str(root)}
    server = subprocess.Popen([sys.executable, "-m", "dagster_webserver", "-m", "curation_platform.assets.definitions", "-h", "127.0.0.1",
                               "-p", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while True:
            try:
                urllib.request.urlopen(base + "/server_info", timeout=2).read()
                break
            except OSError:
                if time.time() > deadline or server.poll() is not None:
                    print("error: the Dagster webserver did not start", file=sys.stderr)
                    return 1
                time.sleep(1)
        for name, path in PAGES.items():
            screenshot(args.chromium, base + path, args.out / name)
            print(f"{args.out / name}  <- {base + path}  ({(args.out / name).stat().st_size} bytes)")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
