"""Label stage: language + script, quality signals, then the policy decision.

Only adds columns (`lang`, `lang_score`, `script`, `signals`, `languages`, `variant`,
`keep`, `drop_reason`): `languages` is the segment-level mix (share of characters per
language), `variant` a dialect/register tag from word lists. The text is never touched."""

from __future__ import annotations

from typing import Iterator

import polars as pl

from curation_platform.codeswitch import Mix, language_mix, meets_target, route
from curation_platform.langid import UND, LanguageIdentifier, flores_code, to_flores_lang
from curation_platform.langid_model import BUNDLED, known_languages, load_model_dir, resolve_model_dir
from curation_platform.policy import decide
from curation_platform.quality import SIGNAL_NAMES, quality_signals
from curation_platform.quality_model import effective_policy, load_scorer
from curation_platform.variants import compile_dialects, dialect_tag, script_share, script_variant
from curation_platform.words import stop_words

SIGNALS_DTYPE = pl.Struct({**{name: pl.Float64 for name in SIGNAL_NAMES}, "lang_from_hint": pl.Float64, "quality_model": pl.Float64,
                           "code_switch_share": pl.Float64, "code_switch_switches": pl.Float64, "routed_from_label": pl.Float64,
                           "lang_from_script": pl.Float64, "lang_share": pl.Float64, "lang_oov": pl.Float64})
LANGUAGES_DTYPE = pl.List(pl.Struct({"lang": pl.String, "share": pl.Float64}))


def _batches(items: list[str], size: int) -> Iterator[tuple[int, list[str]]]:
    for start in range(0, len(items), size):
        yield start, items[start : start + size]


def _hint_lang(hint: str | None) -> str | None:
    if not hint:
        return None
    first = hint.split(",")[0].strip()
    return to_flores_lang(first) if first else None


def identifier_from_config(cfg: dict) -> LanguageIdentifier:
    """The platform's own model (`langid.trained_dir`: `bundled`, the model shipped in the
    package, or a folder from `curate train-langid`), open-set and routed with the stock
    (or configured) fastText model for languages outside its label set. `trained_dir:
    stock` uses the stock model alone."""
    lid = cfg.get("langid", {})
    stock = LanguageIdentifier(lid.get("model"), k=lid.get("k", 3), min_score=lid.get("min_score", 0.4), max_chars=lid.get("max_chars", 4000))
    choice = lid.get("trained_dir", BUNDLED)
    if choice == "stock":
        return stock
    model_dir = resolve_model_dir(choice)
    if model_dir is None:
        if choice not in (None, BUNDLED):
            raise FileNotFoundError(f"langid.trained_dir: {choice} holds no model.json (train one with `curate train-langid`)")
        return stock
    return load_model_dir(model_dir, stock, lid)


def _targets(cs_cfg: dict) -> tuple[list[str], dict[str, float] | float]:
    """Code-switch targets and minimum shares with every user code normalised."""
    targets = [flores_code(t) for t in cs_cfg.get("targets") or []]
    min_share = cs_cfg.get("min_share", 0.3)
    if isinstance(min_share, dict):
        min_share = {k if k == "default" else flores_code(k): v for k, v in min_share.items()}
    return targets, min_share


