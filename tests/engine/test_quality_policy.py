"""Quality signals measure, the policy decides, with per-language thresholds."""

from __future__ import annotations

from curation_platform.policy import decide
from curation_platform.quality import quality_signals
from curation_platform.settings import language_policy, load_config
from curation_platform.words import stop_words, words


def _doc(lines: list[str], n: int = 8) -> str:
    return "\n".join(" ".join(lines[i : i + 3]) for i in range(0, 3 * n, 3))


def test_words_are_characters_in_unspaced_scripts():
    assert words("Saya makan nasi.") == ["saya", "makan", "nasi"]
    assert words("ภาษาไทย") == ["ภ", "า", "ษ", "า", "ไ", "ท", "ย"]  # letters (sara aa is a letter)
    assert words("ที่นี่") == ["ที่", "นี่"]  # combining vowel and tone marks stay on their base
    assert words("東京は") == ["東", "京", "は"]
    assert words("Kota Bangkok ภาษา") [:2] == ["kota", "bangkok"]


def test_stop_lists_exist_for_required_languages():
    for code in ("ind_Latn", "zsm_Latn", "jav_Latn", "sun_Latn", "tgl_Latn", "ceb_Latn", "vie_Latn", "eng_Latn"):
        assert len(stop_words(code)) >= 30, code


def test_real_text_passes_and_signals_are_sane(flores):
    cfg = load_config()
    for code in ("ind_Latn", "tgl_Latn", "vie_Latn", "eng_Latn", "jav_Latn", "sun_Latn", "ceb_Latn"):
        text = _doc(flores(code))
        sig = quality_signals(text, stop=stop_words(code))
        assert 100 < sig["n_words"] < 1000
        assert sig["stop_word_ratio"] > 0.15, (code, sig["stop_word_ratio"])
        assert sig["lines_end_punct_ratio"] >= 0.85
        assert sig["dup_line_frac"] == 0.0
        keep, reason = decide(code, 0.9, sig, cfg["policy"])
        assert keep, (code, reason)
    for code in ("tha_Thai", "khm_Khmr", "lao_Laoo", "mya_Mymr"):
        text = _doc(flores(code))
        sig = quality_signals(text)
        assert sig["mean_word_length"] < 3.0  # character-based counting (Myanmar clusters carry marks)
        keep, reason = decide(code, 0.9, sig, cfg["policy"])
        assert keep, (code, reason)


def test_policy_drops_with_the_first_failing_rule(flores):
    cfg = load_config()["policy"]
    good = _doc(flores("ind_Latn"))
    assert decide("ind_Latn", 0.9, quality_signals("Beli sekarang!", stop=stop_words("ind_Latn")), cfg) == (False, "min_words")
    spam = "murah murah diskon besar " * 60
    assert decide("ind_Latn", 0.9, quality_signals(spam, stop=stop_words("ind_Latn")), cfg)[1] in {"min_lines_end_punct_ratio", "max_top_2gram_frac", "min_stop_words"}
    repeated = "\n".join([good.split("\n")[0]] * 10)
    assert decide("ind_Latn", 0.9, quality_signals(repeated, stop=stop_words("ind_Latn")), cfg) == (False, "max_dup_line_frac")
    assert decide("ind_Latn", 0.3, quality_signals(good), cfg) == (False, "min_lang_score")
    assert decide("und", 0.9, quality_signals(good), cfg) == (False, "lang_und")
    assert decide("ind_Latn", 0.9, quality_signals(""), cfg) == (False, "empty_text")


def test_per_language_and_per_script_overrides_resolve():
    cfg = load_config(overrides={"policy": {"languages": {"sun_Latn": {"min_words": 10}}}})["policy"]
    assert language_policy(cfg, "sun_Latn")["min_words"] == 10
    assert language_policy(cfg, "sun_Latn")["min_lang_score"] == 0.25
    assert language_policy(cfg, "tha_Thai")["min_lines_end_punct_ratio"] is None
    assert language_policy(cfg, "eng_Latn")["min_words"] == 50


