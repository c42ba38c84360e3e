"""Parse parallel corpora: OPUS Moses pairs (plain or gzipped), TMX, TSV
(src, tgt[, score]: CCAligned / bicleaner style) and OPUS-style zip downloads.

A Moses pair with different line counts is an error (never truncated silently); a
bad TSV line or a broken TMX is reported with file and line, and what was read
before it is kept."""

from __future__ import annotations

import gzip
import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Callable, Iterator
from xml.etree.ElementTree import ParseError, iterparse

import polars as pl

from curation_platform.langid import flores_code
from curation_platform.records import ParseIssue, doc_id

PAIR_SCHEMA = {
    "pair_id": pl.String, "corpus": pl.String, "source": pl.String, "locator": pl.String,
    "src_lang": pl.String, "tgt_lang": pl.String, "src_text": pl.String, "tgt_text": pl.String,
    "score": pl.Float64, "license": pl.String,
}
_PAIR_IN_NAME = re.compile(r"(?:^|[._])(?P<a>[a-z]{2,3}(?:_[A-Z][a-z]{3})?)-(?P<b>[a-z]{2,3}(?:_[A-Z][a-z]{3})?)(?=[._]|$)")
BITEXT_SUFFIXES = (".tsv", ".tsv.gz", ".tmx", ".tmx.gz", ".zip")


class BitextError(ValueError):
    """A corpus that cannot be read as a whole (e.g. misaligned Moses files)."""


@dataclass
class BitextCorpus:
    pairs: list[dict] = field(default_factory=list)
    issues: list[ParseIssue] = field(default_factory=list)
    provenance: dict[str, str] = field(default_factory=dict)

    def frame(self) -> pl.DataFrame:
        return pl.DataFrame(self.pairs, schema=PAIR_SCHEMA) if self.pairs else pl.DataFrame(schema=PAIR_SCHEMA)


def pair_from_name(name: str) -> tuple[str, str] | None:
    """(src, tgt) FLORES codes from names like `eng-jav.v2021.tsv`, `en-id.tsv`, `corpus.en-id.en`."""
    m = _PAIR_IN_NAME.search(name)
    if not m:
        return None
    try:
        return flores_code(m.group("a")), flores_code(m.group("b"))
    except ValueError:
        return None


def _open_text(path: Path) -> IO[str]:
    raw = gzip.open(path, "rb") if path.name.endswith(".gz") else open(path, "rb")
    return io.TextIOWrapper(raw, encoding="utf-8", errors="strict", newline="\n")


def _pair(source: str, n: int, src_lang: str, tgt_lang: str, src: str, tgt: str, score: float | None, license: str | None, corpus: str = "parallel") -> dict:
    locator = f"{source}#{n}"
    return {"pair_id": doc_id(source, locator), "corpus": corpus, "source": source, "locator": locator,
            "src_lang": src_lang, "tgt_lang": tgt_lang, "src_text": src, "tgt_text": tgt, "score": score, "license": license}


def _count_lines(path: Path) -> int:
    with (gzip.open(path, "rb") if path.name.endswith(".gz") else open(path, "rb")) as fh:
        return sum(1 for _ in fh)


def read_moses(src_path: Path, tgt_path: Path, src_lang: str, tgt_lang: str, *, license: str | None = None, source: str | None = None) -> BitextCorpus:
    """Two line-aligned files. Different line counts raise BitextError naming both files."""
    n_src, n_tgt = _count_lines(src_path), _count_lines(tgt_path)
    if n_src != n_tgt:
        raise BitextError(f"misaligned Moses files: {src_path} has {n_src} lines, {tgt_path} has {n_tgt}")
    out = BitextCorpus()
    source = source or src_path.name.rsplit(".", 2 if src_path.name.endswith(".gz") else 1)[0]
    with _open_text(src_path) as fs, _open_text(tgt_path) as ft:
        for n, (s, t) in enumerate(zip(fs, ft), start=1):
            out.pairs.append(_pair(source, n, src_lang, tgt_lang, s.rstrip("\n"), t.rstrip("\n"), None, license))
    return out


