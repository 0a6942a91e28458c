"""espeak-ng TTS: real English and Mandarin audio with phoneme events, one chunk per sentence."""
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
