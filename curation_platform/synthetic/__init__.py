"""Synthetic data, generated only where the evaluation loop asked for it.

Generators (column `generator`, always `synthetic=true`):
- `in_context`: few-shot continuation from kept real documents of the target language;
- `translation`: kept documents of a pivot language translated into the target, with
  few-shot examples from the parallel release when it has that pair;
- `sft`: (instruction, input, output) records over real target-language documents;
- `dpo`: (prompt, chosen, rejected): two samples of one SFT prompt at two temperatures,
  ranked by the judge, kept only where the judge prefers one.

Prompts are template files (`prompts/<generator>.<api>[.<lang>].txt`, `string.Template`
syntax); each record carries its template's hash. The output is a parsed-document frame
that then goes through the same standardize -> label -> dedup gates as real text."""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import Callable

import polars as pl
import xxhash

from curation_platform.langid import to_flores_lang
from curation_platform.llm import LLMClient, Request
from curation_platform.records import PARSED_SCHEMA
from curation_platform.settings import language_policy

PROMPTS_DIR = Path(__file__).parent.parent / "prompts"
GENERATORS = ("in_context", "translation", "sft", "dpo")
EXTRA_SCHEMA: dict[str, pl.DataType] = {
    "format": pl.String, "level": pl.String, "domain": pl.String, "plan_hash": pl.String, "request_key": pl.String,
    "template": pl.String, "model": pl.String, "seed_ids": pl.String, "instruction": pl.String, "input": pl.String,
    "rejected": pl.String, "judge_score": pl.Float64, "rejected_judge_score": pl.Float64, "finish_reason": pl.String, "cached": pl.Boolean,
}
SYNTHETIC_SCHEMA = {**PARSED_SCHEMA, **EXTRA_SCHEMA}


NAMES = {"ace": "Acehnese", "ban": "Balinese", "bjn": "Banjar", "bug": "Buginese", "ceb": "Cebuano", "eng": "English",
         "fil": "Filipino", "hil": "Hiligaynon", "ilo": "Ilocano", "ind": "Indonesian", "jav": "Javanese", "khm": "Khmer",
         "lao": "Lao", "mad": "Madurese", "min": "Minangkabau", "mya": "Burmese", "pag": "Pangasinan", "shn": "Shan",
         "sun": "Sundanese", "tgl": "Tagalog", "tha": "Thai", "vie": "Vietnamese", "war": "Waray", "zsm": "Malay",
         "zho": "Chinese", "jpn": "Japanese", "kor": "Korean", "hin": "Hindi", "swh": "Swahili", "tet": "Tetum"}


def language_name(code: str) -> str:
    """English name of a FLORES code (`jav_Latn` -> Javanese) for prompts; langcodes
    names the rest when its optional name data is installed."""
    base = code.split("_")[0]
    if base in NAMES:
        return NAMES[base]
    try:
        import langcodes

        return langcodes.Language.get(base).display_name()
    except Exception:  # noqa: BLE001 - an unknown code still gets a usable prompt
        return code


def load_template(name: str, api: str, lang: str, prompts_dir: str | Path | None = None) -> tuple[str, str, str]:
    """(template text, file name, sha256[:12]); a per-language file wins, a user folder wins over the shipped one."""
    folders = [Path(prompts_dir)] if prompts_dir else []
    folders.append(PROMPTS_DIR)
    for folder in folders:
        for fname in (f"{name}.{api}.{lang}.txt", f"{name}.{api}.txt"):
            path = folder / fname
            if path.is_file():
                text = path.read_text("utf-8")
                return text, fname, hashlib.sha256(text.encode()).hexdigest()[:12]
    raise FileNotFoundError(f"no prompt template {name}.{api}.txt in {', '.join(map(str, folders))}")


def _clip(text: str, chars: int) -> str:
    """Cut at a sentence or word end near `chars`, so few-shot examples end cleanly."""
    text = " ".join(text.split())
    if len(text) <= chars:
        return text
    cut = text[:chars]
    m = list(re.finditer(r"[.!?。।။។៕]\s", cut))
    if m and m[-1].end() > chars // 3:
        return cut[: m[-1].end()].strip()
    return cut.rsplit(" ", 1)[0] if " " in cut else cut


def clean_output(text: str, stops: tuple[str, ...] = ()) -> str:
    """Model output up to the first stop marker, whitespace tidied, an unfinished last
    sentence dropped when at least one sentence ended."""
    for s in stops:
        if s and s in text:
            text = text.split(s, 1)[0]
    text = text.strip()
    m = list(re.finditer(r"[.!?。।။។៕](?=\s|$)", text))
    if m and m[-1].end() < len(text) and m[-1].end() > len(text) // 3:
        text = text[: m[-1].end()]
    return text.strip()


