"""The idle loop: which base frames play, in which order, for as long as a stream runs.

Two kinds of loop, both over a segment ``[start, end]`` of the base video:

* ``"loop"``: forwards, then a cut from ``end`` back to ``start``. Chosen when some pair of
  frames is so alike in head pose, pose velocity and appearance that the cut cannot be seen.
* ``"pingpong"``: forwards, then backwards. It never jumps; its turnarounds are placed where
  the head is most still, so the reversal does not read as a bounce.

Segments are scored on what a viewer would notice in a loop that plays for hours: the cut
(or turnarounds), a mouth that moves in silence (the base footage should be closed-mouthed
where it loops), and length (longer loops repeat less visibly), within ``[min_s, max_s]``.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from dhsdk.geometry import mouth_opening

MIN_LOOP_S = 2.0
MAX_LOOP_S = 8.0
CUT_THRESHOLD = 0.02   # pose + appearance distance (canonical units) below which a cut is invisible


@dataclass(frozen=True)
class IdleLoop:
    """A loop over base frames ``start..end`` (inclusive).

    Attributes:
        mode: ``"loop"`` or ``"pingpong"``.
        start, end: first and last base frame of the segment.
        cost: the score it was chosen with (lower is better; for the record).
    """

    mode: str
    start: int
    end: int
    cost: float = 0.0

    @property
    def length(self) -> int:
        """Frames in the segment."""
        return self.end - self.start + 1

    @property
    def period(self) -> int:
        """Output frames before the loop repeats."""
        return self.length if self.mode == "loop" or self.length == 1 else 2 * (self.length - 1)

    def index(self, k: int) -> int:
        """Base frame for output frame ``k`` (any k >= 0)."""
        j = int(k) % self.period
        if self.mode == "pingpong" and j >= self.length:
            j = self.period - j
        return self.start + j

    def frames(self) -> np.ndarray:
        """(length,) base frame indices the loop uses."""
        return np.arange(self.start, self.end + 1)

    def to_json(self) -> dict:
        """A manifest entry."""
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict) -> "IdleLoop":
        """From a manifest entry."""
        return cls(str(d["mode"]), int(d["start"]), int(d["end"]), float(d.get("cost", 0.0)))


def pose_features(to_canonical: np.ndarray) -> np.ndarray:
    """(N, 4) head pose per frame from the image -> canonical similarities: where the canonical
    origin (mid-eyes) and the point (0, 1) (the mouth) land in the image, in units of the
    clip's median inter-eye distance."""
    inv = np.linalg.inv(np.concatenate([to_canonical, np.tile([[[0, 0, 1.0]]], (len(to_canonical), 1, 1))], 1))
    origin = inv[:, :2, 2]
    mouth = origin + inv[:, :2, 1]
    scale = np.median(np.linalg.norm(inv[:, :2, 0], axis=1))
    return np.concatenate([origin, mouth], 1) / scale


def choose_loop(to_canonical: np.ndarray, canonical_lips: np.ndarray, fps: float,
                appearance: np.ndarray | None = None, min_s: float = MIN_LOOP_S,
                max_s: float = MAX_LOOP_S) -> IdleLoop:
    """Pick the idle loop of a clip.

    Args:
        to_canonical: (N, 2, 3) per-frame image -> canonical similarities.
        canonical_lips: (N, 40, 2) lips in the canonical frame (mouth motion in the footage).
        fps: frames per second.
        appearance: (N, D) optional per-frame appearance descriptors (e.g. a small grey face
            crop, values in [0, 1]); compared at the cut.
        min_s, max_s: loop length bounds in seconds (clipped to the clip).

    Returns:
        The best :class:`IdleLoop`.
    """
    n = len(to_canonical)
    if n <= 2:
        return IdleLoop("pingpong", 0, n - 1)
    pose = pose_features(to_canonical)
    vel = np.gradient(pose, axis=0)
    speed = np.linalg.norm(vel, axis=1)
    opening = np.abs(mouth_opening(canonical_lips))
    lo = int(min(max(2, round(min_s * fps)), n))
    hi = int(min(max(lo, round(max_s * fps)), n))
    # Prefix sums for the mean mouth motion of any segment.
    moving = np.abs(np.gradient(opening)) * fps + opening
    csum = np.concatenate([[0.0], np.cumsum(moving)])
    best: IdleLoop | None = None
    for start in range(0, n - lo + 1):
        ends = np.arange(start + lo - 1, min(start + hi, n))
        seg_mouth = (csum[ends + 1] - csum[start]) / (ends - start + 1)
        length_bonus = 0.02 * (ends - start + 1) / hi
        cut = (np.linalg.norm(pose[ends] - pose[start], axis=1)
               + 0.5 * np.linalg.norm(vel[ends] - vel[start], axis=1) * fps / 25.0)
        if appearance is not None:
            cut = cut + np.abs(appearance[ends] - appearance[start]).mean(1)
        turn = (speed[ends] + speed[start]) * fps / 25.0
        for mode, jump in (("loop", cut), ("pingpong", turn)):
            ok = jump < CUT_THRESHOLD if mode == "loop" else np.ones(len(ends), bool)
            if not ok.any():
                continue
            cost = np.where(ok, jump + 0.1 * seg_mouth - length_bonus, np.inf)
            j = int(np.argmin(cost))
            if best is None or cost[j] < best.cost:
                best = IdleLoop(mode, start, int(ends[j]), float(cost[j]))
    assert best is not None
    return best