def label_frame(df: pl.DataFrame, cfg: dict, identifier: LanguageIdentifier | None = None) -> pl.DataFrame:
    """Label one shard (a frame with at least `text`; `lang_hint` is used when present).

    A declared language hint is trusted only where the model cannot separate it: the
    hint is among the model's top-k, a measured confusable of the prediction, or a
    language the model has no label for. A document of several segments takes the
    language of the largest share of its segments (with that language's measured
    confusables), scored by their confidence; `lang_rule` records what decided."""
    identifier = identifier or identifier_from_config(cfg)
    scorer = load_scorer(cfg)
    policy = effective_policy(cfg, scorer)
    lid_cfg = cfg.get("langid", {})
    texts = [t or "" for t in df["text"].to_list()]
    hints = df["lang_hint"].to_list() if "lang_hint" in df.columns else [None] * len(texts)
    known = known_languages(identifier)
    cs_cfg, var_cfg = cfg.get("codeswitch") or {}, cfg.get("variants") or {}
    targets, min_share = _targets(cs_cfg)
    dialects = compile_dialects(var_cfg.get("dialects"))

    def relabel(pred, segment: str) -> str:
        return script_variant(pred.lang, pred.script, pred.top, segment, var_cfg)[0] if pred.script != "Zyyy" else pred.lang

    confusable_with = getattr(identifier, "confusable_with", lambda lang: set())
    lexicons = getattr(identifier, "lexicons", None)
    langs, scores, scripts, signals, keeps, reasons, mixes, tags, rules = [], [], [], [], [], [], [], [], []
    for start, batch in _batches(texts, int(lid_cfg.get("batch_size", 4096))):
        qscores = scorer.score(batch) if scorer else [None] * len(batch)
        preds = identifier.predict(batch)
        batch_mix = language_mix(batch, identifier, [p.script for p in preds], int(cs_cfg.get("min_segment_chars", 15)), preds, relabel) \
            if cs_cfg.get("enabled", True) else [Mix() for _ in batch]
        for offset, pred in enumerate(preds):
            text = batch[offset]
            lang, score, rule = pred.lang, pred.score, pred.rule or "model"
            mix = batch_mix[offset]
            from_hint = 0.0
            hint3 = _hint_lang(hints[start + offset])
            if hint3 and pred.script != "Zyyy" and not lang.startswith(hint3 + "_"):
                in_top = dict((code.split("_")[0], p) for code, p in pred.top)
                hint_code = f"{hint3}_{pred.script}"
                # the declared language wins where the model cannot tell it apart: among the top-k,
                # a measured confusable of the prediction, or a language the model has no label for
                if hint3 in in_top or hint3 not in known or (lang != UND and lang in confusable_with(hint_code)):
                    lang, score, from_hint, rule = hint_code, in_top.get(hint3, score), 1.0, "hint"
            from_script = 0.0
            if not from_hint and pred.script != "Zyyy":
                lang, srule = script_variant(lang, pred.script, pred.top, text, var_cfg)
                if srule is not None:  # the model's score was for a language the script rules out
                    from_script, score, rule = 1.0, script_share(text, pred.script), srule
            share = None
            if not from_hint and not from_script and mix.segments >= 2:
                # several segments: the main language's share of them and their confidence decide
                main = _main_language(mix, confusable_with)
                # segments filed under a measured confusable of the main language are not another language
                share = round(mix.share_of_all(main) + sum(mix.share_of_all(c) for c in confusable_with(main)), 4) if main != UND else 0.0
                if main != UND and share >= 1.0 - mix.labelled:
                    if lang != main or pred.rule == "unknown":  # the segments overrule the whole-text label
                        rule = "segments"
                    lang, score = main, mix.confidences.get(main, 0.0)
                else:  # no language holds more of the text than the segments nobody can name
                    lang, rule = UND, "unknown" if mix.main_unknown or pred.rule == "unknown" else "segments_und"
                    share = mix.main_share
            routed = route(lang, mix, targets, min_share) if targets and mix.shares else lang  # und documents too: mixed text often is
            was_routed = routed != lang
            if was_routed:  # a code-switched document filed under its target language; its score is the target's share
                lang, score, rule = routed, mix.share(routed), "codeswitch_target"
            sig = quality_signals(text, stop=stop_words(lang) if lang != UND else frozenset(), lang=lang, lexicons=cfg.get("lexicons"))
            sig["lang_from_hint"] = from_hint
            sig["lang_from_script"] = from_script
            sig["code_switch_share"] = round(1.0 - mix.share(lang), 4) if mix.shares else None
            sig["code_switch_switches"] = float(mix.switches) if mix.shares else None
            sig["routed_from_label"] = float(was_routed)
            sig["quality_model"] = qscores[offset]
            sig["lang_share"] = share
            sig["lang_oov"] = _oov(lexicons, text, pred)
            # a target-language document with its minimum share of segments passed its language test
            target_met = bool(targets) and meets_target(lang, mix, targets, min_share)
            if target_met:
                sig["lang_share"] = None
            keep, reason = decide(lang, 1.0 if target_met else score, sig, policy)
            langs.append(lang)
            scores.append(score)
            scripts.append(pred.script)
            signals.append(sig)
            rules.append(rule)
            mixes.append([{"lang": k, "share": v} for k, v in mix.shares.items()])
            tags.append(dialect_tag(text, lang, dialects, int(var_cfg.get("dialect_min_hits", 2))) if dialects else None)
            keeps.append(keep)
            reasons.append(reason)
    return df.with_columns(
        pl.Series("lang", langs, dtype=pl.String),
        pl.Series("lang_score", scores, dtype=pl.Float64),
        pl.Series("script", scripts, dtype=pl.String),
        pl.Series("signals", signals, dtype=SIGNALS_DTYPE),
        pl.Series("languages", mixes, dtype=LANGUAGES_DTYPE),
        pl.Series("variant", tags, dtype=pl.String),
        pl.Series("lang_rule", rules, dtype=pl.String),
        pl.Series("keep", keeps, dtype=pl.Boolean),
        pl.Series("drop_reason", reasons, dtype=pl.String),
    )


def _main_language(mix: Mix, confusable_with) -> str:
    """The language with the largest share once each language counts its measured
    confusables with it (Malay segments of an Indonesian page are not a third language);
    its own share breaks ties."""
    if not mix.shares:
        return UND
    grouped = {lang: share + sum(mix.shares.get(c, 0.0) for c in confusable_with(lang)) for lang, share in mix.shares.items()}
    return max(grouped, key=lambda lang: (round(grouped[lang], 4), mix.shares[lang]))


def _oov(lexicons, text: str, pred) -> float | None:
    """The text's out-of-vocabulary rate against the lexicon of the language the model named."""
    if lexicons is None or not pred.top:
        return None
    rate = lexicons.oov(text[:4000], pred.top[0][0])
    return round(rate, 4) if rate is not None else None


def reapply_policy(df: pl.DataFrame, cfg: dict) -> pl.DataFrame:
    """Re-decide keep/drop from stored labels: a threshold change needs no re-labelling."""
    keeps, reasons = [], []
    policy = effective_policy(cfg, load_scorer(cfg))
    targets, min_share = _targets(cfg.get("codeswitch") or {})
    mixes = df["languages"].to_list() if "languages" in df.columns else [None] * df.height
    for lang, score, sig, mix in zip(df["lang"].to_list(), df["lang_score"].to_list(), df["signals"].to_list(), mixes):
        target_met = bool(targets and mix) and meets_target(lang, Mix(shares={m["lang"]: m["share"] for m in mix}), targets, min_share)
        keep, reason = decide(lang, 1.0 if target_met else score, {**sig, "lang_share": None} if target_met else sig, policy)
        keeps.append(keep)
        reasons.append(reason)
    return df.with_columns(pl.Series("keep", keeps, dtype=pl.Boolean), pl.Series("drop_reason", reasons, dtype=pl.String))