@dataclass
class Task:
    generator: str
    lang: str
    level: str
    domain: str
    request_key: str
    index: int
    prompt: str
    template: str
    template_hash: str
    seed_ids: list[str]
    stops: tuple[str, ...]
    extra: dict = field(default_factory=dict)


def request_key(plan_hash: str, req: dict) -> str:
    return f"{plan_hash}:{req['language']}:{req['level']}:{req['domain']}:{req.get('metric', '')}"


def samples_for(req: dict, scfg: dict) -> int:
    """Samples per request from its token amount, bounded both ways."""
    per = max(1, int(scfg.get("tokens_per_sample", 100)))
    return max(int(scfg.get("min_samples_per_request", 1)), min(int(scfg.get("max_samples_per_request", 40)), math.ceil(int(req["tokens"]) / per)))


def split_samples(n: int, weights: dict[str, float]) -> dict[str, int]:
    """Largest-remainder split of n samples over generators by weight."""
    weights = {g: float(w) for g, w in weights.items() if g in GENERATORS and float(w) > 0}
    total = sum(weights.values()) or 1.0
    raw = {g: n * w / total for g, w in weights.items()}
    out = {g: int(v) for g, v in raw.items()}
    for g in sorted(raw, key=lambda g: raw[g] - out[g], reverse=True)[: n - sum(out.values())]:
        out[g] += 1
    return out


def _pick(rows: list[dict], k: int, salt: str) -> list[dict]:
    """k rows in a hash order fixed by `salt`: same inputs, same picks on every rerun."""
    return sorted(rows, key=lambda r: xxhash.xxh64_intdigest(f"{salt}:{r['id']}".encode()))[:k]


def build_tasks(requests: list[dict], plan_hash: str, docs: Callable[[str], list[dict]], pairs: Callable[[str, str], list[tuple[str, str]]],
                scfg: dict, api: str, pivots: dict[str, str | None] | None = None) -> list[Task]:
    """Prompts for every open synthetic request. `docs(lang)` gives kept real documents
    ({id, text}); `pairs(pivot, lang)` gives parallel examples. A generator with no seed
    text for a language gives its share to `in_context` (which can run zero-shot).

    Translation pivot per language: an explicit `pivot.languages` entry, else the typology
    plan's pick (`pivots`: the nearest high-resource language with enough kept text),
    else `pivot.default`."""
    tasks: list[Task] = []
    few, chars = int(scfg.get("few_shot", 2)), int(scfg.get("example_chars", 400))
    pdir = scfg.get("prompts_dir")
    for req in requests:
        if req.get("kind") != "synthetic":
            continue
        lang = to_flores_lang(req["language"]) if "_" not in req["language"] else req["language"]
        lname, rkey = language_name(lang), request_key(plan_hash, req)
        target_docs = [d for d in docs(lang) if (d.get("text") or "").strip()]
        explicit = (scfg.get("pivot", {}).get("languages") or {}).get(lang)
        pivot = (explicit or {}).get("lang") or (pivots or {}).get(lang) or language_policy(scfg.get("pivot", {}), lang).get("lang", "eng_Latn")
        pivot_docs = [d for d in docs(pivot) if (d.get("text") or "").strip()] if pivot != lang else []
        split = split_samples(samples_for(req, scfg), scfg.get("generators", {"in_context": 1.0}))
        if not pivot_docs and split.get("translation"):
            split["in_context"] = split.get("in_context", 0) + split.pop("translation")
        for g in ("sft", "dpo"):
            if not target_docs and split.get(g):
                split["in_context"] = split.get("in_context", 0) + split.pop(g)
        base = {"language": lname, "domain": req.get("domain") or "everyday life", "level": req.get("level", "basic")}
        for gen, count in split.items():
            name = "sft" if gen == "dpo" else gen
            tmpl, fname, thash = load_template(name, api, lang, pdir)
            for i in range(count):
                salt = f"{rkey}:{gen}:{i}"
                if gen == "in_context":
                    ex = _pick(target_docs, few, salt)
                    examples = "".join(f"Text {k + 1}:\n{_clip(d['text'], chars)}\n\n" for k, d in enumerate(ex))
                    prompt = Template(tmpl).substitute(base, examples=examples, next=len(ex) + 1)
                    stops, seeds, extra = ("\nText ", "\n\n\n"), [d["id"] for d in ex], {}
                elif gen == "translation":
                    src = _pick(pivot_docs, 1, salt)[0]
                    shots = pairs(pivot, lang)
                    shots = sorted(shots, key=lambda p: xxhash.xxh64_intdigest(f"{salt}:{p[0]}".encode()))[:few]
                    pname = language_name(pivot)
                    examples = "".join(f"{pname}: {_clip(s, chars)}\n{lname}: {_clip(t, chars)}\n\n" for s, t in shots)
                    source = _clip(src["text"], chars)
                    prompt = Template(tmpl).substitute(base, examples=examples, pivot_language=pname, source=source)
                    stops, seeds, extra = ("\n",), [src["id"]], {"input": source}
                else:
                    doc = _pick(target_docs, 1, salt)[0]
                    instructions = scfg.get("sft_instructions") or ["Summarize the text in ${language}."]
                    instruction = Template(instructions[xxhash.xxh64_intdigest(salt.encode()) % len(instructions)]).safe_substitute(base)
                    inp = _clip(doc["text"], chars)
                    prompt = Template(tmpl).substitute(base, instruction=instruction, input=inp)
                    stops, seeds, extra = ("\n###", "\n\n"), [doc["id"]], {"instruction": instruction, "input": inp}
                tasks.append(Task(gen, lang, req.get("level", "basic"), req.get("domain") or "", rkey, i, prompt, fname, thash, seeds, stops, extra))
    return tasks


