"""The footage's mouth state: the per-frame lip gap against a float64 reference, the closed-mouth
threshold on the readings the real clips give (see the module docstring), and lip motion."""
from __future__ import annotations

import numpy as np
import pytest

from dhsdk.avatar import mouth_state as ms
from dhsdk.geometry import INNER_BOTTOM, INNER_TOP


def test_lip_gap_matches_a_per_frame_reference():
    rng = np.random.default_rng(0)
    to_canonical = rng.normal(size=(7, 2, 3))
    lips = rng.normal(size=(7, 40, 2)) * 50
    expected = []
    for m, lp in zip(to_canonical, lips):
        canon = lp @ m[:, :2].T + m[:, 2]
        expected.append(canon[INNER_BOTTOM, 1] - canon[INNER_TOP, 1])
    # float32 output of float64 arithmetic: relative 1e-6 of values up to ~1e3
    assert ms.lip_gap(to_canonical, lips) == pytest.approx(np.array(expected), rel=1e-5, abs=1e-4)
    assert ms.lip_gap(to_canonical, lips).dtype == np.float32


def _talking(rest: float, n: int = 250, seed: int = 0) -> np.ndarray:
    """A gap series like GRID's: closed at ``rest`` (+- 0.01 tracker scatter) for the first and
    last fifth, speech opening to 0.05-0.2 in between."""
    rng = np.random.default_rng(seed)
    gap = rest + rng.normal(0, 0.01 / 3, n)
    k = np.arange(n // 5, 4 * n // 5)
    gap[k] += 0.05 + 0.075 * (1 + np.sin(2 * np.pi * k / 9.0))
    return gap


@pytest.mark.parametrize("rest", [0.0, 0.015, 0.02])
def test_closed_frames_of_talking_footage_are_found(rest):
    """Closed frames read ``rest`` (0 on GRID; a face whose closed lips the mesh reads a little
    apart gets a higher threshold): all of them fall below the threshold, no speech frame does."""
    gap = _talking(rest)
    threshold = ms.closed_threshold(gap)
    assert threshold == pytest.approx(max(ms.CLOSED_LIMITS[0], rest + ms.CLOSED_MARGIN), abs=0.005)
    n = len(gap)
    closed = np.r_[np.arange(n // 5), np.arange(4 * n // 5, n)]
    assert (gap[closed] < threshold).all()
    assert (gap[n // 5:4 * n // 5] >= threshold).all()


def test_parted_lips_throughout_have_no_closed_frame():
    """sun.mp4: lips parted over the teeth at 0.10-0.13 the whole clip."""
    gap = np.random.default_rng(1).uniform(0.10, 0.13, 500)
    assert ms.closed_threshold(gap) == ms.CLOSED_LIMITS[1]
    assert not (gap < ms.closed_threshold(gap)).any()


def test_threshold_ignores_nan_and_handles_nothing():
    assert ms.closed_threshold(np.array([np.nan, 0.0, 0.0])) == pytest.approx(ms.CLOSED_MARGIN)
    assert ms.closed_threshold(np.array([])) == ms.CLOSED_LIMITS[0]


def test_lips_moving_in_speech_only():
    gap = _talking(0.0)
    moving = ms.lips_moving(gap, 25.0)
    n = len(gap)
    half = int(round(ms.MOTION_WINDOW_S * 25 / 2))
    assert moving[n // 5 + half:4 * n // 5 - half].all()
    assert not moving[:n // 5 - half].any() and not moving[4 * n // 5 + half:].any()
    # a still mouth with the tracker's scatter never moves
    still = np.random.default_rng(2).normal(0.12, 0.005, 300)
    assert not ms.lips_moving(still, 25.0).any()
    assert ms.lips_moving(np.array([]), 25.0).shape == (0,)


def test_lips_moving_window_is_in_seconds():
    """One open-close of 0.06 over 0.2 s: at 25 and 50 fps the moving stretch lasts the same time."""
    spans = []
    for fps in (25.0, 50.0):
        t = np.arange(int(4 * fps)) / fps
        gap = np.where(np.abs(t - 2.0) < 0.1, 0.06, 0.0)
        spans.append(ms.lips_moving(gap, fps).sum() / fps)
    assert spans[0] == pytest.approx(spans[1], abs=0.05) and 0.4 < spans[0] < 1.0
