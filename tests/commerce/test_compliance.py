"""The compliance filter catches banned claims it was not written against (held-out list)."""
from __future__ import annotations

import pytest

from dhsdk.commerce.compliance import ComplianceFilter, Rule
from dhsdk.errors import InputError

# Phrasings written independently of the rules' patterns: each must be rewritten or skipped.
HELD_OUT_BANNED = [
    "This is THE BEST EVER summer dress!",
    "Honestly the best serum on the market.",
    "It's the best bottle in the world.",
    "We are the number-one brand for moms.",
    "Voted #1 by our customers!",
    "Lowest price anywhere, trust me.",
    "It is 100 percent guaranteed.",
    "Results are guaranteed to work in a week.",
    "This cream heals eczema overnight.",
    "Our tea prevents cancer.",
    "Clinically proven formula.",
    "Absolutely zero risk for you.",
    "No side-effects whatsoever.",
    "全网最低价，错过就没有了！",
    "这是史上最低价。",
    "本店销量第一。",
    "国家级品质认证。",
    "这款面料是最好的。",
    "这款精华能根治痘痘。",
    "喝了能降血糖。",
    "保证有效，无效退款。",
    "顶级工艺，独一无二。",
]

CLEAN = [
    "This silk dress is $19.99 today.",
    "It comes in four sizes.",
    "Tap the cart below to get yours now!",
    "这件连衣裙今天只要199元。",
    "现在下单，明天发货！",
    "It keeps drinks cold for twenty-four hours.",
]


@pytest.mark.parametrize("sentence", HELD_OUT_BANNED)
def test_every_held_out_banned_phrase_is_caught(sentence):
    v = ComplianceFilter().check(sentence)
    assert v.hits, sentence
    assert v.text is None or v.text != sentence
    if v.text is not None:  # a rewrite must not itself be banned
        assert not ComplianceFilter().check(v.text).hits, v.text


@pytest.mark.parametrize("sentence", CLEAN)
def test_clean_sentences_pass_unchanged(sentence):
    v = ComplianceFilter().check(sentence)
    assert v.text == sentence and not v.hits


def test_medical_claims_are_skipped_not_rewritten():
    assert ComplianceFilter().check("This cream heals eczema overnight.").text is None


def test_rules_from_a_file_add_to_the_defaults(tmp_path):
    f = tmp_path / "rules.yaml"
    f.write_text('rules:\n  - {pattern: "(?i)limited edition", action: rewrite, replacement: "special", '
                 'category: scarcity, reason: not limited}\n', encoding="utf-8")
    flt = ComplianceFilter.from_file(f)
    assert flt.check("A limited edition dress.").text == "A special dress."
    assert flt.check("Voted #1!").hits  # defaults kept


def test_bad_rules_are_clear_errors():
    with pytest.raises(InputError, match="action"):
        ComplianceFilter([Rule("x", "delete")])
    with pytest.raises(InputError, match="invalid pattern"):
        ComplianceFilter([Rule("(", "skip")])