def _judge_prompts(texts: list[str], langs: list[str], api: str, scfg: dict, good: dict[str, str], template: str = "judge") -> tuple[list[str], str]:
    prompts, thash = [], ""
    for text, lang in zip(texts, langs):
        tmpl, _, thash = load_template(template, api, lang, scfg.get("prompts_dir"))
        bad = " ".join(["the the data data"] * 6)
        prompts.append(Template(tmpl).substitute(language=language_name(lang), text=_clip(text, 600),
                                                 good=_clip(good.get(lang, ""), 300) or "-", bad=bad))
    return prompts, thash


def parse_rating(text: str, top_logprobs: dict[str, float] | None = None) -> float | None:
    """Expected rating over the digits 1..5 among the first token's top log-probabilities
    when the server gives them (a smoother score than one sampled digit), else the first
    digit of the answer; None when there is neither."""
    if top_logprobs:
        probs = {int(k.strip()): math.exp(v) for k, v in top_logprobs.items() if k.strip() in {"1", "2", "3", "4", "5"}}
        if probs:
            return round(sum(k * p for k, p in probs.items()) / sum(probs.values()), 3)
    m = re.search(r"[1-5]", text or "")
    return float(m.group()) if m else None


def judge(client: LLMClient, texts: list[str], langs: list[str], scfg: dict, good: dict[str, str], template: str = "judge",
          progress: Callable[[int, int], None] | None = None) -> list[float | None]:
    """LLM-as-judge score in [1, 5] (None when the answer has no rating). `template` picks
    the prompt (`judge`: fluent language; `quality`: educational value, FineWeb-Edu style)."""
    if not texts:
        return []
    prompts, _ = _judge_prompts(texts, langs, client.settings.api, scfg, good, template)
    jcfg = scfg.get("judge", {})
    logprobs = 10 if client.settings.api == "completions" and jcfg.get("logprobs", True) else 0
    answers = client.generate([Request(p, temperature=0.0, max_tokens=int(jcfg.get("max_tokens", 3)), logprobs=logprobs) for p in prompts], progress)
    return [parse_rating(a.text, a.top_logprobs) for a in answers]


