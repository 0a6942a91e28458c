"""MouthState: silence is the resting mouth, speech the neutral mouth plus the gained delta,
ramps blend linearly between; smoothing belongs to one state (two streams never share it)."""
from __future__ import annotations

import numpy as np
import pytest

from dhsdk.errors import InputError
from dhsdk.render.rest import RestMotion
from dhsdk.render.state import MouthState, blend_lips

from test_rest import neutral


def delta(k: int) -> np.ndarray:
    d = np.zeros((40, 2), np.float32)
    d[21:30, 1] = d[1:10, 1] = 0.1 * (1 + np.sin(0.9 * k))
    return d


def test_silence_rests_speech_follows_ramps_blend():
    state = MouthState(neutral(), 25.0, openness_gain=1.5)
    rest = RestMotion(neutral(), 25.0)
    np.testing.assert_array_equal(state(3, delta(3), 0.0), rest(3))
    np.testing.assert_allclose(state(4, delta(4), 1.0), neutral() + 1.5 * delta(4), atol=1e-6)
    half = state(5, delta(5), 0.5)
    np.testing.assert_allclose(half, 0.5 * (rest(5) + neutral() + 1.5 * delta(5)), atol=1e-6)
    np.testing.assert_array_equal(blend_lips(rest(6), neutral(), delta(6), 7.0), blend_lips(rest(6), neutral(),
                                                                                             delta(6), 1.0))


def test_two_states_smooth_independently():
    a, b, alone = (MouthState(neutral(), 25.0, smoothing=0.8) for _ in range(3))
    for k in range(50):
        a(k, delta(k), 1.0)                        # one stream speaks ...
        got = b(k, delta(0), 0.0)                  # ... the other rests
        np.testing.assert_array_equal(got, alone(k, delta(0), 0.0))
    smoothed = MouthState(neutral(), 25.0, smoothing=0.8)
    raw = MouthState(neutral(), 25.0)
    outs = np.array([[s(k, delta(k), 1.0) for s in (smoothed, raw)] for k in range(50)])
    assert np.abs(np.diff(outs[:, 0], axis=0)).mean() < 0.6 * np.abs(np.diff(outs[:, 1], axis=0)).mean()


def test_bad_gain_is_refused():
    with pytest.raises(InputError, match="openness_gain"):
        MouthState(neutral(), 25.0, openness_gain=-1.0)
