"""The shared encoder's clock and pixel rules (the file and RTMP tests cover it end to end)."""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from dhsdk.sinks.encoder import even_image, infer_frame_rate


@pytest.mark.parametrize("fps", [24, 25, Fraction(30000, 1001), 30, 50, 60, 12.5])
def test_frame_rate_is_recovered_from_the_first_frame_audio(fps):
    samples = round(16000 / Fraction(fps))           # frame 0 of the stream clock
    assert infer_frame_rate(samples, 16000) == Fraction(fps)


def test_even_image_pads_only_odd_sides():
    img = np.arange(5 * 7 * 3, dtype=np.uint8).reshape(5, 7, 3)
    out = even_image(img)
    assert out.shape == (6, 8, 3)
    assert np.array_equal(out[:5, :7], img)
    assert np.array_equal(out[5, :7], img[4]) and np.array_equal(out[:5, 7], img[:, 6])
    even = np.zeros((4, 6, 3), np.uint8)
    assert even_image(even) is even
