"""The soundtrack on the picture's timeline, its envelope and silence (dhsdk/eval/soundtrack.py)."""
from __future__ import annotations

import numpy as np
import pytest

from eval_media import SHIFT_S
from dhsdk.eval.soundtrack import soundtrack, speech_envelope, stream_offset
from dhsdk.pipeline.activity import speech_activity

SR = 16000


def content_lag(a: np.ndarray, b: np.ndarray, start: int = 2 * SR, length: int = SR, search: int = 4000) -> int:
    """Samples by which ``b``'s content is later than ``a``'s (cross-correlation peak)."""
    window = b[start - search:start + length + search]
    corr = np.correlate(window, a[start:start + length], "valid")
    return int(np.argmax(corr)) - search


def test_soundtrack_places_the_audio_where_a_player_plays_it(tts_render, tts_desynced):
    base = soundtrack(tts_render)
    assert stream_offset(tts_render) == pytest.approx(0.0, abs=1e-3)
    for shift, path in tts_desynced.items():
        moved = soundtrack(path)
        assert content_lag(base, moved) == pytest.approx(shift * SR, abs=16), shift   # within 1 ms
    # Audio that starts early (the video starts 120 ms late) loses its head; the picture's frame 0 rules.
    assert stream_offset(tts_desynced[-SHIFT_S]) == pytest.approx(-SHIFT_S, abs=1e-3)


def test_no_audio_track_gives_none(tmp_path):
    import av

    path = tmp_path / "silent.mp4"
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=25)
        s.width, s.height, s.pix_fmt = 64, 64, "yuv420p"
        for _ in range(5):
            c.mux(s.encode(av.VideoFrame.from_ndarray(np.zeros((64, 64, 3), np.uint8), format="rgb24")))
        c.mux(s.encode(None))
    assert stream_offset(path) is None and soundtrack(path) is None


def test_silence_is_found_above_room_noise():
    """1 s pause, 1 s of voiced sound, 1 s pause, over room noise at -40 dBFS (GRID's level):
    the renderer's fixed -45 dBFS floor would call the noise speech; the evaluation's floor
    follows the noise, and silence starts a ramp (0.16 s) away from the sound."""
    rng = np.random.default_rng(0)
    fps, n = 25.0, 75
    t = np.arange(3 * SR) / SR
    voice = 0.3 * np.sin(2 * np.pi * 180 * t) * (1 + 0.5 * np.sin(2 * np.pi * 4 * t)) * ((t >= 1) & (t < 2))
    pcm = (voice + 0.01 * rng.standard_normal(len(t))).astype(np.float32)
    env = speech_envelope(pcm, fps, n)
    assert (speech_activity(env.level_db, fps) > 0).all()            # the renderer's floor: no silence at all
    assert env.silent[:20].all() and env.silent[-20:].all()          # > 0.2 s from the sound
    assert not env.silent[25:50].any() and (env.envelope[26:49] > 10).all()
    assert (env.envelope[env.silent] == 0).all()


def test_digital_silence_keeps_the_renderers_definition():
    pcm = np.zeros(2 * SR, np.float32)
    pcm[SR // 2:SR] = 0.2 * np.sin(np.arange(SR // 2) * 0.07)
    env = speech_envelope(pcm, 25.0, 50)
    assert env.threshold_db == pytest.approx(max(-45.0, float(env.level_db.max()) - 35.0))
    np.testing.assert_array_equal(env.activity, speech_activity(env.level_db, 25.0))
