"""Gather the language-ID training corpus from local snapshots of public repositories.

    python scripts/build_langid_corpus.py --opus-mt-testsets DIR.git --udhr DIR.git [--out training_data/langid]

Reads git snapshots (bare repositories, as the search tool's `fetch` brings them, or any
clone) and writes one `<source>.tsv.xz` per source (columns: label, domain, text) plus
`sources.json` (repository, commit, paths, licence, domain and counts of every source).
The files are committed, so training needs no network; this script is run again only to
add a source or refresh a snapshot.

Reserved for reviews and never read: the Tatoeba test sets English-Waray, English-Ilocano,
English-Kapampangan and Arabic-English (any sentence of theirs found in another pair is
dropped too), NusaX and Universal Dependencies. FLORES-200 devtest lines 507-1012 are the
evaluation half and never written.
"""

from __future__ import annotations

import argparse
import json
import lzma
import random
import re
import subprocess
import sys
import unicodedata
import xml.etree.ElementTree as ET
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from curation_platform.langid import flores_code  # noqa: E402
from curation_platform.scripts import dominant_script  # noqa: E402

FLORES_TRAIN = (1, 506)
RESERVED_TATOEBA = {"eng-war", "eng-ilo", "eng-pam", "ara-eng"}
# ISO 639-3 codes whose FLORES-200 label is another code
ALIAS = {"cmn": "zho", "zlm": "zsm", "msa": "zsm", "fil": "tgl", "arb": "arb", "ara": "arb", "fas": "pes", "per": "pes",
         "swa": "swh", "est": "est", "lav": "lvs", "ori": "ory", "pus": "pbt", "aze": "azj", "kur": "kmr", "mon": "khk",
         "nep": "npi", "uzb": "uzn", "zho": "zho", "yid": "ydd", "grn": "gug", "que": "quy", "orm": "gaz", "sqi": "als",
         "mlg": "plt", "kon": "kng", "msa_Latn": "zsm", "nor": "nob", "ful": "fuv", "hbs": "hrv",
         "ekk": "est", "src": "srd", "sro": "srd"}  # FLORES est_Latn is Standard Estonian, srd_Latn Sardinian (Logudorese + Campidanese)
FLORES_ALIASES = {"ara_Latn", "cmn_Hans", "cmn_Hant"}  # = arb_Latn, zho_Hans, zho_Hant
# Han text is Hans or Hant by its characters, and many lines are both: one family here
SCRIPT_FAMILY = {"Hans": "Hani", "Hant": "Hani", "Hani": "Hani"}
CAPS = {"flores": 506, "ntrex": 1000, "tico19": 1000, "tatoeba": 1500, "udhr": 400, "nusa_paragraph": 4000}
NUSA_PARAGRAPHS = 400  # paragraphs per language, each split into its sentences (kept in order)
NUSA_LANGS = {"bew": "bew", "btk": "bbc", "bug": "bug", "jav": "jav", "mad": "mad", "mak": "mak", "min": "min", "mui": "mui",
              "rej": "rej", "sun": "sun"}  # NusaWrites' btk is Toba Batak


@dataclass
class Source:
    name: str
    domain: str
    repo: str
    commit: str
    licence: str
    paths: list[str] = field(default_factory=list)
    rows: list[tuple[str, str, str]] = field(default_factory=list)


