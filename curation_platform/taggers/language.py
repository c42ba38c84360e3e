"""Language taggers, in the order the label stage runs them: the model's prediction, the
segment mix, then the rules that may re-file a document (a declared hint, the script,
the segments' vote, code-switch routing). Each writes `lang` / `lang_score` / `lang_rule`
only where its rule applies, so `lang_rule` names the last rule that decided."""

from __future__ import annotations

import polars as pl

from curation_platform.codeswitch import Mix, language_mix, meets_target, route
from curation_platform.langid import UND, flores_code, to_flores_lang
from curation_platform.langid_model import known_languages
from curation_platform.taggers.base import Batch, Tagger, register
from curation_platform.variants import script_share, script_variant

LANGUAGES_DTYPE = pl.List(pl.Struct({"lang": pl.String, "share": pl.Float64}))
LABEL_COLUMNS = {"lang": pl.String, "lang_score": pl.Float64, "lang_rule": pl.String}


def targets(cfg: dict) -> tuple[list[str], dict[str, float] | float]:
    """Code-switch targets and minimum shares with every user code normalised."""
    cs_cfg = cfg.get("codeswitch") or {}
    codes = [flores_code(t) for t in cs_cfg.get("targets") or []]
    min_share = cs_cfg.get("min_share", 0.3)
    if isinstance(min_share, dict):
        min_share = {k if k == "default" else flores_code(k): v for k, v in min_share.items()}
    return codes, min_share


def target_met(frame: pl.DataFrame, cfg: dict) -> list[bool]:
    """Per row: a target-language document whose segments give the target its minimum
    share, which passed its language test (mixed text scores low at document level)."""
    codes, min_share = targets(cfg)
    if not codes or "languages" not in frame.columns:
        return [False] * frame.height
    return [bool(mix) and meets_target(lang, Mix(shares={m["lang"]: m["share"] for m in mix}), codes, min_share)
            for lang, mix in zip(frame["lang"].to_list(), frame["languages"].to_list())]


def _mixes(batch: Batch) -> list[Mix]:
    return batch.shared.get("mixes") or [Mix() for _ in range(batch.frame.height)]


def _oov(lexicons, text: str, pred) -> float | None:
    """The text's out-of-vocabulary rate against the lexicon of the language the model named."""
    if lexicons is None or not pred.top:
        return None
    rate = lexicons.oov(text[:4000], pred.top[0][0])
    return round(rate, 4) if rate is not None else None


@register
class LangId(Tagger):
    """The identifier's prediction per document (ours, open-set, routed to the stock model)."""

    name = "langid"
    columns = {**LABEL_COLUMNS, "script": pl.String}
    signals = {"lang_oov": pl.Float64}

    def tag(self, batch: Batch):
        preds = self.context.identifier.predict(batch.texts)
        batch.shared["preds"] = preds
        lexicons = getattr(self.context.identifier, "lexicons", None)
        return {"lang": [p.lang for p in preds], "lang_score": [p.score for p in preds], "script": [p.script for p in preds],
                "lang_rule": [p.rule or "model" for p in preds], "lang_oov": [_oov(lexicons, t, p) for t, p in zip(batch.texts, preds)]}


@register
class Segments(Tagger):
    """The segment-level mix: share of (script-weighted) characters per language, one
    batched model call over every segment of the batch."""

    name = "segments"
    columns = {"languages": LANGUAGES_DTYPE}

    def tag(self, batch: Batch):
        cs_cfg, var_cfg = self.cfg.get("codeswitch") or {}, self.cfg.get("variants") or {}
        preds = batch.shared["preds"]

        def relabel(pred, segment: str) -> str:
            return script_variant(pred.lang, pred.script, pred.top, segment, var_cfg)[0] if pred.script != "Zyyy" else pred.lang

        mixes = language_mix(batch.texts, self.context.identifier, [p.script for p in preds], int(cs_cfg.get("min_segment_chars", 15)), preds, relabel) \
            if cs_cfg.get("enabled", True) else [Mix() for _ in preds]
        batch.shared["mixes"] = mixes
        return {"languages": [[{"lang": k, "share": v} for k, v in m.shares.items()] for m in mixes]}


def _hint_lang(hint: str | None) -> str | None:
    if not hint:
        return None
    first = hint.split(",")[0].strip()
    return to_flores_lang(first) if first else None


@register
class Hint(Tagger):
    """A declared language (`lang_hint`) is trusted only where the model cannot separate
    it: among the top-k, a measured confusable of the prediction, or a language the model
    has no label for."""

    name = "hint"
    columns = LABEL_COLUMNS
    signals = {"lang_from_hint": pl.Float64}

    def tag(self, batch: Batch):
        ident = self.context.identifier
        known = known_languages(ident)
        confusable_with = getattr(ident, "confusable_with", lambda lang: set())
        langs, scores, rules = batch.column("lang"), batch.column("lang_score"), batch.column("lang_rule")
        flags = []
        for i, (pred, hint) in enumerate(zip(batch.shared["preds"], batch.column("lang_hint"))):
            hint3, lang = _hint_lang(hint), langs[i]
            hit = 0.0
            if hint3 and pred.script != "Zyyy" and not lang.startswith(hint3 + "_"):
                in_top = dict((code.split("_")[0], p) for code, p in pred.top)
                hint_code = f"{hint3}_{pred.script}"
                if hint3 in in_top or hint3 not in known or (lang != UND and lang in confusable_with(hint_code)):
                    langs[i], scores[i], rules[i], hit = hint_code, in_top.get(hint3, scores[i]), "hint", 1.0
            flags.append(hit)
        return {"lang": langs, "lang_score": scores, "lang_rule": rules, "lang_from_hint": flags}


