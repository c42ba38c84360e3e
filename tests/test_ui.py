"""The Dagster UI in a real browser: after the demo, the lineage graph and the asset pages
render (headless Chromium screenshots through scripts/ui_screenshot.py). Skipped where no
Chromium is installed (Debian: apt-get install chromium)."""

from __future__ import annotations

import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.mark.skipif(not CHROMIUM, reason="no Chromium on this machine")
def test_lineage_and_asset_pages_render_in_chromium(tmp_path):
    root = tmp_path / "demo"
    demo = subprocess.run([str(Path(sys.executable).parent / "curate"), "demo", "--data-root", str(root)], capture_output=True, text=True, timeout=900)
    assert demo.returncode == 0, demo.stderr[-2000:]
    out = subprocess.run([sys.executable, str(REPO / "scripts" / "ui_screenshot.py"), "--data-root", str(root), "--out", str(tmp_path / "img")],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    for name in ("lineage.png", "construct.png", "label.png"):
        png = (tmp_path / "img" / name).read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = struct.unpack(">II", png[16:24])
        assert (width, height) == (1600, 1100)
        assert len(png) > 100_000, name  # rendered nodes and tables (the "empty graph" page is ~66 KB)
