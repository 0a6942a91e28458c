"""Sentence segmentation for streaming LLM text into TTS."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from dhsdk.adapters.segment import SentenceSplitter, split_sentences

TEXT = ("This dress is $19.99 today. Mr. Li says it ships in 2 days! 这件衣服只要¥199。"
        "现在下单，明天发货！Model SKU-2024.A is back in stock. Is 3.5 kg too heavy?")
EXPECTED = ["This dress is $19.99 today.", "Mr. Li says it ships in 2 days!", "这件衣服只要¥199。",
            "现在下单，明天发货！", "Model SKU-2024.A is back in stock.", "Is 3.5 kg too heavy?"]


def test_prices_codes_and_abbreviations_do_not_end_sentences():
    assert split_sentences(TEXT) == EXPECTED


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=12), min_size=1, max_size=40))
def test_streaming_pieces_give_the_same_sentences(cuts):
    """However the LLM chunks its output, the sentences are the same."""
    splitter = SentenceSplitter()
    out, pos = [], 0
    for n in cuts:
        out += splitter.feed(TEXT[pos:pos + n])
        pos += n
    out += splitter.feed(TEXT[pos:]) + splitter.flush()
    assert out == EXPECTED


def test_a_sentence_is_released_as_soon_as_it_is_certain():
    splitter = SentenceSplitter()
    assert splitter.feed("The price is $19.") == []  # could still become $19.99
    assert splitter.feed("99. Sizes") == ["The price is $19.99."]
    assert splitter.feed(" S to XL") == []
    assert splitter.flush() == ["Sizes S to XL"]


def test_long_sentences_are_cut_at_a_pause():
    long = "This summer dress, " + "which is light and soft, " * 12 + "is perfect."
    parts = split_sentences(long, max_chars=80)
    assert len(parts) > 1 and all(len(p) <= 80 for p in parts)
    assert " ".join(parts).replace("  ", " ") == long
