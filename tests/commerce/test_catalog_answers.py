"""Catalogue loading and the offline catalogue-grounded answerer."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

import dhsdk
from dhsdk.adapters.llm.local import LocalLLM, detect_intent
from dhsdk.commerce.catalog import catalog_from_dict, load_catalog
from dhsdk.errors import InputError

SAMPLE = Path(dhsdk.__file__).parent / "assets" / "commerce" / "sample_catalog.yaml"


@pytest.fixture(scope="module")
def llm():
    return LocalLLM(load_catalog(SAMPLE))


def ask(llm, q):
    return llm.chat([{"role": "user", "content": q}])


@pytest.mark.parametrize("question,field", [("How much is it?", "price"), ("what sizes do you have", "sizes"),
                                            ("When does it ship?", "shipping"), ("is it in stock", "stock"),
                                            ("这个多少钱", "price"), ("有什么尺码", "sizes"), ("什么时候发货", "shipping")])
def test_intents(question, field):
    assert detect_intent(question) == field


def test_answers_come_from_the_catalogue(llm):
    cat = llm.catalog
    dress = cat.get("dress-01")
    assert cat.price_text(dress.price) in ask(llm, "How much is it?")
    assert all(s in ask(llm, "What sizes do you have?") for s in dress.sizes)
    assert dress.shipping in ask(llm, "When does it ship?")
    assert "$12" in ask(llm, "how much is the water bottle?")
    assert "sold out" in ask(llm, "is the bottle in stock?")
    assert "lining" in ask(llm, "Is it see-through?")
    assert "19.99" in ask(llm, "这个连衣裙多少钱")


def test_it_never_invents_what_the_catalogue_lacks(llm):
    for q in ["What sizes does the serum come in?", "when will the bottle ship?", "Who designed the dress?"]:
        answer = ask(llm, q)
        assert re.search(r"don't have|check", answer), answer
        assert not re.search(r"\d", answer.replace("C face", "")), answer  # no made-up numbers


def test_no_price_means_no_price():
    cat = catalog_from_dict({"products": [{"id": "x", "name": "mystery box"}]})
    answer = LocalLLM(cat).answer("how much is it?")
    assert "$" not in answer and "don't have" in answer


@pytest.mark.parametrize("data,match", [({}, "products"), ({"products": [{"name": "x"}]}, "id"),
                                        ({"products": [{"id": "a", "name": "x", "prise": 3}]}, "unknown fields"),
                                        ({"products": [{"id": "a", "name": "x", "price": "cheap"}]}, "malformed"),
                                        ({"products": [{"id": "a", "name": "x"}, {"id": "a", "name": "y"}]}, "unique")])
def test_bad_catalogues_are_clear_errors(data, match):
    with pytest.raises(InputError, match=match):
        catalog_from_dict(data)


def test_missing_and_unparsable_files(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        load_catalog(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("products: [", encoding="utf-8")
    with pytest.raises(InputError, match="cannot be parsed"):
        load_catalog(bad)


def test_faq_answers_need_the_question_words_even_with_a_single_entry():
    cat = catalog_from_dict({"products": [{"id": "mug", "name": "coffee mug",
                                           "faq": [{"q": "Is it heavy?", "a": "No, it weighs 300 grams."}]}]})
    llm = LocalLLM(cat)
    assert llm.answer("is the mug heavy?") == "No, it weighs 300 grams."
    for q in ["is it waterproof?", "is it heavy or waterproof or microwave safe?"]:
        assert "300" not in llm.answer(q), q
