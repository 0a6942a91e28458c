"""Multi-band (Laplacian pyramid) blending: a face pasted without a visible seam.

Burt and Adelson's spline: each frequency band is blended across a transition as wide as its
wavelength, so fine detail (skin texture, hair) switches over within a few pixels while the
overall colour and shading change gradually over a wide band. A hard-edged mask with a small
feather would leave a line wherever the two images' colours differ.
"""
from __future__ import annotations

import numpy as np

MIN_COARSE_PX = 8   # the coarsest level keeps at least this many pixels across the face


def levels_for(face_px: float, max_levels: int = 6) -> int:
    """Pyramid depth for a face ``face_px`` wide: halve until the face is about
    :data:`MIN_COARSE_PX` across (at least 2 levels, at most ``max_levels``)."""
    return int(np.clip(np.floor(np.log2(max(face_px, 1.0) / MIN_COARSE_PX)), 2, max_levels))


def multiband(fg: np.ndarray, bg: np.ndarray, mask: np.ndarray, levels: int) -> np.ndarray:
    """Blend ``fg`` over ``bg`` band by band.

    The blend is linear in the images, so it is computed as ``bg`` plus the blended bands of
    ``fg - bg`` (one pyramid instead of two):
    ``sum_k G_k(mask) L_k(fg) + (1 - G_k(mask)) L_k(bg) = bg + sum_k G_k(mask) L_k(fg - bg)``.

    Args:
        fg, bg: (h, w, C) float32 images of one size (``fg`` equal to ``bg`` wherever it has
            nothing to say: the coarse bands reach past the mask's edge).
        mask: (h, w) float32 in [0, 1], 1 = ``fg``.
        levels: pyramid levels below full resolution.

    Returns:
        (h, w, C) float32 (not clipped).
    """
    import cv2

    diff = np.asarray(fg, np.float32) - np.asarray(bg, np.float32)
    gd, gm = [diff], [np.asarray(mask, np.float32)]
    for _ in range(levels):
        if min(gd[-1].shape[:2]) < 4:
            break
        gd.append(cv2.pyrDown(gd[-1]))
        gm.append(cv2.pyrDown(gm[-1]))
    out = gd[-1] * gm[-1][..., None]
    for k in range(len(gd) - 2, -1, -1):
        size = (gd[k].shape[1], gd[k].shape[0])
        band = gd[k] - cv2.pyrUp(gd[k + 1], dstsize=size)
        out = cv2.pyrUp(out, dstsize=size) + band * gm[k][..., None]
    return bg + out
