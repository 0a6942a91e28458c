"""The resting mouth: what every frame shows when nobody speaks.

Silence shows the avatar's neutral closed mouth (``avatar.neutral_lips``), never the
footage's own lips (talking footage would keep talking), and not as a frozen patch either: a
resting face keeps moving a little. :class:`RestMotion` adds slow, small, smooth motion to the
neutral lips: the lips part and press by at most :data:`MAX_PART` eye distances (a quarter of
the closed-mouth threshold of the material review), the corners widen and narrow by
:data:`WIDTH` of the mouth width, and the mouth drifts with the jaw by :data:`DRIFT`. Each
component is a sum of two sinusoids with periods of a few seconds and seeded phases, so the
motion never visibly repeats, is the same for the same (seed, frame), and costs a few
microseconds per frame.
"""
from __future__ import annotations

import numpy as np

from dhsdk.geometry import OUTER
from dhsdk.render.smoothing import shift_opening

MAX_PART = 0.012        # eye distances: the most the resting lips part (review's closed mouth: < 0.05)
WIDTH = 0.006           # relative change of the mouth width, either way
DRIFT = (0.002, 0.004)  # eye distances of sideways / up-down drift with the jaw
# Periods in seconds of the two sinusoids of each component (part, width, drift x, drift y):
# incommensurate, between breathing and slow posture changes.
PERIODS_S = ((4.3, 7.1), (5.9, 9.7), (6.7, 11.3), (3.7, 8.3))


class RestMotion:
    """Neutral lips with natural micro-motion, as a function of the output frame index.

    Args:
        neutral_lips: (40, 2) float32 the avatar's resting closed mouth, canonical units.
        fps: output frame rate (frame k plays at k / fps seconds).
        seed: phases of the motion; two streams with different seeds move differently.
        amount: scales every component (0: the neutral mouth, still).
    """

    def __init__(self, neutral_lips: np.ndarray, fps: float, seed: int = 0, amount: float = 1.0):
        self.neutral = np.asarray(neutral_lips, np.float32)
        self.fps = float(fps)
        self.amount = float(amount)
        self._phases = np.random.default_rng(seed).uniform(0.0, 2.0 * np.pi, (len(PERIODS_S), 2))
        self._omega = 2.0 * np.pi / np.asarray(PERIODS_S, np.float64)
        self._centre = self.neutral[OUTER].mean(0)

    def components(self, k: int) -> np.ndarray:
        """(4,) float64 in [-1, 1]: part, width, drift x, drift y at output frame ``k``."""
        t = int(k) / self.fps
        return np.sin(self._omega * t + self._phases).mean(1)

    def __call__(self, k: int) -> np.ndarray:
        """(40, 2) float32 resting lips at output frame ``k`` (canonical units)."""
        if self.amount == 0.0:
            return self.neutral.copy()
        part, width, dx, dy = self.components(k)
        a = self.amount
        lips = shift_opening(self.neutral, a * MAX_PART * (0.5 + 0.5 * part) ** 2)
        lips[:, 0] = self._centre[0] + (lips[:, 0] - self._centre[0]) * (1.0 + a * WIDTH * width)
        lips += np.array([a * DRIFT[0] * dx, a * DRIFT[1] * dy], np.float32)
        return lips
