"""The per-avatar geometry of the mouth stage: where each base frame's mouth crop is, which
part of it is re-rendered, where lips in the canonical face frame land in the crop, and which
footage supplies each frame's mouth.

A :class:`MouthGeometry` is built once per (avatar, crop size) and never changes: every frame
path, every stream and every batch of one avatar share it (DESIGN.md, "Real time"). Its arrays
are read-only.

Mouth sources. The mouth stage moves the lips of a source crop to the target shape. A base
frame whose own mouth is closed is its own source. Talking footage also has frames with the
mouth open, teeth showing: squeezing those shut leaves a bright seam of teeth between the
lips, and even a mouth a little open squeezed to a small opening shows a pale slit where the
target wants the dark gap of parted lips. Such a frame takes its mouth from a *donor*: the
closed-mouth frame of the footage whose head pose (canonical positions of the eyes, brows, nose
and cheeks; pitch and yaw change them) is nearest, searched within :data:`DONOR_WINDOW_S`
seconds first. Crops are aligned in the canonical face frame, so the donor's crop is placed
through the frame's own crop affine and follows its head.

"Closed" is measured against the footage itself: within :data:`CLOSED_MARGIN` of its most
closed frames (the face mesh reads some closed mouths, full or smiling lips, as parted by 0.1).
On GRID test sentences rendered on an avatar of the same speaker, taking every frame open by
more than that from a donor (the threshold was 0.08 eye distances) raised the rendered
opening's r with the real mouth from 0.830 to 0.837, and p/b/m frames shown closed from 79 %
to 83 % (margins 0.015 / 0.045: r 0.838 / 0.834, p/b/m 81 % / 80 %).
"""
from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np

from dhsdk.geometry import apply_affine, mouth_opening

CLOSED_MARGIN = 0.03   # eye distances above the footage's most closed gap: a frame within it is its own mouth source
CLOSED_FLOOR_PCT = 1   # the footage's most closed gap: this percentile of its frames' (robust to a stray frame)
DONOR_WINDOW_S = 2.0    # seconds around a frame searched first for its donor
# Face-mesh points whose canonical positions describe the head pose (eye corners, brows, nose,
# cheekbones, temples, forehead): the donor is the closed-mouth frame nearest in these.
POSE_IDS = (33, 133, 362, 263, 70, 300, 105, 334, 1, 4, 6, 168, 197, 234, 454, 127, 356, 10)

_CACHE: "weakref.WeakKeyDictionary[Any, dict[int, MouthGeometry]]" = weakref.WeakKeyDictionary()
_CACHE_LOCK = threading.Lock()


def _frozen(a: np.ndarray, dtype: Any) -> np.ndarray:
    a = np.array(a, dtype=dtype, copy=True, order="C")
    a.flags.writeable = False
    return a