def _tsv_line(path: Path, n: int, line: str, src_lang: str, tgt_lang: str, license: str | None) -> dict | ParseIssue | None:
    """One `src<TAB>tgt[<TAB>score]` line as a pair, an issue, or None (a blank line)."""
    if not line.strip():
        return None
    cols = line.split("\t")
    if len(cols) < 2:
        return ParseIssue(str(path), f"line {n}", "expected src<TAB>tgt")
    score = None
    if len(cols) >= 3 and cols[2].strip():
        try:
            score = float(cols[2])
        except ValueError:
            return ParseIssue(str(path), f"line {n}", f"score {cols[2]!r} is not a number")
    return _pair(path.name, n, src_lang, tgt_lang, cols[0], cols[1], score, license)


def read_tsv(path: Path, src_lang: str, tgt_lang: str, *, license: str | None = None, text: str | None = None) -> BitextCorpus:
    """`src<TAB>tgt[<TAB>score]` lines; a line without a tab or with a bad score is an issue."""
    out = BitextCorpus()
    if text is None:
        try:
            with _open_text(path) as fh:
                text = fh.read()
        except UnicodeDecodeError as exc:
            raise BitextError(f"{path}: not UTF-8 (byte {exc.start}: {exc.reason})") from exc
    for n, line in enumerate(text.split("\n"), start=1):
        got = _tsv_line(path, n, line, src_lang, tgt_lang, license)
        if isinstance(got, ParseIssue):
            out.issues.append(got)
        elif got is not None:
            out.pairs.append(got)
    return out


def iter_tsv(path: Path, src_lang: str, tgt_lang: str, *, license: str | None = None,
             progress: Callable[[int], None] | None = None) -> Iterator[dict | ParseIssue]:
    """`read_tsv` streamed: the pairs and issues of each line in file order, one line in
    memory at a time; a line that is not UTF-8 stops the read naming that line (what came
    before it was yielded). `progress(bytes)` is told how far into the file the reader is."""
    with (gzip.open(path, "rb") if path.name.endswith(".gz") else open(path, "rb")) as fh:
        for n, raw in enumerate(fh, start=1):
            if progress is not None:
                progress(len(raw))
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise BitextError(f"{path}: line {n} is not UTF-8 (byte {exc.start} of the line: {exc.reason})") from exc
            got = _tsv_line(path, n, line[:-1] if line.endswith("\n") else line, src_lang, tgt_lang, license)
            if got is not None:
                yield got


def read_tmx(path: Path, src_lang: str | None = None, tgt_lang: str | None = None, *, license: str | None = None) -> BitextCorpus:
    """TMX translation units; the first two languages seen are the pair unless given.
    Broken XML stops the read with an issue naming the line; earlier units are kept."""
    out = BitextCorpus()
    raw = gzip.open(path, "rb") if path.name.endswith(".gz") else open(path, "rb")
    n = 0
    segs: dict[str, str] = {}
    lang = None
    try:
        for event, elem in iterparse(raw, events=("start", "end")):
            tag = elem.tag.rsplit("}", 1)[-1]
            if event == "start" and tag == "tuv":
                lang = elem.get("{http://www.w3.org/XML/1998/namespace}lang") or elem.get("lang")
            elif event == "end" and tag == "seg" and lang:
                segs[lang] = "".join(elem.itertext())
            elif event == "end" and tag == "tu":
                n += 1
                codes = {flores_code(k): v for k, v in segs.items()}
                if src_lang is None and len(codes) >= 2:
                    src_lang, tgt_lang = list(codes)[:2]
                if src_lang in codes and tgt_lang in codes:
                    out.pairs.append(_pair(path.name, n, src_lang, tgt_lang, codes[src_lang], codes[tgt_lang], None, license))
                else:
                    out.issues.append(ParseIssue(str(path), f"tu {n}", f"missing {src_lang} or {tgt_lang} segment"))
                segs = {}
                elem.clear()
    except ParseError as exc:
        line = exc.position[0] if getattr(exc, "position", None) else "?"
        out.issues.append(ParseIssue(str(path), f"line {line}", f"broken XML after {n} translation units: {exc}"))
    except ValueError as exc:  # unknown language code in xml:lang
        out.issues.append(ParseIssue(str(path), f"tu {n + 1}", str(exc)))
    finally:
        raw.close()
    return out