def generate(tasks: list[Task], client: LLMClient, scfg: dict, plan_hash: str, good: dict[str, str] | None = None,
             progress: Callable[[int, int], None] | None = None) -> pl.DataFrame:
    """Run every task (DPO tasks twice, at two temperatures), judge the outputs, and
    return one row per sample in the synthetic schema (`format` text | sft | dpo)."""
    good = good or {}
    dpo_t = scfg.get("dpo", {}).get("temperatures", [0.3, 1.2])
    reqs: list[Request] = []
    for t in tasks:
        if t.generator == "dpo":
            reqs += [Request(t.prompt, temperature=float(dpo_t[0]), stop=t.stops, seed=t.index),
                     Request(t.prompt, temperature=float(dpo_t[1]), stop=t.stops, seed=t.index + 1_000_000)]
        else:
            reqs.append(Request(t.prompt, stop=t.stops, seed=t.index))
    answers = iter(client.generate(reqs, progress))
    rows: list[dict] = []
    for t in tasks:
        a = next(answers)
        b = next(answers) if t.generator == "dpo" else None
        rows.append({"task": t, "text": clean_output(a.text, t.stops), "alt": clean_output(b.text, t.stops) if b else None,
                     "finish_reason": a.finish_reason, "cached": a.cached and (b.cached if b else True)})
    judge_on = bool(scfg.get("judge", {}).get("enabled", True))
    texts = [r["text"] for r in rows] + [r["alt"] for r in rows if r["alt"] is not None]
    langs = [r["task"].lang for r in rows] + [r["task"].lang for r in rows if r["alt"] is not None]
    scores = judge(client, texts, langs, scfg, good) if judge_on else [None] * len(texts)
    alt_scores = iter(scores[len(rows):])
    model = client.settings.model
    out = []
    for r, score in zip(rows, scores[: len(rows)]):
        t: Task = r["task"]
        text, rejected, s_rej, fmt = r["text"], None, None, {"in_context": "text", "translation": "text"}.get(t.generator, t.generator)
        if t.generator == "dpo":
            s_alt = next(alt_scores)
            if s_alt is not None and (score is None or s_alt > score):
                text, rejected, score, s_rej = r["alt"], r["text"], s_alt, score
            else:
                rejected, s_rej = r["alt"], s_alt
        locator = f"{t.request_key}/{t.generator}/{t.index}"
        out.append({
            "id": hashlib.sha256(f"synthetic\x1f{model}\x1f{t.template_hash}\x1f{locator}".encode()).hexdigest()[:32],
            "corpus": "synthetic", "source": f"llm:{model}", "locator": locator, "text": text, "license": scfg.get("license"),
            "consent": None, "fetched_at": None, "encoding": "utf-8", "lang_hint": t.lang, "synthetic": True, "generator": t.generator,
            "prompt_hash": t.template_hash, "format": fmt, "level": t.level, "domain": t.domain, "plan_hash": plan_hash,
            "request_key": t.request_key, "template": t.template, "model": model, "seed_ids": json.dumps(t.seed_ids),
            "instruction": t.extra.get("instruction"), "input": t.extra.get("input"), "rejected": rejected,
            "judge_score": score, "rejected_judge_score": s_rej, "finish_reason": r["finish_reason"], "cached": r["cached"],
        })
    return pl.DataFrame(out, schema=SYNTHETIC_SCHEMA) if out else pl.DataFrame(schema=SYNTHETIC_SCHEMA)


def gate(labelled: pl.DataFrame, scfg: dict) -> pl.DataFrame:
    """Synthetic-only gates on top of the label policy: the detected language must be
    the requested one, a DPO pair needs a strict preference, an optional judge floor
    (per language). Adds `gate_keep`, `gate_reason` (first failing gate)."""
    gcfg = scfg.get("gates", {})
    keeps, reasons = [], []
    for r in labelled.iter_rows(named=True):
        floor = language_policy(gcfg, r["lang_hint"]).get("min_judge_score")
        reason = None
        if not (r["text"] or "").strip():
            reason = "empty_output"
        elif not r["keep"]:
            reason = r["drop_reason"] or "policy"
        elif gcfg.get("require_lang_match", True) and r["lang"] != r["lang_hint"]:
            reason = "lang_mismatch"
        elif r["format"] == "dpo" and (r["judge_score"] is None or r["rejected_judge_score"] is None or r["judge_score"] <= r["rejected_judge_score"]):
            reason = "no_preference"
        elif floor is not None and (r["judge_score"] is None or r["judge_score"] < floor):
            reason = "judge_score"
        keeps.append(reason is None)
        reasons.append(reason)
    return labelled.with_columns(pl.Series("gate_keep", keeps, dtype=pl.Boolean), pl.Series("gate_reason", reasons, dtype=pl.String))


def gate_report(gated: pl.DataFrame) -> dict:
    """Pass rates per gate (each gate over what reached it) and per generator."""
    n = gated.height
    reasons = {r["gate_reason"]: r["len"] for r in gated.filter(~pl.col("gate_keep")).group_by("gate_reason").len().iter_rows(named=True)}
    per_gen = {r["generator"]: {"samples": r["n"], "passed": r["passed"], "pass_rate": round(r["passed"] / r["n"], 4)}
               for r in gated.group_by("generator").agg(pl.len().alias("n"), pl.col("gate_keep").sum().alias("passed")).sort("generator").iter_rows(named=True)}
    return {"samples": n, "passed": int(gated["gate_keep"].sum()) if n else 0, "pass_rate": round(float(gated["gate_keep"].mean()), 4) if n else 0.0,
            "drop_reasons": reasons, "per_generator": per_gen}