@dataclass(frozen=True, eq=False)
class MouthGeometry:
    """Crop affines, mask, canonical -> crop map and lips of one avatar at one crop size.

    Attributes:
        crop_size: S, the side of the square mouth crop in pixels.
        frame_size: (width, height) of the avatar's base frames.
        crop_affine: (N, 2, 3) float32 crop -> frame affine of every base frame.
        mask: (S, S) float32 feathered lower-face mask in [0, 1] (1 = re-rendered).
        to_crop: (2, 3) float64 canonical frame -> crop pixels (the same for every frame).
        neutral_lips: (40, 2) float32 the avatar's resting closed mouth, canonical units.
        base_lips: (N, 40, 2) float32 each base frame's own lips, canonical units (what the
            footage shows).
        mouth_source: (N,) int64 the base frame whose crop supplies frame i's mouth (i itself
            when its mouth is closed, else its donor; see the module docstring).
    """

    crop_size: int
    frame_size: tuple[int, int]
    crop_affine: np.ndarray
    mask: np.ndarray
    to_crop: np.ndarray
    neutral_lips: np.ndarray
    base_lips: np.ndarray
    mouth_source: np.ndarray

    @classmethod
    def of(cls, avatar: Any, size: int) -> "MouthGeometry":
        """The geometry of ``avatar`` at crop size ``size``, built on first use and then shared.

        Args:
            avatar: a :class:`dhsdk.avatar.Avatar` (or anything with ``crop_affine(size)``,
                ``mouth_mask(size)``, ``canonical_to_crop(size)``, ``neutral_lips``,
                ``to_canonical``, ``lips``, ``width`` and ``height``).
            size: crop side S in pixels.
        """
        with _CACHE_LOCK:
            per_avatar = _CACHE.setdefault(avatar, {})
            if int(size) not in per_avatar:
                per_avatar[int(size)] = cls.build(avatar, int(size))
            return per_avatar[int(size)]

    @classmethod
    def build(cls, avatar: Any, size: int) -> "MouthGeometry":
        """A new geometry of ``avatar`` at crop size ``size`` (:meth:`of` shares one instead)."""
        canonical = np.stack([apply_affine(m, lips) for m, lips in zip(avatar.to_canonical, avatar.lips)])
        landmarks = getattr(avatar, "landmarks", None)
        pose = (np.stack([apply_affine(m, lm[list(POSE_IDS)]) for m, lm in zip(avatar.to_canonical, landmarks)])
                if landmarks is not None else np.zeros((len(canonical), 1, 2)))
        return cls(crop_size=int(size), frame_size=(int(avatar.width), int(avatar.height)),
                   crop_affine=_frozen(avatar.crop_affine(size), np.float32),
                   mask=_frozen(avatar.mouth_mask(size), np.float32),
                   to_crop=_frozen(avatar.canonical_to_crop(size), np.float64),
                   neutral_lips=_frozen(avatar.neutral_lips, np.float32),
                   base_lips=_frozen(canonical, np.float32),
                   mouth_source=_frozen(mouth_sources(mouth_opening(canonical), pose, float(avatar.fps)), np.int64))

    @property
    def num_frames(self) -> int:
        """N, the number of base frames."""
        return len(self.crop_affine)

    def to_crop_px(self, lips: np.ndarray) -> np.ndarray:
        """Canonical lips -> crop pixels: (..., 40, 2) -> (..., 40, 2) float32."""
        return apply_affine(self.to_crop, lips).astype(np.float32)

    def base_crop_lips(self, base_index: int) -> np.ndarray:
        """(40, 2) float32 crop-pixel lips of base frame ``base_index`` as the footage shows them."""
        return self.to_crop_px(self.base_lips[int(base_index)])

    def source_crop_lips(self, base_index: int) -> tuple[int, np.ndarray]:
        """(mouth source of base frame ``base_index``, (40, 2) float32 crop-pixel lips of that
        source): the crop and lips the mouth stage starts from for that frame."""
        j = int(self.mouth_source[int(base_index)])
        return j, self.base_crop_lips(j)


def mouth_sources(opening: np.ndarray, pose: np.ndarray, fps: float) -> np.ndarray:
    """Each base frame's mouth source (see the module docstring).

    Args:
        opening: (N,) inner-lip gap of each base frame, eye distances.
        pose: (N, P, 2) canonical positions of the pose points of each frame.
        fps: frame rate of the footage.

    Returns:
        (N,) int64: i where frame i is closed (its gap within :data:`CLOSED_MARGIN` of the
        footage's most closed, the :data:`CLOSED_FLOOR_PCT` percentile), else the closed frame
        nearest in pose (within :data:`DONOR_WINDOW_S` when one is there).
    """
    n = len(opening)
    closed = opening <= np.percentile(opening, CLOSED_FLOOR_PCT) + CLOSED_MARGIN
    donors = np.flatnonzero(closed)
    out = np.arange(n)
    flat = pose.reshape(n, -1)
    window = max(1, int(round(DONOR_WINDOW_S * fps)))
    for i in np.flatnonzero(~closed):
        near = donors[np.abs(donors - i) <= window]
        pool = near if len(near) else donors
        d = np.linalg.norm(flat[pool] - flat[i], axis=1) + 1e-3 * np.abs(pool - i) / max(fps, 1.0)
        out[i] = pool[int(np.argmin(d))]
    return out