def read_opus_zip(path: Path) -> BitextCorpus:
    """An OPUS download: Moses files `X.xx-yy.xx` / `X.xx-yy.yy` (or one TMX) plus README/LICENSE,
    which are kept as provenance (the licence text goes into every pair's `license`)."""
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        prov = {n: zf.read(n).decode("utf-8", "replace") for n in names if Path(n).name.upper().startswith(("README", "LICENSE"))}
        license = next((v.strip().splitlines()[0] for k, v in prov.items() if Path(k).name.upper().startswith("LICENSE") and v.strip()), None)
        tmx = [n for n in names if n.lower().endswith(".tmx")]
        pairs = [n for n in names if pair_from_name(Path(n).name) and not n.lower().endswith((".tmx", ".ids", ".xml")) and not Path(n).name.upper().startswith(("README", "LICENSE"))]
        tmp = Path(path.parent / f".{path.name}.extract")
        tmp.mkdir(exist_ok=True)
        try:
            if tmx:
                zf.extract(tmx[0], tmp)
                out = read_tmx(tmp / tmx[0], license=license)
            else:
                stem_pairs: dict[str, list[str]] = {}
                for n in pairs:
                    stem_pairs.setdefault(n.rsplit(".", 1)[0], []).append(n)
                full = next((v for v in stem_pairs.values() if len(v) == 2), None)
                if not full:
                    raise BitextError(f"{path}: no Moses pair (X.xx-yy.xx and X.xx-yy.yy) or TMX inside")
                a, b = pair_from_name(Path(full[0]).name)
                src_file = next(f for f in full if f.endswith("." + Path(full[0]).name.split(".")[-1]) and _ends_lang(f, a))
                tgt_file = next(f for f in full if f != src_file)
                for f in full:
                    zf.extract(f, tmp)
                out = read_moses(tmp / src_file, tmp / tgt_file, a, b, license=license, source=path.name)
        finally:
            for p in sorted(tmp.rglob("*"), reverse=True):
                p.unlink() if p.is_file() else p.rmdir()
            tmp.rmdir()
    out.provenance = prov
    return out


def _ends_lang(name: str, code: str) -> bool:
    suffix = name.rsplit(".", 1)[-1]
    try:
        return flores_code(suffix) == code
    except ValueError:
        return False


def moses_siblings(path: Path) -> tuple[Path, Path, str, str] | None:
    """For `X.xx-yy.xx(.gz)` return (src file, tgt file, src, tgt) when both files exist."""
    name = path.name[:-3] if path.name.endswith(".gz") else path.name
    stem, _, suffix = name.rpartition(".")
    pair = pair_from_name(stem)
    m = _PAIR_IN_NAME.search(stem)
    if not pair or not m:
        return None
    gz = ".gz" if path.name.endswith(".gz") else ""
    a, b = m.group("a"), m.group("b")
    if suffix not in (a, b):
        return None
    src, tgt = path.parent / f"{stem}.{a}{gz}", path.parent / f"{stem}.{b}{gz}"
    return (src, tgt, pair[0], pair[1]) if src.exists() and tgt.exists() else None


def read_bitext(path: str | Path, src_lang: str | None = None, tgt_lang: str | None = None, *, license: str | None = None) -> BitextCorpus:
    """Dispatch on the file name; languages from arguments or the file name."""
    path = Path(path)
    if path.stat().st_size == 0:
        return BitextCorpus(issues=[ParseIssue(str(path), "file", "empty file")])
    lower = path.name.lower()
    if lower.endswith(".zip"):
        return read_opus_zip(path)
    if lower.endswith((".tmx", ".tmx.gz")):
        return read_tmx(path, src_lang, tgt_lang, license=license)
    pair = (src_lang, tgt_lang) if src_lang and tgt_lang else pair_from_name(path.name)
    if lower.endswith((".tsv", ".tsv.gz")):
        if not pair:
            raise BitextError(f"{path}: cannot tell the language pair: name it like eng-jav.tsv or pass --src/--tgt")
        return read_tsv(path, *pair, license=license)
    sib = moses_siblings(path)
    if sib:
        return read_moses(sib[0], sib[1], sib[2], sib[3], license=license)
    raise BitextError(f"{path}: unsupported parallel format (TSV, TMX, OPUS zip or a Moses pair X.xx-yy.xx / X.xx-yy.yy)")


def iter_pairs(corpus: BitextCorpus) -> Iterator[dict]:
    yield from corpus.pairs
