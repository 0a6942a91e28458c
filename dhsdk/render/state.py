"""One stream's render state: from a2k lip deltas and speech activity to the target lips of
every output frame.

Per output frame k (DESIGN.md, "Real time"):

    rest    = neutral lips + natural micro-motion at k           (:class:`RestMotion`)
    driven  = neutral lips + openness_gain * a2k delta
    target  = rest + w * (driven - rest)      w: speech activity in [0, 1], ramping in and out
    lips    = temporal smoothing of target    (One-Euro, :class:`LipControls`)

Every frame has target lips: silence shows the resting mouth, never the footage's own. The
state (the smoothing filter) belongs to one stream: two streams of one avatar each own one,
so neither sees the other's past. Everything here is in the canonical face frame.
"""
from __future__ import annotations

import numpy as np

from dhsdk.errors import InputError
from dhsdk.render.rest import RestMotion
from dhsdk.render.smoothing import LipControls


def blend_lips(rest: np.ndarray, neutral: np.ndarray, delta: np.ndarray, weight: float,
               openness_gain: float = 1.0) -> np.ndarray:
    """Target lips of one frame, before smoothing.

    Args:
        rest: (40, 2) resting lips of the frame (canonical units).
        neutral: (40, 2) the avatar's neutral lips (canonical units).
        delta: (40, 2) a2k lip deltas from the neutral mouth.
        weight: speech activity: 0 = rest, 1 = fully speech-driven (clipped to [0, 1]).
        openness_gain: scales the predicted motion (1 = as predicted).

    Returns:
        (40, 2) float32.
    """
    rest = np.asarray(rest, np.float32)
    w = float(min(max(weight, 0.0), 1.0))
    if w == 0.0:
        return rest.copy()
    driven = np.asarray(neutral, np.float32) + np.float32(openness_gain) * np.asarray(delta, np.float32)
    return rest + np.float32(w) * (driven - rest)


class MouthState:
    """Target lips for one stream's frames, in frame order.

    Args:
        neutral_lips: (40, 2) float32 the avatar's resting closed mouth, canonical units.
        fps: the stream's frame rate.
        openness_gain: >= 0, scales the predicted lip motion (1 = as predicted).
        smoothing: temporal smoothing strength in [0, 1] (0 = off), see :class:`LipControls`.
        seed: phases of the resting mouth's micro-motion.
        rest_motion: scales the resting micro-motion (0: a still neutral mouth).
    """

    def __init__(self, neutral_lips: np.ndarray, fps: float, openness_gain: float = 1.0, smoothing: float = 0.0,
                 seed: int = 0, rest_motion: float = 1.0):
        if not openness_gain >= 0.0:
            raise InputError(f"openness_gain must be >= 0 (1 = as predicted), got {openness_gain}")
        self.neutral = np.asarray(neutral_lips, np.float32)
        self.openness_gain = float(openness_gain)
        self.rest = RestMotion(self.neutral, fps, seed=seed, amount=rest_motion)
        self.controls = LipControls(smoothing=smoothing, fps=fps)

    def __call__(self, k: int, delta: np.ndarray, weight: float) -> np.ndarray:
        """(40, 2) float32 lips of output frame ``k`` (advances the smoothing: call once per
        frame, in order, also for frames whose image is not rendered)."""
        return self.controls(blend_lips(self.rest(k), self.neutral, delta, weight, self.openness_gain))

    def reset(self) -> None:
        """Forget the smoothing's past (a cut)."""
        self.controls.reset()
