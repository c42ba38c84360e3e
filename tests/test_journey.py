"""The user's journey, the way people use the platform: `dagster dev` (the real webserver
and daemon) on a fresh data root made by `curate init`, shards and evaluation files
dropped into the inboxes, and the web UI driven in a real Chromium through Playwright.

Nothing is called directly: the sensors ingest, the automation condition sensor rebuilds
`deduplicate` and `construct`, the evaluation sensor re-plans. Every wait is bounded.
Chromium is Debian's (`.ci/run` installs it; Playwright uses it, no browser download)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import polars as pl
import pytest

from curation_platform.local_servers import free_port, http_ok, stop_process_group, wait_until_serving

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
# Without Chromium the UI half cannot run; CI installs it, so there it never skips.
needs_chromium = pytest.mark.skipif(not CHROMIUM and not os.environ.get("CI_REQUIRE_BROWSER"), reason="no Chromium (apt-get install chromium)")



def wait_for(what: str, check, timeout: float, log: Path, every: float = 2.0):
    """Poll `check()` until it returns something truthy; fail with the server log's tail."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = check()
        if got:
            return got
        time.sleep(every)
    tail = log.read_text(errors="replace")[-4000:] if log.is_file() else ""
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}\n--- dagster dev log ---\n{tail}")


def _manifest(root: Path) -> dict | None:
    f = root / "release" / "current" / "manifest.json"
    try:
        return json.loads(f.read_text("utf-8"))
    except (OSError, ValueError):
        return None


@pytest.fixture(scope="module")
def dev(tmp_path_factory):
    root = tmp_path_factory.mktemp("journey") / "data"
    init = subprocess.run([str(BIN / "curate"), "init", "--data-root", str(root)], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert init.returncode == 0, init.stderr
    port = free_port()
    log = root.parent / "dagster-dev.log"
    env = {**os.environ, "DAGSTER_HOME": str(root / "dagster_home"), "CURATION_DATA_ROOT": str(root), "CURATION_CONFIG": str(root / "config.yaml")}
    proc = subprocess.Popen([str(BIN / "dagster"), "dev", "-w", str(REPO / "workspace.yaml"), "-h", "127.0.0.1", "-p", str(port)],
                            cwd=REPO, env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"

    try:
        wait_until_serving(proc, lambda: http_ok(f"{base}/server_info"), what="dagster dev", log=log, timeout_s=240, every_s=2)
        yield SimpleNamespace(root=root, base=base, log=log, home=root / "dagster_home", env=env)
    finally:
        stop_process_group(proc, timeout_s=60)


def _instance(home: Path):
    from dagster import DagsterInstance
    from dagster._core.instance.ref import InstanceRef

    return DagsterInstance.from_ref(InstanceRef.from_dir(str(home)))


def _latest(home: Path, asset: str):
    from dagster import AssetKey

    with _instance(home) as inst:
        ev = inst.get_latest_materialization_event(AssetKey(asset))
        return (ev.run_id, ev.timestamp) if ev else None


def test_daemon_ingests_rebuilds_and_replans(dev, tmp_path):
    """Drop a shard: the inbox sensor ingests it and the automation condition sensor
    rebuilds deduplicate + construct. Drop a second: a new release id holding its documents.
    Drop evaluation results: the loop re-plans the mixture."""
    from curation_platform.demo import write_demo_evals, write_demo_inbox

    shards = {p.name: p for p in write_demo_inbox(tmp_path / "staging")}
    inbox = dev.root / "inbox" / "web_crawl"
    shutil.copy(shards["demo-docs.jsonl"], inbox / "demo-docs.jsonl")
    first = wait_for("the first release (sensor -> ingest -> automation -> construct)", lambda: _manifest(dev.root), 420, dev.log)
    first_id = (dev.root / "release" / "current").resolve().name
    assert first["docs_released"] > 0

    shutil.copy(shards["demo-pages.warc.gz"], inbox / "demo-pages.warc.gz")
    second = wait_for("a rebuilt release after the second shard",
                      lambda: (m := _manifest(dev.root)) and (dev.root / "release" / "current").resolve().name != first_id and m, 420, dev.log)
    assert second["docs_released"] > first["docs_released"]
    released = pl.read_parquet(sorted((dev.root / "release" / "current").rglob("*.parquet")))
    assert set(released["source"].unique()) == {"demo-docs.jsonl", "demo-pages.warc.gz"}
    assert released.height == second["docs_released"]

    before = _latest(dev.home, "mixture_plan")
    from curation_platform.storage import Layout

    write_demo_evals(Layout(dev.root).eval_inbox)
    replanned = wait_for("the loop to re-plan after new evaluation results",
                         lambda: (m := _latest(dev.home, "mixture_plan")) and m != before and m, 420, dev.log)
    assert _latest(dev.home, "eval_results") is not None and replanned


@needs_chromium
def test_the_web_ui_in_a_real_browser(dev):
    """What a person sees in the UI, read from the DOM: the spine's five assets in the
    lineage, the per-language table of `construct`, the sensors on the Automation page,
    and a materialization started with the UI's button that succeeds and shows its metadata."""
    from playwright.sync_api import TimeoutError as PWTimeout, expect, sync_playwright

    if _manifest(dev.root) is None:
        pytest.skip("the journey test did not build a release")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1600, "height": 1100})
        page.set_default_timeout(60_000)
        page.goto(f"{dev.base}/locations/curation_platform/asset-groups/web_crawl/lineage")
        for name in ("web_crawl", "standardize", "label", "deduplicate", "construct"):
            expect(page.get_by_text(name, exact=True).first).to_be_visible()

        page.goto(f"{dev.base}/assets/construct")
        expect(page.get_by_text("per_language", exact=True).first).to_be_visible()
        langs = sorted(json.loads((dev.root / "release" / "current" / "manifest.json").read_text())["languages"])
        expect(page.get_by_text(langs[0], exact=True).first).to_be_visible()

        page.goto(f"{dev.base}/automation")
        for name in ("web_crawl_inbox_sensor", "eval_inbox_sensor", "default_automation_condition_sensor"):
            expect(page.get_by_text(name, exact=True).first).to_be_visible()

        before = _latest(dev.home, "construct")
        page.goto(f"{dev.base}/assets/construct")
        # the button's accessible name carries its icon's label ("materialization Materialize")
        page.get_by_role("button").filter(has_text=re.compile(r"^\s*Materialize\s*$")).first.click()
        confirm = page.get_by_role("button", name="Confirm", exact=True)  # asked only if an upstream asset is missing
        try:
            confirm.click(timeout=5_000)
        except PWTimeout:
            pass
        after = wait_for("the run launched from the UI", lambda: (m := _latest(dev.home, "construct")) and m != before and m, 300, dev.log)
        page.goto(f"{dev.base}/runs/{after[0]}")
        expect(page.get_by_text("Success").first).to_be_visible()
        page.goto(f"{dev.base}/assets/construct")
        # "Latest materialization" links to the run the button launched
        expect(page.locator(f'a[href^="/runs/{after[0]}"]').first).to_be_visible()
        # and its metadata: the release's document count, as the new manifest has it
        released = str(_manifest(dev.root)["docs_released"])
        expect(page.get_by_role("row", name=re.compile(rf"^documents .* {released}$")).first).to_be_visible()
        browser.close()
