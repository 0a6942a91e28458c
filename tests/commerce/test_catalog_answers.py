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


@pytest.mark.parametrize("question,answer", [
    ("Does it ship to Canada?", "Yes, the pen ships to Canada; it ships in two days."),
    ("can you deliver to the USA please", "Yes, the pen ships to the USA; it ships in two days."),
    ("Do you ship to Germany?", "The pen ships to United States and Canada only, not to Germany."),
    ("能寄到加拿大吗", "可以，pen能寄到加拿大，ships in two days。"),
    ("When does it ship?", "The pen ships in two days."),
])
def test_destinations_are_answered_from_the_ships_to_list(question, answer):
    cat = catalog_from_dict({"products": [{"id": "p", "name": "pen", "shipping": "ships in two days",
                                           "ships_to": ["United States", "Canada"]}]})
    assert LocalLLM(cat).answer(question) == answer


@pytest.mark.parametrize("shipping,question,known", [
    ("ships within 24 hours with free delivery", "Does it ship to Canada?", False),
    ("ships within 24 hours with free delivery", "Do you ship internationally?", False),
    ("free shipping within Canada and the US", "does it ship to Canada?", True),
    ("ships worldwide in 5 days", "do you deliver to the UK?", True),
])
def test_a_destination_the_catalogue_does_not_name_is_not_known(shipping, question, known):
    """The regression: "does it ship to Canada?" got the generic shipping line."""
    cat = catalog_from_dict({"products": [{"id": "d", "name": "dress", "shipping": shipping}]})
    answer = LocalLLM(cat).answer(question)
    if known:
        assert answer.startswith("Yes, the dress ships") and shipping in answer
    else:
        assert answer.startswith("I don't know yet whether the dress ships") and shipping not in answer


def test_the_sample_catalogue_says_where_the_dress_ships(llm):
    assert ask(llm, "does the dress ship to Canada?").startswith("Yes, the silk summer dress ships to Canada")
    assert "I don't know yet" in ask(llm, "does the serum ship to Canada?")


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
