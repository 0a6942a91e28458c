"""Lip controls: openness gain and One-Euro temporal smoothing."""
from __future__ import annotations

import numpy as np
import pytest

from dhsdk.errors import InputError
from dhsdk.geometry import mouth_opening
from dhsdk.render.smoothing import LipControls, scale_opening


def open_lips() -> np.ndarray:
    from dhsdk.models.lipshape import coeffs_to_deltas, template

    return (template() + coeffs_to_deltas(np.array([0.6, 0, 0, 0, 0, 0], np.float32))) * 100 + 50


def test_scale_opening() -> None:
    lips = open_lips()
    gap = float(mouth_opening(lips))
    assert gap > 5
    assert np.array_equal(scale_opening(lips, 1.0), lips)
    assert float(mouth_opening(scale_opening(lips, 0.0))) == pytest.approx(0.0, abs=1e-4)
    assert float(mouth_opening(scale_opening(lips, 2.0))) == pytest.approx(2 * gap, rel=1e-5)
    doubled = scale_opening(lips, 2.0)
    assert np.array_equal(doubled[[0, 10, 20, 30]], lips[[0, 10, 20, 30]])          # corners stay
    # Lips keep their thickness: outer and inner points of a column move together.
    assert np.allclose(doubled[5] - doubled[25], lips[5] - lips[25], atol=1e-4)


def test_constant_input_is_exactly_still() -> None:
    f = LipControls(smoothing=0.8)
    lips = open_lips()
    outs = [f(lips) for _ in range(6)]
    assert all(np.array_equal(outs[0], o) for o in outs)


def test_smoothing_zero_passes_through_and_reset_forgets() -> None:
    f = LipControls(smoothing=0.0)
    a, b = open_lips(), open_lips() + 3
    assert np.array_equal(f(a), a) and np.array_equal(f(b), b)
    g = LipControls(smoothing=0.9)
    g(a)
    assert not np.array_equal(g(b), b)
    g.reset()
    assert np.array_equal(g(b), b)


def test_jitter_is_reduced_and_steps_are_followed() -> None:
    rng = np.random.default_rng(0)
    base = open_lips()
    noisy = [base + rng.normal(0, 0.5, base.shape).astype(np.float32) for _ in range(50)]
    spread = []
    for strength in (0.5, 0.8):
        f = LipControls(smoothing=strength)
        spread.append(float(np.std(np.stack([f(x) for x in noisy])[10:] - base)))
    # One-pole low-pass at the floor cutoff (3 Hz, 1.2 Hz at 25 fps): white-noise std x 0.52, x 0.36.
    assert spread[1] < spread[0] < 0.6 * float(np.std(np.stack(noisy)[10:] - base))
    # A large step (speech onset) is followed within a few frames at moderate strength.
    f = LipControls(smoothing=0.5)
    f(base)
    target = base + 20.0
    outs = [f(target) for _ in range(5)]
    assert np.abs(outs[-1] - target).max() < 2.0
    assert np.abs(outs[0] - base).max() > 5.0          # fast motion passes with little lag


@pytest.mark.parametrize("kwargs", [{"smoothing": -0.1}, {"smoothing": 1.5}, {"openness_gain": -1.0},
                                    {"fps": 0.0}])
def test_bad_settings_raise(kwargs: dict) -> None:
    with pytest.raises(InputError):
        LipControls(**kwargs)