@register
class Script(Tagger):
    """Script rules (`variants`): Jawi is a Malay-world language, not Arabic; a script
    only one language writes names it."""

    name = "script"
    columns = LABEL_COLUMNS
    signals = {"lang_from_script": pl.Float64}

    def tag(self, batch: Batch):
        var_cfg = self.cfg.get("variants") or {}
        langs, scores, rules = batch.column("lang"), batch.column("lang_score"), batch.column("lang_rule")
        hinted = batch.column("lang_from_hint", 0.0)
        flags = []
        for i, (pred, text) in enumerate(zip(batch.shared["preds"], batch.texts)):
            hit = 0.0
            if not hinted[i] and pred.script != "Zyyy":
                langs[i], srule = script_variant(langs[i], pred.script, pred.top, text, var_cfg)
                if srule is not None:  # the model's score was for a language the script rules out
                    hit, scores[i], rules[i] = 1.0, script_share(text, pred.script), srule
            flags.append(hit)
        return {"lang": langs, "lang_score": scores, "lang_rule": rules, "lang_from_script": flags}


def main_language(mix: Mix, confusable_with) -> str:
    """The language with the largest share once each language counts its measured
    confusables with it (Malay segments of an Indonesian page are not a third language);
    its own share breaks ties."""
    if not mix.shares:
        return UND
    grouped = {lang: share + sum(mix.shares.get(c, 0.0) for c in confusable_with(lang)) for lang, share in mix.shares.items()}
    return max(grouped, key=lambda lang: (round(grouped[lang], 4), mix.shares[lang]))


@register
class SegmentVote(Tagger):
    """A document of several segments takes the language of the largest share of them
    (with its measured confusables), scored by their confidence; `und` when the segments
    nobody can name hold more of the text."""

    name = "segment_vote"
    columns = LABEL_COLUMNS
    signals = {"lang_share": pl.Float64}

    def tag(self, batch: Batch):
        confusable_with = getattr(self.context.identifier, "confusable_with", lambda lang: set())
        langs, scores, rules = batch.column("lang"), batch.column("lang_score"), batch.column("lang_rule")
        hinted, scripted = batch.column("lang_from_hint", 0.0), batch.column("lang_from_script", 0.0)
        shares: list[float | None] = []
        for i, (pred, mix) in enumerate(zip(batch.shared["preds"], _mixes(batch))):
            share = None
            if not hinted[i] and not scripted[i] and mix.segments >= 2:
                main = main_language(mix, confusable_with)
                # segments filed under a measured confusable of the main language are not another language
                share = round(mix.share_of_all(main) + sum(mix.share_of_all(c) for c in confusable_with(main)), 4) if main != UND else 0.0
                if main != UND and share >= 1.0 - mix.labelled:
                    if langs[i] != main or pred.rule == "unknown":  # the segments overrule the whole-text label
                        rules[i] = "segments"
                    langs[i], scores[i] = main, mix.confidences.get(main, 0.0)
                else:
                    langs[i], rules[i] = UND, "unknown" if mix.main_unknown or pred.rule == "unknown" else "segments_und"
                    share = mix.main_share
            shares.append(share)
        return {"lang": langs, "lang_score": scores, "lang_rule": rules, "lang_share": shares}


@register
class CodeSwitch(Tagger):
    """Code-switch routing: a document with a target language among its segments at the
    target's minimum share is filed under the target; the share outside the document's
    language and the number of switches are signals."""

    name = "codeswitch"
    columns = {**LABEL_COLUMNS, "_target_met": pl.Boolean}
    signals = {"code_switch_share": pl.Float64, "code_switch_switches": pl.Float64, "routed_from_label": pl.Float64, "lang_share": pl.Float64}

    def tag(self, batch: Batch):
        codes, min_share = targets(self.cfg)
        langs, scores, rules = batch.column("lang"), batch.column("lang_score"), batch.column("lang_rule")
        shares = batch.column("lang_share")
        out = {k: [] for k in ("code_switch_share", "code_switch_switches", "routed_from_label", "_target_met")}
        for i, mix in enumerate(_mixes(batch)):
            routed = route(langs[i], mix, codes, min_share) if codes and mix.shares else langs[i]  # und documents too: mixed text often is
            was_routed = routed != langs[i]
            if was_routed:  # filed under its target language; its score is the target's share
                langs[i], scores[i], rules[i] = routed, mix.share(routed), "codeswitch_target"
            met = bool(codes) and meets_target(langs[i], mix, codes, min_share)
            if met:  # the target's share passed the language test: no second test on the main share
                shares[i] = None
            out["code_switch_share"].append(round(1.0 - mix.share(langs[i]), 4) if mix.shares else None)
            out["code_switch_switches"].append(float(mix.switches) if mix.shares else None)
            out["routed_from_label"].append(float(was_routed))
            out["_target_met"].append(met)
        return {"lang": langs, "lang_score": scores, "lang_rule": rules, "lang_share": shares, **out}
