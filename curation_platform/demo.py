"""Demo input the project generates itself: web-crawl shards (WARC, WET, JSONL) built
from a small hand-written multilingual corpus shipped in the package, with the
problems real crawls have (menus and cookie banners, a legacy code page, mojibake,
exact and near duplicates across shards, junk pages, a malformed JSONL line).

Deterministic: the same call writes byte-identical files."""

from __future__ import annotations

import gzip
import json
import random
import uuid
from importlib import resources
from pathlib import Path

import ftfy.bad_codecs  # noqa: F401  (registers sloppy-windows-1252)

from curation_platform.storage import atomic_path

DEMO_DATE = "2026-01-15T08:00:00Z"
_NAV = ["Home", "News", "Sports", "Contact", "Login", "Menu", "Search"]
_COOKIE = "This site uses cookies. By continuing you accept our cookie policy."
_FOOTER = "Copyright 2026 Demo Media. All rights reserved."
# A legacy code page per script, to exercise charset detection (declared only in <meta>).
_LEGACY = {"tha_Thai": "cp874", "vie_Latn": "cp1258"}


def load_documents() -> list[dict]:
    text = resources.files("curation_platform").joinpath("data/demo/documents.json").read_text("utf-8")
    return json.loads(text)["documents"]


def _html(doc: dict, charset: str) -> str:
    paras = "\n".join(f"<p>{p}</p>" for p in doc["paragraphs"])
    nav = "".join(f"<li><a href='/{n.lower()}'>{n}</a></li>" for n in _NAV)
    return (
        f"<!DOCTYPE html><html><head><meta charset='{charset}'><title>{doc['title']}</title></head><body>"
        f"<header><ul class='nav'>{nav}</ul></header><div class='cookie-banner'>{_COOKIE}</div>"
        f"<main><article><h1>{doc['title']}</h1>\n{paras}\n</article></main>"
        f"<footer><p>{_FOOTER}</p></footer></body></html>"
    )


def _warc_record(rtype: str, uri: str, payload: bytes, content_type: str, rid: str) -> bytes:
    head = (
        f"WARC/1.0\r\nWARC-Type: {rtype}\r\nWARC-Target-URI: {uri}\r\nWARC-Date: {DEMO_DATE}\r\n"
        f"WARC-Record-ID: <urn:uuid:{rid}>\r\nContent-Type: {content_type}\r\nContent-Length: {len(payload)}\r\n\r\n"
    ).encode()
    return gzip.compress(head + payload + b"\r\n\r\n", mtime=0)


def _edit(text: str, rng: random.Random, rate: float = 0.03) -> str:
    """A near-duplicate: a few words dropped or swapped, as in syndicated copies."""
    ws = text.split(" ")
    for _ in range(max(1, int(len(ws) * rate))):
        i = rng.randrange(len(ws))
        if rng.random() < 0.5 and len(ws) > 10:
            ws.pop(i)
        else:
            j = rng.randrange(len(ws))
            ws[i], ws[j] = ws[j], ws[i]
    return " ".join(ws)


