"""espeak-ng TTS: real English and Mandarin audio with phoneme events, one chunk per sentence."""
import time

import numpy as np
import pytest

from dhsdk.adapters.tts.espeak import EspeakTTS
from dhsdk.errors import InputError

pytest.importorskip("espeakng_loader")


@pytest.mark.parametrize("voice,text", [("en-us", "Only nineteen dollars. Buy it now!"),
                                        ("cmn", "这件衣服只要一百九十九元。欢迎下单。")])
def test_speech_with_phonemes(voice, text):
    chunks = list(EspeakTTS(voice).synthesize_stream(text))
    assert len(chunks) == 2
    assert chunks[1].pts == pytest.approx(chunks[0].duration)
    whole = EspeakTTS(voice).synthesize(text)
    assert whole.duration > 1.0 and np.sqrt(np.mean(whole.pcm ** 2)) > 0.02
    times = [t for t, _ in whole.phonemes]
    assert len(times) > 10 and times == sorted(times) and times[-1] < whole.duration
    # Speech energy is present where phonemes are (not only silence).
    spoken = [p for _, p in whole.phonemes if not p.startswith(("_", "("))]
    assert len(spoken) > 8


def test_rate_and_pitch_change_audio():
    slow = EspeakTTS("en-us", rate_wpm=100).synthesize("Welcome to the live stream.")
    fast = EspeakTTS("en-us", rate_wpm=300).synthesize("Welcome to the live stream.")
    assert slow.duration > 1.5 * fast.duration


def test_unknown_voice():
    with pytest.raises(InputError, match="voice"):
        EspeakTTS("xx-nope").synthesize("hello")


def test_out_of_range_rate_or_pitch():
    with pytest.raises(InputError, match="80..450"):
        EspeakTTS("en-us", rate_wpm=1000)
    with pytest.raises(InputError, match="pitch"):
        EspeakTTS("en-us", pitch=-5)


def test_sentences_stream_in_order_and_the_first_comes_before_the_rest_exist():
    text = ("Welcome to the live room! This dress is $19.99 today, down from $39.99. "
            "Model SKU-2024.A ships in 2 days. 现在下单，明天发货！Tap the cart below.")
    t0 = time.perf_counter()
    stream = EspeakTTS("auto").synthesize_stream(text)
    first = next(stream)
    t_first = time.perf_counter() - t0
    chunks = [first, *stream]
    t_all = time.perf_counter() - t0
    assert [c.text for c in chunks] == ["Welcome to the live room!", "This dress is $19.99 today, down from $39.99.",
                                        "Model SKU-2024.A ships in 2 days.", "现在下单，明天发货！",
                                        "Tap the cart below."]
    assert [c.pts for c in chunks] == pytest.approx(np.cumsum([0] + [c.duration for c in chunks[:-1]]))
    assert t_first < 0.5 * t_all  # the first sentence did not wait for the other four


def test_auto_voice_speaks_chinese_with_the_mandarin_voice():
    auto, en, zh = EspeakTTS("auto"), EspeakTTS("en-us"), EspeakTTS("cmn")
    text = "这件连衣裙只要一百九十九元。"
    assert auto.voice_for(text) == "cmn" and auto.voice_for("Only $19.99!") == "en-us"
    # Same voice, same phonemes; the English voice reads Chinese characters differently.
    assert [p for _, p in auto.synthesize(text).phonemes] == [p for _, p in zh.synthesize(text).phonemes]
    assert [p for _, p in en.synthesize(text).phonemes] != [p for _, p in zh.synthesize(text).phonemes]
