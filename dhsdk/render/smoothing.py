"""User controls on the target lip keypoints, shared by the mouth renderers: mouth-openness
gain and temporal smoothing.

Smoothing is a One-Euro filter (Casiez et al., CHI 2012) over the whole lip shape: one cutoff
per frame from the shape's mean speed, so slow drift and tracker jitter are smoothed hard while
fast articulation passes with little lag, and the shape is never distorted by per-point lag.
The update ``y += alpha * (x - y)`` keeps a constant input *exactly* constant, so a still input
gives a bit-identical still mouth.
"""
from __future__ import annotations

import math

import numpy as np

from dhsdk.errors import InputError
from dhsdk.geometry import CORNERS

# Lower-lip / upper-lip point pairs facing each other across the mouth (same column), for the
# inner ring and the outer ring, excluding the corners.
_PAIRS_LOWER = np.array([20 + j for j in range(1, 10)] + list(range(1, 10)))
_PAIRS_UPPER = np.array([40 - j for j in range(1, 10)] + [20 - j for j in range(1, 10)])
_INNER_PAIRS = slice(0, 9)
_LOWER_SHARE = 0.7  # share of an opening change taken by the lower lip (the jaw)


def scale_opening(lips: np.ndarray, gain: float) -> np.ndarray:
    """Scale the mouth opening: the inner-lip gap of every column times ``gain``.

    The lower lip takes 70 % of the change (the jaw), the upper lip 30 %; outer and inner
    points of a column move together so the lips keep their thickness; corners stay.

    Args:
        lips: (40, 2) float32 lip keypoints (crop pixels or canonical units).
        gain: >= 0; 1 leaves the lips unchanged, 0 closes the mouth.

    Returns:
        (40, 2) float32.
    """
    lips = np.asarray(lips, np.float32)
    if gain == 1.0:
        return lips
    down = _down(lips)
    gap = np.maximum((lips[_PAIRS_LOWER[_INNER_PAIRS]] - lips[_PAIRS_UPPER[_INNER_PAIRS]]) @ down, 0.0)
    return shift_opening(lips, (gain - 1.0) * gap)


def shift_opening(lips: np.ndarray, change: float | np.ndarray) -> np.ndarray:
    """Open the mouth by ``change`` (close it for a negative change), shared between the lips
    like :func:`scale_opening`: the lower lip takes 70 %, the upper 30 %, corners stay.

    Args:
        lips: (40, 2) float32 lip keypoints.
        change: the inner-lip gap's change in the lips' units: one value, or (9,) per inner
            column from the image-left corner.

    Returns:
        (40, 2) float32 (a new array).
    """
    lips = np.asarray(lips, np.float32)
    down = _down(lips)
    column = np.broadcast_to(np.asarray(change, np.float32), (len(_PAIRS_LOWER) // 2,))
    step = np.tile(column, 2)[:, None] * down
    out = lips.copy()
    out[_PAIRS_LOWER] += _LOWER_SHARE * step
    out[_PAIRS_UPPER] -= (1.0 - _LOWER_SHARE) * step
    return out


def _down(lips: np.ndarray) -> np.ndarray:
    """(2,) float32 unit vector perpendicular to the corner-to-corner axis, towards the chin."""
    axis = lips[CORNERS[1]] - lips[CORNERS[0]]
    return np.array([-axis[1], axis[0]], np.float32) / max(float(np.hypot(*axis)), 1e-6)


class ShapeOneEuro:
    """One-Euro filter over a whole point set: one cutoff per step from the set's mean speed.

    Slow drift and jitter are smoothed hard, fast motion passes with little lag, and the
    shape is never distorted by per-point lag. ``y += alpha * (x - y)`` keeps a constant
    input exactly constant.

    Args:
        min_cutoff: Hz, the cutoff at rest.
        beta: Hz of extra cutoff per unit of normalised speed (scale units per second).
        fps: step rate.
        d_cutoff: Hz, smoothing of the speed estimate.
    """

    def __init__(self, min_cutoff: float, beta: float, fps: float, d_cutoff: float = 1.0):
        self.min_cutoff, self.beta, self.fps, self.d_cutoff = float(min_cutoff), float(beta), float(fps), float(d_cutoff)
        self.reset()

    def reset(self) -> None:
        """Forget the past: the next step passes through."""
        self._prev: np.ndarray | None = None
        self._speed = 0.0

    def _alpha(self, cutoff: float) -> float:
        return 1.0 / (1.0 + self.fps / (2.0 * math.pi * cutoff))

    def __call__(self, x: np.ndarray, scale: float) -> np.ndarray:
        """Filter one step.

        Args:
            x: (P, D) points.
            scale: the shape's size in the points' units (speed is measured in it).

        Returns:
            (P, D) filtered points (a new array, x's dtype).
        """
        if self._prev is None:
            self._prev = np.array(x, copy=True)
            return self._prev.copy()
        step = x - self._prev
        speed = float(np.abs(step).mean()) * self.fps / max(float(scale), 1e-6)
        self._speed += self._alpha(self.d_cutoff) * (speed - self._speed)
        alpha = self._alpha(self.min_cutoff + self.beta * self._speed)
        self._prev = self._prev + np.asarray(alpha, step.dtype) * step
        return self._prev.copy()


class LipControls:
    """Openness gain then One-Euro smoothing of a stream of target lips (one call per frame).

    Args:
        smoothing: strength in [0, 1]: 0 = off, 0.5 = a 3 Hz floor cutoff, 1 = 0.3 Hz.
        openness_gain: >= 0, see :func:`scale_opening`.
        fps: frame rate of the calls.
    """

    BETA = 4.0          # Hz of extra cutoff per mouth width per second of shape speed

    def __init__(self, smoothing: float = 0.0, openness_gain: float = 1.0, fps: float = 25.0):
        if not 0.0 <= smoothing <= 1.0:
            raise InputError(f"smoothing must be in [0, 1] (0 = off), got {smoothing}")
        if not openness_gain >= 0.0:
            raise InputError(f"openness_gain must be >= 0 (1 = as given), got {openness_gain}")
        if not fps > 0.0:
            raise InputError(f"fps must be > 0, got {fps}")
        self.smoothing = float(smoothing)
        self.openness_gain = float(openness_gain)
        self.fps = float(fps)
        self._filter = ShapeOneEuro(30.0 * 0.01 ** self.smoothing, self.BETA, self.fps)

    def reset(self) -> None:
        """Forget the past (a cut, a new utterance): the next call passes through."""
        self._filter.reset()

    def __call__(self, lips: np.ndarray) -> np.ndarray:
        """Filter one frame's lips: (40, 2) -> (40, 2) float32 (a new array)."""
        x = scale_opening(np.asarray(lips, np.float32), self.openness_gain)
        if self.smoothing == 0.0:
            return x
        width = float(np.hypot(*(x[CORNERS[1]] - x[CORNERS[0]])))
        return self._filter(x, width)