def write_demo_inbox(inbox: str | Path) -> list[Path]:
    """Write the three demo shards into `inbox`; returns their paths."""
    inbox = Path(inbox)
    inbox.mkdir(parents=True, exist_ok=True)
    rng = random.Random(20260115)
    docs = load_documents()
    ns = uuid.UUID("6f1c1d2e-0000-4000-8000-000000000000")
    warc, wet, jsonl = [], [], []
    for i, doc in enumerate(docs):
        url = f"https://demo.example/{doc['lang']}/{doc['domain']}/{i}"
        body = "\n\n".join(doc["paragraphs"])
        if i % 3 == 0:
            charset = _LEGACY.get(doc["lang"], "utf-8")
            html = _html(doc, charset).encode(charset, errors="xmlcharrefreplace")
            http = f"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {len(html)}\r\n\r\n".encode() + html
            warc.append(_warc_record("response", url, http, "application/http; msgtype=response", str(uuid.uuid5(ns, url))))
        elif i % 3 == 1:
            text = f"{doc['title']}\n{_NAV[0]}\n{_NAV[1]}\n{body}\n{_FOOTER}".encode()
            wet.append(_warc_record("conversion", url, text, "text/plain", str(uuid.uuid5(ns, url))))
        else:
            jsonl.append({"url": url, "text": f"{doc['title']}\n\n{body}", "license": "CC-BY-4.0", "date": DEMO_DATE[:10]})
        if i % 5 == 0:  # syndicated near-duplicate on another site
            jsonl.append({"url": f"https://mirror.example/{i}", "text": _edit(f"{doc['title']}\n\n{body}", rng), "license": "CC-BY-4.0"})
        if i % 7 == 0:  # exact copy
            jsonl.append({"url": f"https://copy.example/{i}", "text": f"{doc['title']}\n\n{body}", "license": "CC-BY-4.0"})
    viet = next((d for d in docs if d["lang"] == "vie_Latn"), docs[0])
    broken = "\n\n".join(viet["paragraphs"]).encode("utf-8").decode("sloppy-windows-1252")
    jsonl += [
        {"url": "https://spam.example/1", "text": "buy cheap phones buy cheap phones buy cheap phones " * 20},
        {"url": "https://spam.example/2", "text": "Home\nLogin\nRegister\nContact"},
        {"url": "https://mojibake.example/1", "text": broken, "license": "CC-BY-4.0"},
    ]
    paths = []
    with atomic_path(inbox / "demo-pages.warc.gz") as tmp:
        tmp.write_bytes(b"".join(warc))
    paths.append(inbox / "demo-pages.warc.gz")
    with atomic_path(inbox / "demo-text.warc.wet.gz") as tmp:
        tmp.write_bytes(b"".join(wet))
    paths.append(inbox / "demo-text.warc.wet.gz")
    lines = [json.dumps(r, ensure_ascii=False) for r in jsonl]
    lines.insert(len(lines) // 2, '{"url": "https://broken.example/", "text": "unterminated')
    with atomic_path(inbox / "demo-docs.jsonl") as tmp:
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    paths.append(inbox / "demo-docs.jsonl")
    return paths


DEMO_LM_EVAL = {
    "results": {
        "belebele_jav_Latn": {"alias": "belebele_jav_Latn", "acc,none": 0.41, "acc_stderr,none": 0.016, "acc_norm,none": 0.41},
        "belebele_ind_Latn": {"alias": "belebele_ind_Latn", "acc,none": 0.72, "acc_stderr,none": 0.015, "acc_norm,none": 0.72},
        "belebele_sun_Latn": {"alias": "belebele_sun_Latn", "acc,none": 0.47, "acc_stderr,none": 0.016, "acc_norm,none": 0.47},
        "xcopa_id": {"alias": "xcopa_id", "acc,none": 0.68, "acc_stderr,none": 0.02},
        "xnli_th": {"alias": "xnli_th", "acc,none": 0.45, "acc_stderr,none": 0.01},
        "xstorycloze_id": {"alias": "xstorycloze_id", "acc,none": 0.70, "acc_stderr,none": 0.01},
        "sib200_khm_Khmr": {"alias": "sib200_khm_Khmr", "acc,none": 0.52, "acc_stderr,none": 0.03},
        "flores200_eng_Latn-jav_Latn": {"alias": "flores", "chrf,none": 38.2},
        "hellaswag": {"alias": "hellaswag", "acc,none": 0.61},
    },
    "higher_is_better": {"belebele_jav_Latn": {"acc": True, "acc_norm": True}},
    "config": {"model": "hf", "model_args": "pretrained=demo/sea-1b"},
    "date": 1767225600.0,
}

DEMO_CSV = """language,level,domain,metric,score,higher_is_better,model,run_id,date
jv,culture,honorifics,acc,0.40,true,demo/sea-1b,human-review-1,2026-01-15
id,domain,health,acc,0.66,true,demo/sea-1b,human-review-1,2026-01-15
tl,basic,general,acc,0.71,true,demo/sea-1b,human-review-1,2026-01-15
"""


def write_demo_evals(eval_inbox: str | Path) -> list[Path]:
    """An lm-evaluation-harness results file and a simple CSV, as evaluators would drop them."""
    eval_inbox = Path(eval_inbox)
    eval_inbox.mkdir(parents=True, exist_ok=True)
    with atomic_path(eval_inbox / "lm-eval-demo.json") as tmp:
        tmp.write_text(json.dumps(DEMO_LM_EVAL, indent=2), encoding="utf-8")
    with atomic_path(eval_inbox / "human-eval-demo.csv") as tmp:
        tmp.write_text(DEMO_CSV, encoding="utf-8")
    return [eval_inbox / "lm-eval-demo.json", eval_inbox / "human-eval-demo.csv"]
