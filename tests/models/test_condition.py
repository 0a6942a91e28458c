"""Keypoint condition map: geometry of the drawn lips and bad-keypoint errors."""
from __future__ import annotations

import numpy as np
import pytest

from dhsdk.errors import InputError
from dhsdk.models.condition import render_condition


def _ellipse_lips(cx=64.0, cy=80.0, open_px=5.0) -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, 20, endpoint=False)
    outer = np.c_[cx + 30 * np.cos(t), cy + 12 * np.sin(t)]
    inner = np.c_[cx + 20 * np.cos(t), cy + open_px * np.sin(t)]
    return np.vstack([outer, inner]).astype(np.float32)


def test_inner_mouth_area_grows_with_opening():
    closed = render_condition(_ellipse_lips(open_px=2), 128)
    opened = render_condition(_ellipse_lips(open_px=8), 128)
    assert (opened > 0.9).sum() > 2 * (closed > 0.9).sum()
    # inner area close to the ellipse area pi*a*b
    assert abs((opened > 0.75).sum() - np.pi * 20 * 8) < 0.15 * np.pi * 20 * 8
    assert closed[0, 0] == 0 and closed[80, 64 + 25] == pytest.approx(128 / 255)


@pytest.mark.parametrize("bad, match", [
    (np.full((40, 2), np.nan, np.float32), "NaN"),
    (_ellipse_lips() + 1000, "far outside"),
    (np.zeros((20, 2), np.float32), "expected \\(40, 2\\)"),
])
def test_bad_keypoints(bad, match):
    with pytest.raises(InputError, match=match):
        render_condition(bad, 128)
