"""Dedup on real sentences: planted near-duplicates cluster, distinct texts do not."""

from __future__ import annotations

import random

import polars as pl

from curation_platform.minhash import MinHashConfig, deduplicate


def _planted(flores, langs, rate: float, seed: int = 0):
    rng = random.Random(seed)
    texts, truth = [], []
    for code in langs:
        lines = flores(code)
        for i in range(0, 600, 6):
            base = " ".join(lines[i : i + 6])
            texts.append(base)
            truth.append(f"{code}:{i}")
            if i % 24 == 0:
                ws = base.split(" ")
                for _ in range(max(1, int(len(ws) * rate))):
                    j = rng.randrange(len(ws))
                    ws[j] = ws[j][::-1] if rng.random() < 0.5 else ws[j] + "x"
                texts.append(" ".join(ws))
                truth.append(f"{code}:{i}")
            if i % 60 == 0:
                texts.append(base.upper())  # exact after normalisation
                truth.append(f"{code}:{i}")
    return texts, truth


def _pairs(labels):
    groups: dict[str, list[int]] = {}
    for i, lab in enumerate(labels):
        groups.setdefault(lab, []).append(i)
    return {(a, b) for g in groups.values() for k, a in enumerate(g) for b in g[k + 1 :]}


def test_near_duplicates_clustered_and_distinct_texts_apart(flores):
    texts, truth = _planted(flores, ["eng_Latn", "ind_Latn", "jav_Latn", "vie_Latn", "tha_Thai", "khm_Khmr"], rate=0.03)
    df = pl.DataFrame({"id": [f"d{i:05d}" for i in range(len(texts))], "text": texts})
    out, stats = deduplicate(df, MinHashConfig())
    pred = _pairs(out["cluster_id"].to_list())
    true = _pairs(truth)
    recall = len(pred & true) / len(true)
    precision = len(pred & true) / len(pred) if pred else 1.0
    print(f"\npairs true={len(true)} predicted={len(pred)} recall={recall:.3f} precision={precision:.3f} stats={stats}")
    assert precision == 1.0
    assert recall >= 0.90
    # one survivor per cluster, named by cluster_id
    kept = out.filter(pl.col("keep"))
    assert kept.height == out["cluster_id"].n_unique()
    assert set(kept["id"]) == set(out["cluster_id"])
    assert stats["exact_duplicates"] >= 6


def test_dedup_is_deterministic_and_order_independent(flores):
    texts, _ = _planted(flores, ["ind_Latn"], rate=0.03)
    df = pl.DataFrame({"id": [f"d{i:05d}" for i in range(len(texts))], "text": texts})
    a, _ = deduplicate(df, MinHashConfig())
    b, _ = deduplicate(df.reverse(), MinHashConfig())
    assert a.sort("id").equals(b.sort("id"))


def test_parallel_sides_feed_the_monolingual_index(tmp_path):
    """A web document repeating a kept parallel sentence is dropped in favour of the
    parallel side; a dropped pair is no reference; unrelated documents stay."""
    from curation_platform.pipeline import dedup_corpus
    from curation_platform.settings import load_config

    sent = "Pemerintah daerah mengumumkan bahwa jalan utama akan ditutup selama tiga hari untuk perbaikan."
    other = "Para petani di desa itu mulai menanam padi setelah hujan pertama turun pada bulan November lalu."
    web = pl.DataFrame({"id": ["w1", "w2", "w3"], "text": [sent, other, sent.upper()], "lang": ["ind_Latn"] * 3, "keep": [True] * 3})
    web.write_parquet(tmp_path / "web.parquet")
    par = pl.DataFrame({"pair_id": ["p1", "p2"], "src_text": ["The road will be closed.", "Farmers plant rice."],
                        "tgt_text": [sent, other], "src_lang": ["eng_Latn"] * 2, "tgt_lang": ["ind_Latn"] * 2, "keep": [True, False]})
    par.write_parquet(tmp_path / "par.parquet")
    stats = dedup_corpus([tmp_path / "web.parquet"], tmp_path / "dd.parquet", load_config(), reference_files=[tmp_path / "par.parquet"])
    out = pl.read_parquet(tmp_path / "dd.parquet")
    assert out["id"].to_list() == ["w1", "w2", "w3"]
    assert out["keep"].to_list() == [False, True, False]
    assert out["cluster_id"].to_list()[0] == "p1:tgt"
    assert stats["reference_texts"] == 2 and stats["duplicates_of_reference"] == 2 and stats["removed"] == 2


