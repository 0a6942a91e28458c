"""A synthetic talking-mouth clip for tests: a real face (skimage's astronaut photo), its lips
found by mediapipe FaceMesh, and frames with different mouth openings made by a
smooth jaw-drop displacement of the crop. Deterministic.
"""
from __future__ import annotations

import numpy as np

from dhsdk.geometry import LIP_IDS, apply_affine, invert_affine


def astronaut_mouth_crop(size: int) -> tuple[np.ndarray, np.ndarray]:
    """(crop (S, S, 3) uint8, lips (40, 2) float32 crop px) around the astronaut's mouth."""
    import cv2
    import mediapipe as mp
    from skimage import data

    img = data.astronaut()
    with mp.solutions.face_mesh.FaceMesh(static_image_mode=True, refine_landmarks=True) as mesh:
        res = mesh.process(img)
    lm = res.multi_face_landmarks[0].landmark
    pts = np.array([[lm[i].x * img.shape[1], lm[i].y * img.shape[0]] for i in LIP_IDS], np.float64)
    centre = pts[:20].mean(0)
    scale = (np.ptp(pts[:20, 0]) * 2.2) / size  # frame px per crop px
    crop_to_frame = np.array([[scale, 0, centre[0] - scale * (size - 1) / 2],
                              [0, scale, centre[1] - scale * (size - 1) / 2 + 0.1 * size * scale]])
    crop = cv2.warpAffine(img, crop_to_frame, (size, size), flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP)
    return crop, apply_affine(invert_affine(crop_to_frame), pts).astype(np.float32)


def _jaw_drop(lips: np.ndarray, size: int) -> np.ndarray:
    """(S, S) weight of how far each pixel moves when the jaw drops: 0 above the lip line,
    1 on the lower lip, fading out towards the crop's sides and bottom."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    cx, cy = lips[:20].mean(0)
    half_w = np.ptp(lips[:20, 0]) / 2
    horiz = np.exp(-(((xx - cx) / (1.2 * half_w)) ** 2))
    below = np.clip((yy - cy) / 4.0, 0, 1) * np.clip((size - 1 - yy) / (size - 1 - cy), 0, 1) ** 0.5
    return horiz * below


def make_clip(size: int, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(crops (n, S, S, 3) uint8, lips (n, 40, 2) float32, mask (S, S) float32).

    Frame k drops the jaw by a random amount: pixel p of the frame is sampled at
    p - amount * w(p) (w = :func:`_jaw_drop`), and the lips move by amount * w(lips).
    """
    import cv2

    crop, lips = astronaut_mouth_crop(size)
    rng = np.random.default_rng(seed)
    amounts = rng.uniform(0, 0.1 * size, n)
    w = _jaw_drop(lips, size)
    xx, yy = np.meshgrid(np.arange(size, dtype=np.float32), np.arange(size, dtype=np.float32))
    crops = np.stack([cv2.remap(crop, xx, (yy - a * w).astype(np.float32), cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
                      for a in amounts])
    lip_w = w[np.clip(np.round(lips[:, 1]).astype(int), 0, size - 1),
              np.clip(np.round(lips[:, 0]).astype(int), 0, size - 1)]
    frames_lips = lips[None] + np.stack([np.zeros_like(amounts), np.ones_like(amounts)], -1)[:, None] \
        * (amounts[:, None, None] * lip_w[None, :, None])
    mask = np.zeros((size, size), np.float32)
    hull = cv2.convexHull(np.vstack([lips[:20], frames_lips[np.argmax(amounts), :20]]).astype(np.float32))
    cv2.fillConvexPoly(mask, np.round(hull).astype(np.int32), 1.0)
    mask = cv2.dilate(mask, np.ones((9, 9), np.uint8))
    return crops, frames_lips.astype(np.float32), cv2.GaussianBlur(mask, (0, 0), 3.0)
