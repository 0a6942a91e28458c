"""Test material for the warp renderer: the mouth of a real photo (skimage's astronaut, who
smiles with her teeth showing), cropped like an avatar's mouth crop.

The face mesh comes from mediapipe FaceMesh (refine_landmarks, static image); the crop is
framed in the canonical face frame (dhsdk.geometry): centre (0, 1), 1.6 inter-eye distances
wide, so the mouth sits where it sits in any avatar crop.
"""
from __future__ import annotations

import functools

import numpy as np

from dhsdk.geometry import LIP_IDS, apply_affine, compose_affine, image_to_canonical, invert_affine
from dhsdk.models.lipshape import COEFFS, coeffs_to_deltas
from dhsdk.render.smoothing import scale_opening

CROP_EXTENT, CROP_CENTRE = 1.6, (0.0, 1.0)


@functools.lru_cache(maxsize=1)
def _landmarks() -> tuple[np.ndarray, np.ndarray]:
    import mediapipe as mp
    from skimage import data

    image = np.ascontiguousarray(data.astronaut())
    with mp.solutions.face_mesh.FaceMesh(static_image_mode=True, refine_landmarks=True, max_num_faces=1) as fm:
        found = fm.process(image).multi_face_landmarks
    assert found, "mediapipe found no face in skimage.data.astronaut()"
    h, w = image.shape[:2]
    pts = np.array([[p.x * w, p.y * h] for p in found[0].landmark], np.float64)
    return image, pts


def canonical_to_crop(size: int) -> np.ndarray:
    """(2, 3) canonical face frame -> S x S crop pixels."""
    s = size / CROP_EXTENT
    return np.array([[s, 0.0, (size - 1) / 2 - s * CROP_CENTRE[0]], [0.0, s, (size - 1) / 2 - s * CROP_CENTRE[1]]])


def mouth_mask(size: int) -> np.ndarray:
    """(S, S) float32 feathered lower-face ellipse (1 inside, 0 outside)."""
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    d = ((xs - 0.5 * size) / (0.46 * size)) ** 2 + ((ys - 0.58 * size) / (0.40 * size)) ** 2
    return np.clip((1.0 - d) / 0.3, 0.0, 1.0).astype(np.float32)


@functools.lru_cache(maxsize=4)
def astronaut(size: int = 256) -> dict[str, np.ndarray]:
    """The astronaut's mouth crop.

    Returns:
        dict with ``crop`` (S, S, 3) uint8, ``lips`` (40, 2) float32 crop px, ``mask`` (S, S)
        float32, ``affine`` (2, 3) crop -> image, ``image`` the full photo.
    """
    import cv2

    image, pts = _landmarks()
    to_crop = compose_affine(canonical_to_crop(size), image_to_canonical(pts))
    affine = invert_affine(to_crop)
    crop = cv2.warpAffine(image, affine, (size, size), flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REPLICATE)
    lips = apply_affine(to_crop, pts[list(LIP_IDS)]).astype(np.float32)
    return {"crop": crop, "lips": lips, "mask": mouth_mask(size), "affine": affine, "image": image}


def target(lips: np.ndarray, size: int, **coeffs: float) -> np.ndarray:
    """The crop's lips closed (inner gap 0), then moved by lip-shape coefficients
    (dhsdk.models.lipshape.COEFFS, canonical units scaled to the crop)."""
    c = np.array([coeffs.get(name, 0.0) for name in COEFFS], np.float32)
    return scale_opening(lips, 0.0) + coeffs_to_deltas(c) * np.float32(size / CROP_EXTENT)