def test_dedup_is_incremental_across_shards(tmp_path, flores):
    """A new shard is checked against the cached keys of the old ones (not re-hashed), with
    the same result as a run from scratch; keys of a removed shard are dropped."""
    import os

    from curation_platform.pipeline import dedup_corpus
    from curation_platform.settings import load_config

    lines = flores("tgl_Latn")
    docs = [" ".join(lines[i * 5 : i * 5 + 5]) for i in range(40)]
    a = pl.DataFrame({"id": [f"a{i}" for i in range(20)], "text": docs[:20], "lang": ["tgl_Latn"] * 20, "keep": [True] * 20})
    edited = [" ".join(d.split()[1:]) for d in docs[:5]]  # near copies of five shard-a documents
    b = pl.DataFrame({"id": [f"b{i}" for i in range(25)], "text": docs[20:40] + edited, "lang": ["tgl_Latn"] * 25, "keep": [True] * 25})
    a.write_parquet(tmp_path / "a.parquet")
    b.write_parquet(tmp_path / "b.parquet")
    cfg = load_config()
    dedup_corpus([tmp_path / "a.parquet"], tmp_path / "dd.parquet", cfg)
    keys = tmp_path / ".dd.keys"
    (a_keys,) = list(keys.glob("a-*.parquet"))
    before = os.stat(a_keys).st_mtime_ns
    stats = dedup_corpus([tmp_path / "a.parquet", tmp_path / "b.parquet"], tmp_path / "dd.parquet", cfg)
    assert os.stat(a_keys).st_mtime_ns == before  # old shard not re-hashed
    assert len(list(keys.glob("[ab]-*.parquet"))) == 2
    inc = pl.read_parquet(tmp_path / "dd.parquet")
    assert stats["removed"] == 5 and inc.filter(~pl.col("keep")).height == 5
    assert set(inc.filter(pl.col("dup_count") > 1)["cluster_id"]) <= {f"a{i}" for i in range(5)}
    scratch = dedup_corpus([tmp_path / "a.parquet", tmp_path / "b.parquet"], tmp_path / "fresh.parquet", cfg, index_dir=tmp_path / "other")
    assert pl.read_parquet(tmp_path / "fresh.parquet").equals(inc) and scratch["removed"] == 5
    dedup_corpus([tmp_path / "b.parquet"], tmp_path / "dd.parquet", cfg)
    assert [p.name.split("-")[0] for p in keys.glob("[ab]-*.parquet")] == ["b"]


def test_gpu_mode_detect_falls_back_to_the_cpu_with_equal_signatures(flores):
    """`dedup.gpu_mode: detect` never requires a GPU, and the device never changes a
    signature or the key-cache identity (the config hash)."""
    from curation_platform.minhash import signatures

    texts = flores("ind_Latn")[:50]
    cpu, detect = MinHashConfig(), MinHashConfig(gpu_mode="detect")
    assert (signatures(texts, cpu) == signatures(texts, detect)).all()
    assert cpu.hash == detect.hash


def test_batched_signatures_equal_datasketch(flores, flores_codes, monkeypatch):
    """Signatures are computed many documents at a time with datasketch's own permutations;
    they must equal one `datasketch.MinHash` per document over the plainly built shingles
    (so signatures cached by an earlier version, and the GPU path, stay comparable)."""
    import numpy as np
    from datasketch import MinHash

    from curation_platform.minhash import _hash32, shingles, signatures
    from curation_platform.words import words

    def plain_shingles(text: str, n: int) -> list[bytes]:
        ws = words(text)
        if len(ws) <= n:
            return [" ".join(ws).encode("utf-8")] if ws else [b""]
        return [" ".join(ws[i : i + n]).encode("utf-8") for i in range(len(ws) - n + 1)]

    cfg = MinHashConfig()
    texts = ["", "satu", "a b c d e", "Ngôn ngữ tiếng Việt", "ภาษาไทย"] + [" ".join(flores(c)[i : i + 4]) for c in flores_codes for i in (0, 40, 80)]
    assert all(shingles(t, cfg.ngram) == plain_shingles(t, cfg.ngram) for t in texts)
    mhs = MinHash.bulk([plain_shingles(t, cfg.ngram) for t in texts], num_perm=cfg.num_perm, seed=cfg.seed, hashfunc=_hash32)
    expected = np.vstack([m.hashvalues for m in mhs]).astype(np.uint64)
    assert np.array_equal(signatures(texts, cfg), expected)
    monkeypatch.setattr("curation_platform.minhash._CHUNK_SHINGLES", 50)  # many batches
    assert np.array_equal(signatures(texts, cfg), expected)


