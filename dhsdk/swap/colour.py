"""Lighting and colour of a pasted face matched to the frame it goes into.

Both faces are first warped into the same geometry (the target mesh), so "the forehead" or "the
left cheek" is the same pixels in both. Local skin statistics are then compared region by
region: the mean colour of skin around each mesh vertex (a Gaussian neighbourhood about a third
of an eye distance wide; eyes, brows, lips, and pixels that are not skin-coloured, such as hair
over the forehead, left out), in the frame and in the pasted face. Their ratio at each vertex is
the gain that vertex's colour needs; interpolated over the triangles it relights the face with
the frame's light (a shadowed side stays shadowed, a warm lamp stays warm) while the face keeps
its own detail. Gains are per vertex so they can be smoothed over time (:class:`GainFilter`).
"""
from __future__ import annotations

import functools

import numpy as np

from dhsdk.geometry import LIP_IDS
from dhsdk.swap.topology import BROW_IDS, EYE_RINGS, IRIS_CENTRES, IRIS_RINGS, face_triangles

STATS_EYE_PX = 16.0     # statistics are taken on a copy scaled so the eyes are this far apart
SIGMA_EYES = 0.35       # neighbourhood of a vertex, eye distances (Gaussian sigma)
SKIN_MAD = 3.0          # pixels further than this many (scaled) MADs from the median skin colour are not skin
GAIN_RANGE = (0.33, 3.0)
MIN_SUPPORT = 0.05      # below this much skin nearby, a vertex takes the face's overall gain


@functools.lru_cache(maxsize=1)
def skin_triangles() -> np.ndarray:
    """(T,) bool over :func:`~dhsdk.swap.topology.face_triangles`: triangles of plain skin (no
    corner on an eye, iris, brow or lip)."""
    features = set(LIP_IDS) | set(IRIS_CENTRES)
    for group in EYE_RINGS + BROW_IDS + IRIS_RINGS:
        features |= set(group)
    tris = face_triangles()
    out = np.array([not (set(t.tolist()) & features) for t in tris])
    out.flags.writeable = False
    return out


def skin_mask(image: np.ndarray, region: np.ndarray) -> np.ndarray:
    """(h, w) bool: pixels of ``region`` whose colour is within :data:`SKIN_MAD` robust
    deviations of the region's median colour, per channel.

    Args:
        image: (h, w, 3) float32.
        region: (h, w) bool candidate skin pixels (the skin triangles).
    """
    px = image[region]
    if len(px) < 16:
        return region
    med = np.median(px, 0)
    mad = 1.4826 * np.median(np.abs(px - med), 0) + 2.0
    ok = (np.abs(image - med) <= SKIN_MAD * mad).all(-1)
    return region & ok


