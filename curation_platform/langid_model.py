"""The platform's own language-ID model at run time: a supervised fastText model trained
here (shipped inside the package, or retrained by `curate train-langid` / the
`train_langid` asset), routed with the stock lid.176 for languages outside its label set,
and open-set: text it cannot vouch for gets `und`, never a neighbour's label.

Every prediction carries the rule that decided it (`LangPrediction.rule`):

- `model`: our model, its words within the language's calibrated lexicon;
- `stock`: a language our model has no label for, named by the stock model;
- `unknown`: our model named a language, but the text's words are not that language's
  (its out-of-vocabulary rate is above the language's ceiling, or the evidence of its OOV
  rate, function-word profile and the model's margin together is below the threshold fitted
  on domains the model never saw: `langid_openset`) and the stock model does not know it
  either: a language nobody trained for;
- `lexicon`: the two best labels are measured confusables and the words of the text favour
  the second one (its pair table's log-odds, `Lexicons.add_pair`; without a table, its
  lexicon covers the text better by `lexicon_margin`): close relatives are told apart by words;
- `confusable`: the two best labels are a measured confusable pair, too close to call, and
  no pair table has a word of the text;
- `script`: our model named a language it never saw written in the text's script (a label
  is only as good as the scripts it was trained on); the stock model may name it, and the
  label stage's script rules name a second script's own language (Baybayin -> `tgl_Tglg`);
- `low_score`: no label reached `min_score`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Mapping, Sequence

import polars as pl
import regex

from curation_platform.langid import UND, LangPrediction, LanguageIdentifier, PredictionMemo, to_flores_lang
from curation_platform.lexicon import Lexicons
from curation_platform.scripts import dominant_script

BUNDLED = "bundled"
# Digits, punctuation, symbols and separators: shared by every language. Combining marks stay
# (Thai, Khmer, Myanmar and Devanagari vowels are marks; `\W` would cut words at each one).
_NOISE = regex.compile(r"[\p{N}\p{P}\p{S}\p{Z}\p{C}_]+")
_SCRIPT_OWN = {"jpn": "Jpan", "kor": "Hang"}
_SCRIPT_FREE = ("Hans", "Hant", "Jpan", "Hang", "Hira", "Kana")  # decided by their own tables, not by a label's script


def bundled_model_dir() -> Path:
    """The model folder shipped inside the package (model.ftz, lexicon.npz, model.json, README.md)."""
    return Path(str(resources.files("curation_platform").joinpath("data/langid")))


def resolve_model_dir(value: str | Path | None) -> Path | None:
    """`bundled` / None -> the shipped model; a folder path -> that folder (None if it has no model)."""
    if value in (None, "", BUNDLED):
        path = bundled_model_dir()
    else:
        path = Path(value)
    return path if (path / "model.json").is_file() else None


def model_file(model_dir: Path) -> Path:
    for name in ("model.ftz", "model.bin"):
        if (model_dir / name).is_file():
            return model_dir / name
    raise FileNotFoundError(f"{model_dir}: no model.ftz or model.bin")


def normalize_words(text: str) -> str:
    """Lower case, digits and punctuation to single spaces, marks kept."""
    return " ".join(_NOISE.sub(" ", text.lower()).split())


def normalize_batch(texts: Sequence[str]) -> list[str]:
    """`normalize_words` of every text as one polars expression (about 4x faster than
    the loop; the same lower-casing, the same classes, equal on the bench corpora)."""
    if not texts:
        return []
    return pl.Series(texts, dtype=pl.String).str.to_lowercase().str.replace_all(_NOISE.pattern, " ").str.strip_chars(" ").to_list()


def preprocess_batch(texts: Sequence[str]) -> list[tuple[str, str]]:
    """`preprocess_parts` of every text, the normalising done for the whole batch."""
    return [(script, f"script_{script.lower()} {words}") for script, words in zip(map(dominant_script, texts), normalize_batch(texts))]


def preprocess_parts(text: str) -> tuple[str, str]:
    """(dominant script, the model's input line): the normalised words with the script as
    a feature token."""
    script = dominant_script(text)
    return script, f"script_{script.lower()} {normalize_words(text)}"


class TrainedIdentifier(LanguageIdentifier):
    """A model trained here: labels are FLORES codes, input is preprocessed text. The
    label's script is the text's own (a Baybayin text is `tgl_Tglg`, never `tgl_Latn`)."""

    def predict(self, texts: Sequence[str], scripts: Sequence[str | None] | None = None) -> list[LangPrediction]:
        parts = preprocess_batch([(t or "")[: self.max_chars] for t in texts])
        labels, probs = self.model.predict([p[1] for p in parts], k=self.k)
        out = []
        for raw, (script, _), labs, ps in zip(texts, parts, labels, probs):
            top = tuple(zip([lab[9:] for lab in labs], [round(p if p < 1.0 else 1.0, 4) for p in ps.tolist()]))
            if script == "Zyyy" or not top:
                out.append(LangPrediction(UND, 0.0, script, (), "low_score"))
                continue
            label, score = top[0]
            lang3, label_script = label.split("_", 1)
            if script != label_script and _SCRIPT_OWN.get(lang3) != script and script not in ("Hans", "Hant", "Jpan"):
                label = f"{lang3}_{script}"
            out.append(LangPrediction(label if score >= self.min_score else UND, score, script, top, "model" if score >= self.min_score else "low_score"))
        return out


@dataclass
class _Labels:
    labels: list[str]

    def get_labels(self) -> list[str]:
        return self.labels


class OpenSetIdentifier:
    """Our model first; the stock model for languages we have no label for; `und` for
    text that neither can vouch for (see the module docstring for the rules)."""

    def __init__(self, trained: TrainedIdentifier, stock: LanguageIdentifier | None, lexicons: Lexicons | None = None,
                 confusable: Mapping[str, Sequence[str]] | Sequence[Sequence[str]] = (), margin: float = 0.1,
                 fallback_score: float = 0.5, prefer: set[str] | None = None, check_stock_below: float = 0.95,
                 lexicon_margin: float = 0.02):
        self.trained, self.stock, self.lexicons = trained, stock, lexicons
        self.margin, self.fallback_score, self.prefer, self.check_stock_below = margin, fallback_score, prefer, check_stock_below
        self.pairs = confusable_pairs(confusable)
        self._partners: dict[str, set[str]] = {}
        for a, b in (tuple(pair) for pair in self.pairs):
            self._partners.setdefault(a, set()).add(b)
            self._partners.setdefault(b, set()).add(a)
        self.lexicon_margin = lexicon_margin
        self.known = set(trained.model.get_labels())
        self.known_langs = {lab.replace("__label__", "") for lab in self.known}
        self.known3 = {lab.split("_")[0] for lab in self.known_langs}
        self.min_score = trained.min_score
        self.memo = PredictionMemo()

    @property
    def model(self) -> _Labels:
        stock = set(self.stock.model.get_labels()) if self.stock else set()
        return _Labels(sorted(stock | self.known))

    def confusable_with(self, lang: str) -> set[str]:
        """Languages measured as confusable with `lang` (FLORES codes)."""
        return set(self._partners.get(lang, ()))

    def _pair_decision(self, text: str, p: LangPrediction, label: str, rivals: Sequence[tuple[str, float]]) -> LangPrediction | None:
        """Close relatives decided by the words each prefers (the pair tables of `Lexicons.add_pair`):
        the rival the text's words favour most over the named label wins; None where no table
        has a word of the text (the OOV comparison and the margin rule decide then)."""
        judged = _pair_rivals(self.lexicons, text, label, rivals)
        if not judged:
            return None
        score, rival, _ = min(judged)
        return p if score >= 0 else _relabelled(p, label, rival, rivals)

    def predict(self, texts: Sequence[str], scripts: Sequence[str | None] | None = None) -> list[LangPrediction]:
        """Each distinct text is predicted once (`PredictionMemo`); `scripts` is not needed."""
        return self.memo(self._predict, texts, None, (self.trained.model, self.stock.model_path if self.stock is not None else None))

    def _predict(self, texts: Sequence[str], scripts: Sequence[str | None] | None = None) -> list[LangPrediction]:
        ours = self.trained.predict(texts)
        out: list[LangPrediction | None] = [None] * len(ours)
        ask_stock: list[int] = []
        for i, p in enumerate(ours):
            if not p.top:
                out[i] = p
                continue
            label = p.top[0][0]
            if p.lang != UND and p.lang not in self.known_langs and p.script not in _SCRIPT_FREE:
                # the model never saw this language in this script (Dhivehi's Thaana named Thai): no label of ours
                out[i] = LangPrediction(UND, p.score, p.script, p.top, "script")
                ask_stock.append(i)
                continue
            unknown = False
            if self.lexicons is not None and p.lang != UND:
                unknown, _ = self.lexicons.unknown(texts[i], label, margin=p.top[0][1] - (p.top[1][1] if len(p.top) > 1 else 0.0))
            if unknown:
                out[i] = LangPrediction(UND, p.score, p.script, p.top, "unknown")
                ask_stock.append(i)
                continue
            if len(p.top) >= 2 and p.lang != UND and label in self._partners:
                rivals = [(c, pc) for c, pc in p.top[1:] if c in self._partners[label]]
                decided = self._pair_decision(texts[i], p, label, rivals) if rivals and self.lexicons is not None else None
                if decided is not None and decided is not p:
                    out[i] = decided
                    continue
                if decided is None and rivals and self.lexicons is not None:
                    # no pair table has a word of the text: the language whose lexicon covers it better decides
                    mine = self.lexicons.oov(texts[i], label)
                    best = min(((self.lexicons.oov(texts[i], c), c, pc) for c, pc in rivals), key=lambda x: (x[0] is None, x[0] or 0))
                    if mine is not None and best[0] is not None and best[0] < mine - self.lexicon_margin:
                        out[i] = _relabelled(p, label, best[1], rivals)
                        continue
                (a, pa), (b, pb) = p.top[0], p.top[1]
                if decided is None and pa - pb < self.margin and frozenset((a, b)) in self.pairs:
                    out[i] = LangPrediction(UND, pa, p.script, p.top, "confusable")
                    continue
            out[i] = p
            if self.stock is not None and (p.lang == UND or p.score < self.check_stock_below or (self.prefer is not None and label not in self.prefer)):
                ask_stock.append(i)
        if self.stock is not None and ask_stock:
            stock = self.stock.predict([texts[i] for i in ask_stock])
            for i, s in zip(ask_stock, stock):
                mine = out[i]
                if s.lang == UND:
                    continue
                s3 = s.lang.split("_")[0]
                foreign = s3 not in self.known3
                if mine.rule in ("unknown", "script"):
                    # a language only the stock model knows; if it names one of ours, it is the same closed-set guess
                    if foreign and s.score >= self.fallback_score:
                        out[i] = s._replace(rule="stock")
                elif foreign and s.score >= self.fallback_score and (mine.lang == UND or mine.score < s.score):
                    out[i] = s._replace(rule="stock")
                elif self.prefer is not None and mine.lang != UND and mine.top[0][0] not in self.prefer:
                    out[i] = s._replace(rule="stock")
        return out  # type: ignore[return-value]


def _relabelled(p: LangPrediction, label: str, rival: str, rivals: Sequence[tuple[str, float]]) -> LangPrediction:
    """`p` filed under the close relative the words chose (rule `lexicon`), in the text's script;
    its score is the group's: the model is sure of the group, the words pick the member."""
    group = p.top[0][1] + sum(pc for _, pc in rivals)
    return p._replace(lang=rival.split("_")[0] + p.lang[len(label.split("_")[0]):], score=round(min(1.0, group), 4), rule="lexicon")


def _pair_rivals(lexicons: Lexicons, text: str, label: str, rivals: Sequence[tuple[str, float]]) -> list[tuple[float, str, float]]:
    """(mean log-odds of `label` over the rival, rival, its probability) for each rival with a pair table."""
    out = []
    for c, pc in rivals:
        score = lexicons.pair_score(text, label, c)
        if score is not None:
            out.append((score, c, pc))
    return out


def confusable_pairs(confusable: Mapping[str, Sequence[str]] | Sequence[Sequence[str]]) -> set[frozenset[str]]:
    """Pairs from a measured table {lang: [confusable langs]} or from groups [[a, b, c], ...]."""
    if isinstance(confusable, Mapping):
        return {frozenset((a, b)) for a, others in confusable.items() for b in others if b != a}
    return {frozenset((x, y)) for group in confusable for x in group for y in group if x != y}


@lru_cache(maxsize=8)
def _lexicons_version(path: str, mtime_ns: int) -> Lexicons:
    return Lexicons.load(path)


def _lexicons(path: str) -> Lexicons:
    return _lexicons_version(path, Path(path).stat().st_mtime_ns)


def load_model_dir(model_dir: str | Path, stock: LanguageIdentifier | None, cfg_langid: Mapping | None = None) -> OpenSetIdentifier:
    """The open-set identifier over a model folder (ours, bundled or retrained)."""
    cfg_langid = cfg_langid or {}
    model_dir = Path(model_dir)
    meta = json.loads((model_dir / "model.json").read_text("utf-8"))
    trained = TrainedIdentifier(model_file(model_dir), k=3, min_score=float(cfg_langid.get("min_score", 0.25)),
                                max_chars=int(cfg_langid.get("max_chars", 4000)))
    router = cfg_langid.get("router", {}) or {}
    lex = _lexicons(str(model_dir / "lexicon.npz")) if (model_dir / "lexicon.npz").is_file() and router.get("open_set", True) else None
    confusable = router.get("confusable") or meta.get("confusable") or {}
    prefer = prefer_ours(meta) if "scores" in meta else meta.get("prefer_trained")
    return OpenSetIdentifier(trained, stock, lex, confusable, float(router.get("margin", 0.1)),
                             fallback_score=float(router.get("fallback_score", 0.5)),
                             prefer=set(prefer) if prefer is not None and router.get("prefer_stock_where_better", True) else None)


def prefer_ours(meta: Mapping, tolerance: float = 0.005) -> list[str]:
    """Our languages, less those where the stock model measured clearly better (by more than
    `tolerance` F1): a tie is ours, so the stock model is only asked where it helps."""
    s = meta["scores"]
    mine = s.get("ours") or s.get("trained") or {}
    stock = s.get("stock", {}).get("per_lang", {})
    worse = {lang for lang, f1 in mine.get("per_lang", {}).items() if f1 < stock.get(lang, 0.0) - tolerance}
    return sorted(set(meta.get("languages", mine.get("per_lang", {}))) - worse)


def known_languages(identifier) -> set[str]:
    """ISO 639-3 codes an identifier (stock, ours, routed) can name."""
    return {to_flores_lang(lab) for lab in identifier.model.get_labels()}
