"""Code-switching on real sentences: documents built from FLORES sentences of a target
language and English at several mixes; the measured character shares are within 0.1 of
the truth, and a target-language document with 30 % English is routed to the target."""

from __future__ import annotations

import random

import pytest

from curation_platform.codeswitch import language_mix, route, segments
from curation_platform.langid import LanguageIdentifier


@pytest.fixture(scope="module")
def ident():
    return LanguageIdentifier()


def _mixed(a: list[str], b: list[str], share_b: float, n: int, rng: random.Random) -> tuple[str, float]:
    """Sentences of `a` and `b` interleaved so that about `share_b` of the characters are `b`."""
    out, chars_b, total = [], 0, 0
    ia = ib = 0
    for _ in range(n):
        take_b = total and chars_b / total < share_b or (not total and share_b >= 0.5)
        s = b[ib] if take_b else a[ia]
        ib, ia = (ib + 1, ia) if take_b else (ib, ia + 1)
        out.append(s)
        total += len(s)
        chars_b += len(s) if take_b else 0
    rng.shuffle(out)
    truth = sum(len(s) for s in out if s in set(b)) / sum(len(s) for s in out)
    return " ".join(out), truth


@pytest.mark.parametrize("target", ["tgl_Latn", "ind_Latn"])
def test_segment_shares_are_within_0_1_of_the_truth(target, flores, ident):
    rng = random.Random(0)
    a, b = flores(target)[600:900], flores("eng_Latn")[600:900]
    errors = []
    for k, share in enumerate((0.0, 0.1, 0.3, 0.5, 0.7)):
        for rep in range(4):
            off = (k * 4 + rep) * 12
            text, truth = _mixed(a[off:], b[off:], share, 12, rng)
            mix = language_mix([text], ident)[0]
            errors.append(abs(mix.share("eng_Latn") - truth))
            assert abs(mix.share("eng_Latn") - truth) <= 0.1, (target, share, truth, mix.shares)
    assert sum(errors) / len(errors) <= 0.06


def test_target_document_with_30_percent_english_is_routed_to_the_target(flores, ident):
    text, truth = _mixed(flores("tgl_Latn")[700:760], flores("eng_Latn")[700:760], 0.3, 12, random.Random(1))
    mix = language_mix([text], ident)[0]
    assert mix.main == "tgl_Latn" and 0.2 <= mix.outside_main <= 0.4 and mix.switches >= 2
    assert route("tgl_Latn", mix, ["tgl_Latn"]) == "tgl_Latn"
    # a document labelled English but 40 % Tagalog is still filed under the target
    text2, _ = _mixed(flores("eng_Latn")[800:860], flores("tgl_Latn")[800:860], 0.4, 12, random.Random(2))
    mix2 = language_mix([text2], ident)[0]
    assert route("eng_Latn", mix2, ["tgl_Latn"]) == "tgl_Latn"
    assert route("eng_Latn", mix2, ["tgl_Latn"], {"tgl_Latn": 0.6}) == "eng_Latn"  # per-language minimum share


def test_unpunctuated_scripts_use_windows(flores):
    thai = " ".join(flores("tha_Thai")[:10])
    segs = segments(thai, "Thai", window=200)
    assert len(segs) >= len(thai) // 200 and all(len(s) <= 200 for s in segs)
    assert "".join(s.replace(" ", "") for s in segs) == thai.replace(" ", "")