def test_lexicon_hits_are_labels_for_spaced_and_unspaced_scripts():
    lex = load_config()["lexicons"]
    jav = quality_signals("Sugeng enjing, panjenengan sampun dhahar?", lang="jav_Latn", lexicons=lex)
    assert jav["honorific_hits"] == 4 and jav["taboo_hits"] is None  # no taboo list shipped
    thai = quality_signals("สวัสดีครับ ท่านสบายดีไหมครับ", lang="tha_Thai", lexicons=lex)
    assert thai["honorific_hits"] == 3
    assert quality_signals("plain text", lang="eng_Latn", lexicons=lex)["honorific_hits"] is None
    custom = {"taboo": {"ind_Latn": ["anjing"]}}
    assert quality_signals("Dasar anjing! anjingnya lucu.", lang="ind_Latn", lexicons=custom)["taboo_hits"] == 1  # whole tokens only


def test_ascii_fast_path_tokenizes_like_the_unicode_pattern():
    """words() sends ASCII text through the standard library's `re`; on any ASCII string
    (punctuation, symbols, control characters, apostrophes, hyphens) it must give exactly
    what the Unicode pattern gives."""
    import random

    from curation_platform.words import _WORD

    rng = random.Random(0)
    alphabet = list(range(128)) + list(range(97, 123)) * 3 + [32, 39, 45, 95] * 4
    for _ in range(3000):
        text = "".join(chr(rng.choice(alphabet)) for _ in range(rng.randrange(1, 200)))
        assert words(text) == _WORD.findall(text.lower()), repr(text)
    assert words("Don't re-use e-mail_addresses -- OK?") == ["don't", "re-use", "e-mail_addresses", "ok"]


def test_repetition_signals_match_their_definitions():
    """Gopher's n-gram signals, computed from one sort over hashed n-grams, against a direct count."""
    from collections import Counter

    def reference(ws: list[str]) -> dict[str, float]:
        total = sum(map(len, ws))
        out = {}
        for n in (2, 3, 4):
            grams = [tuple(ws[i : i + n]) for i in range(len(ws) - n + 1)]
            counts = Counter(grams)
            top = max(counts.values(), default=0)
            first = next((g for g in grams if counts[g] == top), None)
            out[f"top_{n}gram_frac"] = top * sum(map(len, first)) / total if top > 1 else 0.0
        for n in (5, 10):
            grams = [tuple(ws[i : i + n]) for i in range(len(ws) - n + 1)]
            counts = Counter(grams)
            covered = {j for i, g in enumerate(grams) if counts[g] > 1 for j in range(i, i + n)}
            out[f"dup_{n}gram_frac"] = sum(len(ws[j]) for j in covered) / total if total else 0.0
        return out

    texts = ["a b a b a b c d c d c d " * 20, "satu dua tiga empat lima " * 3 + "enam tujuh", "x",
             " ".join(f"w{i % 7} v{i % 11}" for i in range(300)), "kata " * 12 + "lain"]
    for text in texts:
        sig, ref = quality_signals(text), reference(words(text))
        for key, value in ref.items():
            assert abs(sig[key] - value) < 1e-12, (text[:30], key, sig[key], value)


def test_repetition_signals_of_a_batch_are_each_documents_own():
    """The batch computes every document's n-grams over the batch's words end to end:
    a gram may not run from one document into the next, and each document's figures
    equal those it gets alone (the reference above checks those)."""
    from curation_platform.quality import gram_stats, gram_stats_batch

    texts = ["satu dua tiga empat lima enam", "satu dua tiga empat lima enam", "lima enam satu dua", "x", "",
             "a b a b a b c d c d c d " * 5, " ".join(f"w{i % 7} v{i % 11}" for i in range(300))]
    ws = [words(t) for t in texts]
    lens = [list(map(len, w)) for w in ws]
    batch = gram_stats_batch(ws, lens)
    alone = [gram_stats(w, ln) for w, ln in zip(ws, lens)]
    for key, col in batch.items():
        assert col == [a[key] for a in alone], key
    assert batch["top_2gram_frac"][:2] == [0.0, 0.0]  # repeated across documents, never within one: no repetition


def test_alpha_words_ratio_counts_tokens_with_a_letter():
    sig = quality_signals("abc 12 a1 -- é! ๑๒ ภาษา")  # Thai digits are not letters, Thai letters are
    assert sig["alpha_words_ratio"] == 4 / 7