def test_candidate_pairs_equal_every_pair_sharing_a_band():
    """The vectorised bucket walk gives exactly the pairs a plain loop over buckets gives:
    every pair of rows sharing a band key, and a star from the first row of a bucket larger
    than `max_bucket_pairs`; repeats across bands counted once."""
    import numpy as np

    from curation_platform.minhash import candidate_pairs

    rng = np.random.default_rng(0)
    cfg = MinHashConfig(bands=6, rows=4, num_perm=24, max_bucket_pairs=10)
    for n, keys in ((1, 3), (2, 1), (50, 5), (400, 60), (3000, 2500)):
        bands = rng.integers(0, keys, size=(n, cfg.bands)).astype(np.uint64)
        expected = set()
        for b in range(cfg.bands):
            buckets: dict[int, list[int]] = {}
            for row, key in enumerate(bands[:, b].tolist()):
                buckets.setdefault(key, []).append(row)
            for docs in buckets.values():
                if len(docs) > cfg.max_bucket_pairs:
                    expected |= {(docs[0], d) for d in docs[1:]}
                else:
                    expected |= {(a, c) for k, a in enumerate(docs) for c in docs[k + 1 :]}
        got = candidate_pairs(bands, cfg)
        assert got.dtype == np.int64 and got.shape[1] == 2
        assert [tuple(p) for p in got.tolist()] == sorted(expected)


def test_key_index_loads_rows_from_disk_as_the_frames_hold_them(tmp_path, flores):
    """The on-disk loader (one read per file, placed straight into the result) returns the
    same bands and signatures as the in-memory keys, in any row order, across files and
    rows without a signature (exact copies)."""
    import numpy as np

    from curation_platform.minhash import frame_loader, shard_keys
    from curation_platform.dedup import key_index
    from curation_platform.storage import write_parquet

    cfg = MinHashConfig()
    lines = flores("ind_Latn")[:90]
    frames = [pl.DataFrame({"id": [f"{k}-{i}" for i in range(30)], "text": (lines[k * 30 : (k + 1) * 30] * 2)[:30]}) for k in range(3)]
    frames[1] = frames[1].with_columns(pl.Series("text", frames[1]["text"].to_list()[:15] * 2))  # exact copies: no signature
    keys = [shard_keys(f, cfg) for f in frames]
    files = [write_parquet(k, tmp_path / f"{i}.parquet") for i, k in enumerate(keys)]
    meta, load = key_index(files)
    whole = frame_loader(pl.concat(keys))
    with_sig = np.flatnonzero(meta["has_sig"].to_numpy())
    assert len(with_sig) == 75
    rows = np.random.default_rng(1).permutation(with_sig)[:50]
    for column in ("bands", "sig"):
        assert np.array_equal(load(column, rows), whole(column, rows))
    assert load("sig", np.zeros(0, dtype=np.int64)).shape == (0, cfg.num_perm)


def test_verification_in_bounded_groups_merges_the_same_pairs(flores):
    """Above `max_rows` paired rows, signatures are loaded for groups of pairs in turn; the
    clusters and counts are those of loading them all at once."""
    import numpy as np

    from curation_platform.minhash import candidate_pairs, frame_loader, shard_keys, verified_components

    texts, _ = _planted(flores, ["ind_Latn", "jav_Latn"], 0.03)
    cfg = MinHashConfig()
    keys = shard_keys(pl.DataFrame({"id": [str(i) for i in range(len(texts))], "text": texts}), cfg).filter(pl.col("sig").is_not_null())
    load = frame_loader(keys)
    pairs = candidate_pairs(load("bands", np.arange(keys.height)), cfg)
    assert len(pairs) > 20
    calls: list[int] = []

    def sig_of(rows):
        calls.append(len(rows))
        return load("sig", rows)

    whole = verified_components(pairs, keys.height, sig_of, cfg)
    assert len(calls) == 1
    calls.clear()
    grouped = verified_components(pairs, keys.height, sig_of, cfg, chunk=3, max_rows=8)
    assert len(calls) > 3 and max(calls) <= 8
    assert np.array_equal(whole[0], grouped[0]) and whole[1] == grouped[1] and whole[1]["verified_pairs"] > 10
