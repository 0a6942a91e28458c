"""The resting mouth: closed (well under the review's closed-mouth threshold), never frozen,
smooth from frame to frame, the same for the same seed and frame, different across seeds."""
from __future__ import annotations

import numpy as np

from dhsdk.geometry import CORNERS, mouth_opening, mouth_width
from dhsdk.render.rest import MAX_PART, RestMotion
from dhsdk.render.smoothing import scale_opening

CLOSED_GAP = 0.05  # the review's closed mouth, eye distances


def neutral() -> np.ndarray:
    from dhsdk.bench.synthetic import neutral_lips

    return scale_opening(neutral_lips(), 0.0)  # gap closed, as an avatar's neutral lips are


def test_the_resting_mouth_is_closed_and_moves_a_little_smoothly():
    rest = RestMotion(neutral(), 25.0)
    lips = np.stack([rest(k) for k in range(25 * 30)])                     # 30 s
    gap = mouth_opening(lips)
    assert gap.min() >= -1e-6 and gap.max() <= MAX_PART + 1e-6 < CLOSED_GAP
    assert gap.std() > 0.1 * MAX_PART                                     # not a frozen patch
    width = mouth_width(lips)
    assert width.std() > 0 and np.abs(width / mouth_width(neutral()) - 1).max() < 0.02
    step = np.abs(np.diff(lips, axis=0)).max()
    assert step < 0.002                                                   # eye distances per frame: smooth
    corners = lips[:, list(CORNERS)]
    assert np.abs(corners - neutral()[list(CORNERS)]).max() < 0.02        # it stays the neutral mouth


def test_same_seed_same_motion_other_seed_other_motion_zero_amount_still():
    a, b, c = RestMotion(neutral(), 25.0, seed=1), RestMotion(neutral(), 25.0, seed=1), RestMotion(neutral(), 25.0, 2)
    np.testing.assert_array_equal(a(123), b(123))
    assert np.abs(a(123) - c(123)).max() > 0
    np.testing.assert_array_equal(RestMotion(neutral(), 25.0, amount=0.0)(77), neutral())
