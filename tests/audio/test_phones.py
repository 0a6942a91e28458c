"""Phone timings from pocketsphinx: forced alignment against known word timings, recognition of
real speech, and bad input."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pocketsphinx")

from dhsdk.audio import load_audio  # noqa: E402
from dhsdk.audio.phones import BILABIAL, align, normalise_text, phones_at, recognize, recognize_phones  # noqa: E402
from dhsdk.errors import InputError  # noqa: E402


@pytest.fixture(scope="module")
def spoken():
    """espeak-ng saying a sentence with three bilabials, and its phoneme events."""
    from dhsdk.adapters.tts.espeak import EspeakTTS

    chunk = EspeakTTS("en-us", rate_wpm=160).synthesize("Please buy my bag")
    return load_audio((chunk.pcm, chunk.sample_rate)), chunk.phonemes


def test_alignment_covers_the_signal_in_order(spoken):
    pcm, _ = spoken
    phones = align(pcm, "Please buy my bag!")
    starts = [p.start for p in phones]
    assert starts == sorted(starts)
    assert all(p.end > p.start for p in phones)
    assert phones[-1].end == pytest.approx(len(pcm) / 16000, abs=0.03)
    labels = [p.label for p in phones if p.label != "SIL"]
    assert labels[:3] == ["P", "L", "IY"]
    assert sum(lab in BILABIAL for lab in labels) == 4      # p, b, m, b


def test_alignment_agrees_with_the_synthesizer(spoken):
    """Each bilabial found by the aligner overlaps espeak's own event for it (within 40 ms)."""
    pcm, events = spoken
    espeak_b = [t for t, ph in events if ph.lstrip("'\",%=")[:1] in ("p", "b", "m")]
    aligned_b = [p for p in align(pcm, "please buy my bag") if p.label in BILABIAL]
    assert len(espeak_b) == len(aligned_b)
    for t, p in zip(espeak_b, aligned_b):
        assert p.start - 0.04 <= t <= p.end + 0.04


def test_grid_word_timings(shared_data):
    """Forced alignment of a real GRID sentence lands on the corpus's own word timings."""
    clip = shared_data / "grid_s1" / "bbaf2n.mp4"
    words = [line.split() for line in (clip.with_suffix(".align")).read_text().splitlines()]
    spoken_words = [(int(a) / 25000, int(b) / 25000, w) for a, b, w in words if w != "sil"]
    phones = [p for p in align(load_audio(clip), " ".join(w for *_, w in spoken_words)) if p.label != "SIL"]
    # First phone of the sentence and last phone: within 60 ms of the corpus's boundaries.
    assert abs(phones[0].start - spoken_words[0][0]) < 0.06
    assert abs(phones[-1].end - spoken_words[-1][1]) < 0.06


def test_recognition_of_real_speech(shared_data):
    pcm = load_audio(shared_data / "eng.wav")[: 16000 * 8]
    text, phones = recognize(pcm)
    assert len(normalise_text(text)) >= 5
    assert phones[-1].end == pytest.approx(len(pcm) / 16000, abs=0.03)
    free = recognize_phones(pcm)
    # The two decoders agree on where speech is for most of the signal.
    t = np.arange(0.0, len(pcm) / 16000, 0.01)
    a = np.array([lab != "SIL" for lab in phones_at(phones, t)])
    b = np.array([lab != "SIL" for lab in phones_at(free, t)])
    assert np.mean(a == b) > 0.8


def test_bad_input():
    with pytest.raises(InputError, match="dictionary"):
        align(np.zeros(16000, np.float32), "12345 ??")
    with pytest.raises(InputError, match="NaN"):
        align(np.full(16000, np.nan, np.float32), "hello")
    with pytest.raises(InputError, match="no audio"):
        align(np.zeros(0, np.float32), "hello")
