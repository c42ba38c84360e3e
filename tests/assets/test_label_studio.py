"""The review loop against a real Label Studio server (from PyPI, in its own virtualenv:
`.venv-label-studio`, made by `make label-studio`; `LABEL_STUDIO_BIN` points elsewhere).

A review sample from a real Dagster ingest is pushed as a project through Label Studio's
API (its SDK, `scripts/label_studio_review.py push`), two reviewers with their own
accounts and API tokens annotate it (`annotate`), the export is pulled into the review
inbox (`pull`), and the review sensor and job measure filter precision and agreement."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import urllib.request
from pathlib import Path

import duckdb
import pytest

from curation_platform.local_servers import free_port, http_ok, stop_process_group, wait_until_serving
from dagster import DagsterInstance, build_sensor_context, materialize

from curation_platform.assets.automation import review_inbox_sensor
from curation_platform.assets.definitions import build_definitions
from curation_platform.assets.review import review_sample
from curation_platform.resources import CurationResource
from tests.assets.test_review import _shard, verdict_plan

REPO = Path(__file__).resolve().parents[2]
LS_BIN = Path(os.environ.get("LABEL_STUDIO_BIN") or REPO / ".venv-label-studio" / "bin" / "label-studio")
LS_PY = LS_BIN.parent / "python"
SCRIPT = REPO / "scripts" / "label_studio_review.py"
ADMIN, ADMIN_TOKEN = "ana@example.org", "ana0123456789abcdef0123456789abcdef01234"

pytestmark = pytest.mark.skipif(not LS_BIN.is_file() and not os.environ.get("CI_REQUIRE_LABEL_STUDIO"),
                                reason="no Label Studio (make label-studio)")



def _api(url: str, token: str, path: str, body: dict | None = None) -> dict:
    req = urllib.request.Request(url + path, data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Authorization": f"Token {token}", "Content-Type": "application/json"}, method="POST" if body is not None else "GET")
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def _script(*args: str) -> dict:
    out = subprocess.run([str(LS_PY), str(SCRIPT), *args], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def label_studio(tmp_path_factory):
    assert LS_BIN.is_file(), f"Label Studio not installed at {LS_BIN} (make label-studio)"
    data = tmp_path_factory.mktemp("label_studio")
    port = free_port()
    env = {**os.environ, "LABEL_STUDIO_BASE_DATA_DIR": str(data), "LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK": "true"}
    log = data / "server.log"
    proc = subprocess.Popen([str(LS_BIN), "start", "--no-browser", "-p", str(port), "--internal-host", "127.0.0.1", "--data-dir", str(data),
                             "--username", ADMIN, "--password", "ana-password-1", "--user-token", ADMIN_TOKEN, "--enable-legacy-api-token"],
                            env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(proc, lambda: http_ok(url + "/health"), what="Label Studio", log=log, timeout_s=240, every_s=1)
        # a second reviewer with an account and an API token of her own
        _api(url, ADMIN_TOKEN, "/api/users/", {"email": "budi@example.org", "username": "budi", "password": "budi-password-1"})
        shell = subprocess.run([str(LS_BIN), "shell", "--data-dir", str(data)], env=env, capture_output=True, text=True, timeout=180,
                               input="from users.models import User\nfrom rest_framework.authtoken.models import Token\n"
                                     "print('TOKEN', Token.objects.get_or_create(user=User.objects.get(email='budi@example.org'))[0].key)\n")
        token = next((ln.split("TOKEN ", 1)[1].strip() for ln in shell.stdout.splitlines() if "TOKEN " in ln), None)
        assert token, shell.stdout[-2000:] + shell.stderr[-2000:]
        assert _api(url, token, "/api/current-user/whoami")["email"] == "budi@example.org"
        yield {"url": url, "tokens": {"ana": ADMIN_TOKEN, "budi": token}}
    finally:
        stop_process_group(proc)


def test_review_round_trip_through_label_studio(label_studio, tmp_path, flores):
    root, home = tmp_path / "root", tmp_path / "home"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    inbox = root / "inbox" / "web_crawl"
    inbox.mkdir(parents=True)
    keys = []
    for code in ("jav_Latn", "ind_Latn"):
        _shard(inbox / f"{code}.jsonl", flores, code, 0)
        keys.append(f"{code}.jsonl")
    defs = build_definitions(str(root))
    res = {"curation": CurationResource(data_root=str(root))}
    from dagster_duckdb import DuckDBResource

    with DagsterInstance.local_temp(str(home)) as instance:
        instance.add_dynamic_partitions("web_crawl_shards", keys)
        for key in keys:
            assert defs.resolve_job_def("ingest_web_crawl").execute_in_process(instance=instance, partition_key=key).success
        out = materialize([review_sample], instance=instance, resources={**res, "duckdb": DuckDBResource(database=str(root / "catalogue.duckdb"))})
        sample_dir = Path(out.asset_materializations_for_node("review_sample")[0].metadata["path"].value)
        import polars as pl

        sample = pl.read_csv(sample_dir / "sample.csv")

        url = label_studio["url"]
        pushed = _script("push", "--url", url, "--token", label_studio["tokens"]["ana"], "--sample", str(sample_dir))
        assert pushed["tasks"] == sample.height
        ana, budi, target = verdict_plan(sample)
        for name, plan in (("ana", ana), ("budi", budi)):
            f = tmp_path / f"{name}.json"
            f.write_text(json.dumps({k: "correct" if v else "incorrect" for k, v in plan.items()}), encoding="utf-8")
            done = _script("annotate", "--url", url, "--token", label_studio["tokens"][name], "--project", str(pushed["project"]),
                           "--verdicts", str(f), "--quality", "4")
            assert done["annotated"] == sample.height
        pulled = _script("pull", "--url", url, "--token", label_studio["tokens"]["ana"], "--project", str(pushed["project"]),
                         "--inbox", str(root / "inbox" / "review"))
        assert pulled["annotations"] == 2 * sample.height

        tick = review_inbox_sensor(build_sensor_context(instance=instance, resources=res))
        assert len(tick.run_requests) == 1
        run = defs.resolve_job_def("ingest_review").execute_in_process(instance=instance, run_config=tick.run_requests[0].run_config,
                                                                     tags=tick.run_requests[0].tags)
        assert run.success
    md = run.asset_materializations_for_node("review_results")[0].metadata
    con = duckdb.connect(str(root / "catalogue.duckdb"), read_only=True)
    reviewers = {r[0] for r in con.execute("SELECT DISTINCT reviewer FROM review_verdicts").fetchall()}
    hist = con.execute("SELECT decided, confirmed, precision FROM review_precision WHERE lang = 'jav_Latn' AND decision = 'min_words' "
                       "ORDER BY computed_at DESC LIMIT 1").fetchall()[0]
    con.close()
    assert reviewers == {"ana@example.org", "budi@example.org"}
    n = len(target)
    assert hist[:2] == (n - 2, n - 10)  # 8 wrongly dropped by both, 2 disputed, the rest confirmed
    assert hist[2] == pytest.approx((n - 10) / (n - 2), abs=1e-4)
    items = sorted(ana)
    a, b = [ana[i] for i in items], [budi[i] for i in items]
    p_o = sum(x == y for x, y in zip(a, b)) / len(a)
    pa, pb = sum(a) / len(a), sum(b) / len(b)
    p_e = pa * pb + (1 - pa) * (1 - pb)
    assert md["kappa_kind"].value == "cohen" and md["kappa"].value == pytest.approx((p_o - p_e) / (1 - p_e), abs=1e-4)
    assert "jav_Latn" in md["flagged_rules"].value
