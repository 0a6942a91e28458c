"""The keypoint condition map the inpainting UNet is conditioned on (numpy + cv2, no torch).

Shared by training and runtime so both see identical maps: the target lips drawn into an
S x S float32 image in crop pixels -- the inner-mouth polygon filled with 1.0, the lip body
(outer ring minus inner) filled with 0.5, background 0.
"""
from __future__ import annotations

import numpy as np

from dhsdk.errors import InputError

_SHIFT = 4  # cv2 sub-pixel bits


def check_lips(lips: np.ndarray, size: int, what: str = "lips") -> np.ndarray:
    """Validate (40, 2) crop-pixel lip keypoints; returns them as float32.

    Raises:
        InputError: wrong shape, NaN/inf, or points outside the crop (more than half a crop
            beyond its border, which means the keypoints are in another coordinate frame).
    """
    lips = np.asarray(lips, dtype=np.float32)
    if lips.shape != (40, 2):
        raise InputError(f"{what}: expected (40, 2) lip keypoints in crop pixels, got shape {lips.shape}")
    if not np.isfinite(lips).all():
        raise InputError(f"{what}: keypoints contain NaN or inf; the face tracker lost the face on this "
                         f"frame, drop or interpolate it")
    if lips.min() < -size / 2 or lips.max() > size * 1.5:
        raise InputError(f"{what}: keypoints lie far outside the {size}x{size} crop "
                         f"(range {lips.min():.0f}..{lips.max():.0f}); pass crop pixel coordinates")
    return lips


def render_condition(lips: np.ndarray, size: int) -> np.ndarray:
    """Draw the condition map.

    Args:
        lips: (40, 2) float32 target lip keypoints in crop pixels (outer ring 0..19, inner 20..39).
        size: crop side S.

    Returns:
        (S, S) float32 map in [0, 1].
    """
    import cv2

    lips = check_lips(lips, size)
    img = np.zeros((size, size), np.uint8)
    pts = np.round(lips * (1 << _SHIFT)).astype(np.int32)
    cv2.fillPoly(img, [pts[:20]], 128, cv2.LINE_AA, _SHIFT)
    cv2.fillPoly(img, [pts[20:]], 255, cv2.LINE_AA, _SHIFT)
    return img.astype(np.float32) / 255.0