class Snapshot:
    """Read files of a bare git repository through one `git cat-file --batch` process."""

    def __init__(self, git_dir: Path):
        self.git_dir = git_dir
        self.commit = self._git("rev-parse", "HEAD").strip()
        self.files = self._git("ls-tree", "-r", "--name-only", "HEAD").splitlines()
        self._cat = subprocess.Popen(["git", f"--git-dir={git_dir}", "cat-file", "--batch"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def _git(self, *args: str) -> str:
        return subprocess.run(["git", f"--git-dir={self.git_dir}", *args], check=True, capture_output=True, text=True).stdout

    def read(self, path: str) -> str:
        assert self._cat.stdin and self._cat.stdout
        self._cat.stdin.write(f"HEAD:{path}\n".encode())
        self._cat.stdin.flush()
        header = self._cat.stdout.readline().decode().split()
        if header[-1] == "missing":
            raise FileNotFoundError(f"{self.git_dir}: HEAD:{path} is not in the snapshot")
        data = self._cat.stdout.read(int(header[2]))
        self._cat.stdout.read(1)
        return data.decode("utf-8", errors="replace")


def lang_code(code: str) -> str | None:
    """A source's language code (ISO 639-1/3, BCP-47, with or without a script) -> the
    FLORES-200 language part (zsm for msa/zlm, zho for cmn, ...); None if unknown."""
    code = code.replace("-", "_")
    lang3 = ALIAS.get(code, ALIAS.get(code.split("_")[0], code.split("_")[0]))
    try:
        lang3 = flores_code(lang3).split("_")[0]
    except ValueError:
        return None
    return ALIAS.get(lang3, lang3)


def file_rows(code: str, texts: list[str], domain: str, script: str | None = None) -> list[tuple[str, str, str]]:
    """Rows of a one-language file: its script is the one given (FLORES, UDHR) or the one
    most of its lines are written in; a line in another script (a quoted English name, a
    number) is not a sample of the language and is dropped."""
    lang3 = lang_code(code)
    texts = [clean(t) for t in texts if t.strip()]
    if lang3 is None or not texts:
        return []
    scripts = [dominant_script(t, lang3) for t in texts]
    if script is None:
        script = max(set(scripts), key=scripts.count)
    family = SCRIPT_FAMILY.get(script, script)
    # Han lines are labelled by their own characters: Tatoeba tags most Traditional Cantonese 'yue_Hans'
    return [(f"{lang3}_{s if family == 'Hani' else script}", domain, t) for t, s in zip(texts, scripts) if SCRIPT_FAMILY.get(s, s) == family]


def lines(text: str) -> list[str]:
    """Lines split on newline only: str.splitlines() also splits on U+2028, FS, VT, ...
    which some sentences contain, and would misalign a text file with its .labels."""
    return text.rstrip("\n").split("\n") if text else []


def clean(text: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", text)).strip()


def flores(snap: Snapshot) -> Source:
    src = Source("flores", "wiki", "Helsinki-NLP/OPUS-MT-testsets", snap.commit,
                 "CC BY-SA 4.0 (FLORES-200, NLLB Team, Meta AI)")
    prefix = "datasets/facebook/flores/flores200_dataset/devtest/"
    for path in sorted(p for p in snap.files if p.startswith(prefix) and p.endswith(".devtest")):
        code = path[len(prefix):].split(".")[0]
        if not re.fullmatch(r"[a-z]{3}_[A-Z][a-z]{3}", code) or code in FLORES_ALIASES:
            continue  # copies of a coded file under another name
        src.paths.append(path)
        lo, hi = FLORES_TRAIN  # every line is in the file's language and script: none is dropped
        src.rows += [(code, src.domain, clean(t)) for t in snap.read(path).splitlines()[lo - 1 : hi] if t.strip()]
    return src


def flores_eval(snap: Snapshot, out: Path) -> dict:
    """FLORES-200 devtest lines 507-1012 of every language: the in-domain held-out half,
    written apart (eval/) and never read for training."""
    prefix = "datasets/facebook/flores/flores200_dataset/devtest/"
    (out / "eval").mkdir(exist_ok=True)
    tmp, n = out / "eval" / ".flores_devtest.tsv.xz.tmp", 0
    with lzma.open(tmp, "wt", encoding="utf-8", preset=9) as fh:
        fh.write("label\tdomain\ttext\n")
        for path in sorted(p for p in snap.files if p.startswith(prefix) and p.endswith(".devtest")):
            code = path[len(prefix):].split(".")[0]
            if re.fullmatch(r"[a-z]{3}_[A-Z][a-z]{3}", code) and code not in FLORES_ALIASES:
                texts = [clean(t) for t in snap.read(path).splitlines()[FLORES_TRAIN[1]:] if t.strip()]
                fh.writelines(f"{code}\twiki\t{t}\n" for t in texts)
                n += len(texts)
    tmp.replace(out / "eval" / "flores_devtest.tsv.xz")
    return {"domain": "wiki", "repo": "Helsinki-NLP/OPUS-MT-testsets", "commit": snap.commit, "lines": "507-1012", "texts": n,
            "licence": "CC BY-SA 4.0 (FLORES-200, NLLB Team, Meta AI)", "use": "evaluation only"}


def ntrex(snap: Snapshot) -> Source:
    src = Source("ntrex", "news", "Helsinki-NLP/OPUS-MT-testsets", snap.commit, "CC BY-SA 4.0 (NTREX-128, Microsoft)")
    prefix = "datasets/microsoft/ntrex/NTREX/NTREX-128/newstest2019-ref."
    for path in sorted(p for p in snap.files if p.startswith(prefix) and p.endswith(".txt")):
        code = path[len(prefix):-len(".txt")]
        src.paths.append(path)
        src.rows += file_rows(code, lines(snap.read(path)), src.domain, code.split("-")[1] if "-" in code and len(code.split("-")[1]) == 4 else None)
    return src


def tico19(snap: Snapshot) -> Source:
    src = Source("tico19", "health", "Helsinki-NLP/OPUS-MT-testsets", snap.commit, "CC0 1.0 (TICO-19)")
    for path in sorted(p for p in snap.files if re.fullmatch(r"datasets/tico19/testsets/en-[^/]+/tico19-test\.[A-Za-z_-]+", p)):
        code = path.rsplit(".", 1)[1]
        if code == "en" and not path.startswith("datasets/tico19/testsets/en-fr/"):
            continue  # the same English in every pair: read once
        src.paths.append(path)
        src.rows += file_rows(code, lines(snap.read(path)), src.domain)
    return src


def tatoeba(snap: Snapshot) -> Source:
    src = Source("tatoeba", "conversational", "Helsinki-NLP/OPUS-MT-testsets", snap.commit,
                 "CC BY 2.0 FR (tatoeba.org; Tatoeba Translation Challenge test sets)")
    pattern = re.compile(r"datasets/helsinki_nlp/tatoeba/testsets/([^/]+)/tatoeba-test-v2021-08-07\.([^/.]+)$")
    reserved: set[str] = set()
    sides = []
    for path in sorted(snap.files):
        m = pattern.fullmatch(path)
        if not m or f"{path}.labels" not in snap.files:
            continue
        pair = m.group(1)
        if pair in RESERVED_TATOEBA:
            reserved.update(clean(t) for t in lines(snap.read(path)))
            continue
        sides.append(path)
    for path in sides:
        texts, labels = lines(snap.read(path)), lines(snap.read(f"{path}.labels"))
        if len(texts) != len(labels):
            raise ValueError(f"{path}: {len(texts)} lines but {len(labels)} labels")
        src.paths.append(path)
        by_code: dict[str, list[str]] = defaultdict(list)  # each line has its own language label
        for text, code in zip(texts, labels):
            if clean(text) not in reserved:
                by_code[code.strip()].append(text)
        for code, group in by_code.items():
            given = code.split("_")[1] if "_" in code and len(code.split("_")[1]) == 4 else None
            src.rows += file_rows(code, group, src.domain, given)
    return src


def udhr(snap: Snapshot) -> Source:
    src = Source("udhr", "legal", "eric-muller/udhr", snap.commit,
                 "UN OHCHR translations of the Universal Declaration of Human Rights (free to reproduce); "
                 "collected by unicode.org/udhr (E. Muller)")
    ns = {"u": "http://efele.net/udhr"}
    index = ET.fromstring(snap.read("data/udhr/index.xml"))
    for entry in index.findall("udhr"):
        iso, script, stage = entry.get("iso639-3"), entry.get("iso15924"), int(entry.get("stage") or 0)
        path = f"data/udhr/udhr_{entry.get('f')}.xml"
        if iso in (None, "und") or stage < 4 or path not in snap.files:
            continue  # unknown language, or a text the collection marks incomplete
        src.paths.append(path)
        doc = ET.fromstring(snap.read(path))
        paras = [t for t in ("".join(p.itertext()) for p in doc.iterfind(".//u:para", ns)) if len(clean(t)) >= 20]
        src.rows += file_rows(iso, paras, src.domain, script)
    return src


def nusa_paragraph(snap: Snapshot, seed: int = 0) -> Source:
    """NusaParagraph (NusaWrites): paragraphs written by native speakers of Indonesia's
    regional languages. Only the `nusa_alinea` files: `nusa_kalimat` translates NusaX
    sentences, and NusaX is reserved for reviews."""
    import csv
    import io

    src = Source("nusa_paragraph", "stories", "IndoNLP/nusa-writes", snap.commit,
                 "Apache-2.0 (repository licence; NusaWrites, Cahyawijaya et al. 2023)")
    pattern = re.compile(r"data/nusa_alinea-[a-z]+-([a-z]{3})-(?:train|valid|test)\.csv")
    by_lang: dict[str, dict[str, None]] = defaultdict(dict)
    for path in sorted(snap.files):
        m = pattern.fullmatch(path)
        if not m or m.group(1) not in NUSA_LANGS:
            continue
        try:
            rows = csv.DictReader(io.StringIO(snap.read(path)))
            texts = [clean(r["text"]) for r in rows if r.get("text")]
        except FileNotFoundError:
            continue  # a file over the snapshot's size limit
        src.paths.append(path)
        by_lang[NUSA_LANGS[m.group(1)]].update(dict.fromkeys(t for t in texts if len(t.split()) >= 10))
    rng = random.Random(seed)
    for lang3, paras in sorted(by_lang.items()):
        chosen = list(paras)
        chosen = sorted(rng.sample(chosen, min(NUSA_PARAGRAPHS, len(chosen))), key=chosen.index)
        for para in chosen:
            sents = [t for t in re.split(r"(?<=[.!?])\s+", para) if len(t.split()) >= 3]
            src.rows += file_rows(lang3, sents, src.domain, "Latn")
    return src


def write(src: Source, out: Path, seed: int = 0) -> dict:
    """Dedup within the source, cap each label's rows (a seeded sample), write xz TSV."""
    by_label: dict[str, list[str]] = defaultdict(list)
    seen: set[tuple[str, str]] = set()
    for label, _, text in src.rows:
        if (label, text) not in seen and "\t" not in text:
            seen.add((label, text))
            by_label[label].append(text)
    rng = random.Random(seed)
    counts = {}
    tmp = out / f".{src.name}.tsv.xz.tmp"
    with lzma.open(tmp, "wt", encoding="utf-8", preset=9) as fh:
        fh.write("label\tdomain\ttext\n")
        for label in sorted(by_label):
            texts = by_label[label]
            if len(texts) > CAPS[src.name]:
                texts = sorted(rng.sample(texts, CAPS[src.name]), key=texts.index)
            counts[label] = len(texts)
            fh.writelines(f"{label}\t{src.domain}\t{t}\n" for t in texts)
    tmp.replace(out / f"{src.name}.tsv.xz")
    return {"domain": src.domain, "repo": src.repo, "commit": src.commit, "licence": src.licence,
            "paths": len(src.paths), "labels": len(counts), "texts": sum(counts.values()), "cap_per_label": CAPS[src.name],
            "per_label": counts}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--opus-mt-testsets", type=Path, required=True, help="snapshot of Helsinki-NLP/OPUS-MT-testsets")
    ap.add_argument("--udhr", type=Path, required=True, help="snapshot of eric-muller/udhr")
    ap.add_argument("--nusa-writes", type=Path, help="snapshot of IndoNLP/nusa-writes (NusaParagraph only)")
    ap.add_argument("--only", help="comma-separated sources to rebuild (default: all)")
    ap.add_argument("--out", type=Path, default=REPO / "training_data" / "langid")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    opus, decl = Snapshot(args.opus_mt_testsets), Snapshot(args.udhr)
    manifest = json.loads((args.out / "sources.json").read_text("utf-8")) if (args.out / "sources.json").is_file() else {}
    builds = [(flores, opus), (ntrex, opus), (tico19, opus), (tatoeba, opus), (udhr, decl)]
    if args.nusa_writes:
        builds.append((nusa_paragraph, Snapshot(args.nusa_writes)))
    only = set(args.only.split(",")) if args.only else None
    for build, snap in builds:
        if only is not None and build.__name__ not in only:
            continue
        src = build(snap)
        manifest[src.name] = write(src, args.out)
        m = manifest[src.name]
        print(f"{src.name:8s} {m['domain']:15s} {m['labels']:4d} labels {m['texts']:7d} texts from {m['paths']} files", flush=True)
    (args.out / "sources.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", "utf-8")
    if only is None or "flores_eval" in only:
        ev = flores_eval(opus, args.out)
        (args.out / "eval" / "sources.json").write_text(json.dumps({"flores_devtest": ev}, indent=1) + "\n", "utf-8")
        print(f"flores_devtest (evaluation only) {ev['texts']} texts", flush=True)
    (args.out / "README.md").write_text(card(manifest), "utf-8")
    return 0


def card(manifest: dict) -> str:
    """Where every text a language-ID model learns from comes from."""
    rows = [f"| `{name}.tsv.xz` | {m['domain']} | [{m['repo']}](https://github.com/{m['repo']}) @ `{m['commit'][:12]}` | {m['licence']} "
            f"| {m['labels']} | {m['texts']:,} | {m['cap_per_label']} |" for name, m in manifest.items()]
    labels = sorted({lab for m in manifest.values() for lab in m["per_label"]})
    multi = [lab for lab in labels if sum(lab in m["per_label"] for m in manifest.values()) >= 2]
    return "\n".join([
        "# Language-ID corpus", "",
        "Labelled text of several domains for training and evaluating the language-ID model; written by",
        "`scripts/build_langid_corpus.py` from snapshots of the public repositories below, read by",
        "`curation_platform.langid_corpus`. Each file is xz-compressed TSV: `label<TAB>domain<TAB>text`, labels in",
        "FLORES-200 form (`lang_Script`), at most `cap` texts per label and source (a seeded sample).", "",
        "| file | domain | repository @ commit | licence | labels | texts | cap |", "|---|---|---|---|---:|---:|---:|", *rows, "",
        f"{len(labels)} labels in all; {len(multi)} have text from two or more domains (the leave-domain-out protocol needs two).", "",
        "Never included: FLORES-200 devtest lines 507-1012 (evaluation only); the Tatoeba test sets English-Waray,",
        "English-Ilocano, English-Kapampangan and Arabic-English, and any sentence of theirs found in another pair;",
        "NusaX and Universal Dependencies treebanks (reserved for reviews). A line in another script than its",
        "file's (a quoted name, a number) is dropped; UDHR texts the collection marks incomplete (stage < 4) are skipped.", ""])


if __name__ == "__main__":
    sys.exit(main())
