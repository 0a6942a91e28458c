"""The shipped a2k weights: silence keeps the mouth closed and still, espeak speech opens it."""
import numpy as np
import pytest

from dhsdk.geometry import INNER_BOTTOM, INNER_TOP
from dhsdk.models.a2k_runner import A2K


def _opening(deltas):
    return deltas[:, INNER_BOTTOM, 1] - deltas[:, INNER_TOP, 1]


def test_silence_closed_and_speech_opens():
    pytest.importorskip("espeakng_loader")
    from dhsdk.adapters.tts.espeak import EspeakTTS
    from dhsdk.audio import load_audio

    a2k = A2K.load()
    silent = a2k.predict(np.zeros(16000, np.float32), 25)
    assert silent.shape == (25, 40, 2) and np.abs(silent).max() < 0.03
    chunk = EspeakTTS("en-us+m7").synthesize("Only nineteen dollars today, buy it now!")
    speech = a2k.predict(load_audio((chunk.pcm, chunk.sample_rate)), 30)
    assert np.mean(_opening(speech) > 0.05) > 0.3
