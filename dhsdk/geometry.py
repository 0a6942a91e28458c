"""Face geometry shared by every stage: landmark index sets, the canonical face frame,
similarity fits and affine helpers.

Canonical face frame (DESIGN.md): a 2-D frame, x to the image's right, y down, origin at the
midpoint between the eyes, unit = the distance between the two eye centres. The per-frame
*similarity* (rotation, uniform scale, translation) from image pixels to this frame is fitted
by weighted least squares to ``ANCHOR_IDS`` -> ``ANCHOR_CANONICAL``. Lip geometry in this
frame is identity- and pose-free; the a2k model predicts lip deltas in it.

Lip keypoints: ``LIP_IDS`` are 40 points of the 478-point mediapipe face mesh, 20 on the
outer lip contour then 20 on the inner contour. Each ring starts at the image-left mouth
corner, runs along the lower lip to the other corner, and back along the upper lip:
outer corners are 0 and 10, outer lower middle 5, outer upper middle 15; inner likewise
+20 (inner corners 20 and 30, inner lower middle 25, inner upper middle 35).

Affines are (2, 3) float arrays ``M`` mapping column vectors ``[x, y, 1]``.
"""
from __future__ import annotations

import numpy as np

LIP_OUTER_IDS = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375,
                 291, 409, 270, 269, 267, 0, 37, 39, 40, 185)
LIP_INNER_IDS = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324,
                 308, 415, 310, 311, 312, 13, 82, 81, 80, 191)
LIP_IDS = LIP_OUTER_IDS + LIP_INNER_IDS
N_LIP = len(LIP_IDS)  # 40

# Index ranges inside the 40 lip keypoints.
OUTER = slice(0, 20)
INNER = slice(20, 40)
OUTER_LOWER = tuple(range(1, 10))   # strictly between the corners
OUTER_UPPER = tuple(range(11, 20))
INNER_LOWER = tuple(range(21, 30))
INNER_UPPER = tuple(range(31, 40))
CORNERS = (0, 10)
INNER_TOP, INNER_BOTTOM = 35, 25     # inner upper-lip middle, inner lower-lip middle

# Alignment anchors: eye corners (image-left eye outer/inner, image-right eye inner/outer),
# nose bridge, nose tip; their canonical positions and fit weights. The positions are a
# left-right symmetrised mean face (eye centres at x = -0.5 and +0.5).
ANCHOR_IDS = (33, 133, 362, 263, 168, 1)
ANCHOR_CANONICAL = np.array([[-0.72, 0.0], [-0.28, 0.0], [0.28, 0.0], [0.72, 0.0],
                             [0.0, -0.07], [0.0, 0.63]], dtype=np.float64)
ANCHOR_WEIGHTS = np.array([1.0, 1.0, 1.0, 1.0, 0.5, 0.5])

# Chin and jaw line (mediapipe face oval, lower half, image-left to image-right).
JAW_IDS = (132, 58, 172, 136, 150, 149, 176, 148, 152, 377, 400, 378, 379, 365, 397, 288, 361)


def fit_similarity(src: np.ndarray, dst: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Weighted least-squares similarity (Umeyama, no reflection) mapping src onto dst.

    Args:
        src: (N, 2) points.
        dst: (N, 2) points.
        weights: (N,) non-negative weights; uniform when None.

    Returns:
        (2, 3) float64 affine M with ``dst ~= M[:, :2] @ src + M[:, 2]``.
    """
    src = np.asarray(src, np.float64)
    dst = np.asarray(dst, np.float64)
    w = np.ones(len(src)) if weights is None else np.asarray(weights, np.float64)
    w = w / w.sum()
    mu_s = w @ src
    mu_d = w @ dst
    s0, d0 = src - mu_s, dst - mu_d
    cov = (d0 * w[:, None]).T @ s0
    u, sig, vt = np.linalg.svd(cov)
    sign = np.sign(np.linalg.det(u @ vt)) or 1.0
    fix = np.diag([1.0, sign])
    rot = u @ fix @ vt
    var_s = float(w @ (s0 ** 2).sum(1))
    scale = float((sig * np.diag(fix)).sum() / var_s)
    m = np.zeros((2, 3))
    m[:, :2] = scale * rot
    m[:, 2] = mu_d - m[:, :2] @ mu_s
    return m


def image_to_canonical(landmarks: np.ndarray) -> np.ndarray:
    """Similarity from image pixels to the canonical face frame.

    Args:
        landmarks: (478, 2) or (468, 2) face-mesh points in pixels.

    Returns:
        (2, 3) float64 affine.
    """
    return fit_similarity(np.asarray(landmarks)[list(ANCHOR_IDS)], ANCHOR_CANONICAL, ANCHOR_WEIGHTS)


def apply_affine(m: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Apply a (2, 3) affine to points of shape (..., 2); returns float64 (..., 2)."""
    pts = np.asarray(pts, np.float64)
    return pts @ np.asarray(m, np.float64)[:, :2].T + np.asarray(m, np.float64)[:, 2]


def invert_affine(m: np.ndarray) -> np.ndarray:
    """Inverse of an invertible (2, 3) affine, float64."""
    m = np.asarray(m, np.float64)
    a_inv = np.linalg.inv(m[:, :2])
    return np.hstack([a_inv, -a_inv @ m[:, 2:3]])


def compose_affine(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """The affine ``outer(inner(p))``, float64 (2, 3)."""
    outer = np.asarray(outer, np.float64)
    inner = np.asarray(inner, np.float64)
    return np.hstack([outer[:, :2] @ inner[:, :2], outer[:, :2] @ inner[:, 2:3] + outer[:, 2:3]])


def mouth_opening(lips: np.ndarray) -> np.ndarray:
    """Inner-lip gap (lower middle minus upper middle, y), in the points' units.

    Args:
        lips: (..., 40, 2) lip keypoints.

    Returns:
        (...,) gap; about 0 for a closed mouth.
    """
    lips = np.asarray(lips)
    return lips[..., INNER_BOTTOM, 1] - lips[..., INNER_TOP, 1]


def mouth_width(lips: np.ndarray) -> np.ndarray:
    """Distance between the outer mouth corners, (...,)."""
    lips = np.asarray(lips)
    return np.linalg.norm(lips[..., CORNERS[1], :] - lips[..., CORNERS[0], :], axis=-1)