def _shrink(image: np.ndarray, k: float) -> np.ndarray:
    import cv2

    h, w = image.shape[:2]
    size = (max(1, int(round(w / k))), max(1, int(round(h / k))))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def local_means(image: np.ndarray, mask: np.ndarray, points: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """Mean colour of masked pixels in a Gaussian neighbourhood of each point.

    Args:
        image: (h, w, 3) float32.
        mask: (h, w) float32 in [0, 1], the pixels that count.
        points: (V, 2) where to measure, pixels of ``image``.
        sigma: the neighbourhood's Gaussian sigma, pixels.

    Returns:
        ((V, 3) float32 means, (V,) float32 support: the Gaussian weight of counted pixels, 0..1).
    """
    import cv2

    m = cv2.GaussianBlur(mask, (0, 0), sigma)
    im = cv2.GaussianBlur(image * mask[..., None], (0, 0), sigma)
    p = np.asarray(points, np.float32)
    mx, my = p[:, 0].reshape(-1, 1), p[:, 1].reshape(-1, 1)
    support = cv2.remap(m, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0).ravel()
    total = cv2.remap(im, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0).reshape(-1, 3)
    return total / np.maximum(support, 1e-6)[:, None], support


def vertex_gains(face: np.ndarray, frame: np.ndarray, skin: np.ndarray, points: np.ndarray,
                 eye_px: float) -> np.ndarray:
    """(V, 3) float32 per-vertex colour gains that take ``face``'s local skin colour to ``frame``'s.

    The statistics are taken on copies scaled so the eyes are :data:`STATS_EYE_PX` apart (they
    are smooth by construction; this keeps their cost independent of the frame size).

    Args:
        face: (h, w, 3) uint8 or float32 the pasted face, warped into the target geometry.
        frame: (h, w, 3) the frame, warped into the same geometry.
        skin: (h, w) bool the skin triangles' pixels.
        points: (V, 2) vertices in these pixels.
        eye_px: inter-eye distance in pixels.
    """
    k = max(1.0, eye_px / STATS_EYE_PX)
    face_s = _shrink(np.asarray(face, np.float32), k)
    frame_s = _shrink(np.asarray(frame, np.float32), k)
    region = _shrink(skin.astype(np.float32), k) > 0.99
    ok = skin_mask(face_s, region) & skin_mask(frame_s, region)
    if ok.sum() < 16:
        return np.ones((len(points), 3), np.float32)
    overall = (np.median(frame_s[ok], 0) + 4.0) / (np.median(face_s[ok], 0) + 4.0)
    pts = (np.asarray(points, np.float64) + 0.5) / k - 0.5
    sigma = SIGMA_EYES * eye_px / k
    mask = ok.astype(np.float32)
    fm, fs = local_means(face_s, mask, pts, sigma)
    bm, _ = local_means(frame_s, mask, pts, sigma)
    gains = (bm + 4.0) / (fm + 4.0)
    gains = np.where((fs >= MIN_SUPPORT)[:, None], gains, overall[None])
    return np.clip(gains, *GAIN_RANGE).astype(np.float32)


def vertex_colours(image: np.ndarray, points: np.ndarray, sigma_eyes: float, eye_px_target: float = 20.0) -> np.ndarray:
    """(V, 3) float32 the Gaussian-weighted mean colour around each point (sigma ``sigma_eyes``
    eye distances), measured on a copy of the face's region scaled so the eyes are
    ``eye_px_target`` pixels apart (its cost does not grow with the frame).

    Args:
        image: (H, W, 3) uint8 RGB frame.
        points: (478 + ..., 2) a face mesh in its pixels (the first 478 set the scale and region).
    """
    import cv2

    from dhsdk.swap.raster import bounding_box
    from dhsdk.swap.topology import EYE_CORNERS

    pts = np.asarray(points, np.float64)
    face = pts[:478]
    eye_px = float(np.linalg.norm(face[EYE_CORNERS[0][0]] - face[EYE_CORNERS[1][0]])) / 1.44
    x0, y0, x1, y1 = bounding_box(pts, image.shape, pad=int(eye_px) + 2)
    k = max(1.0, eye_px / eye_px_target)
    crop = np.asarray(image[y0:y1, x0:x1], np.float32)
    small = _shrink(crop, k)
    small = cv2.GaussianBlur(small, (0, 0), sigma_eyes * eye_px / k)
    p = ((pts - [x0, y0] + 0.5) / k - 0.5).astype(np.float32)
    return cv2.remap(small, p[:, :1], p[:, 1:], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE).reshape(-1, 3)


class GainFilter:
    """Exponential smoothing of per-vertex gains over frames (lighting changes slowly; the
    statistics of one frame carry tracking noise).

    Args:
        alpha: weight of the newest frame, 0..1 (1 = no smoothing).
    """

    def __init__(self, alpha: float = 0.25):
        self.alpha = float(alpha)
        self._state: np.ndarray | None = None

    def reset(self) -> None:
        """Forget the history (a cut)."""
        self._state = None

    def __call__(self, gains: np.ndarray) -> np.ndarray:
        """The smoothed (V, 3) gains after this frame's ``gains``."""
        g = np.asarray(gains, np.float32)
        self._state = g if self._state is None else self._state + self.alpha * (g - self._state)
        return self._state


__all__ = ["GainFilter", "local_means", "skin_mask", "skin_triangles", "vertex_colours", "vertex_gains"]
