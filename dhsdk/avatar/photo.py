"""A single photo becomes an avatar: the face is meshed once and the photo is given a subtle,
periodic idle motion (a slow sway and breathing) so the presenter never looks frozen.

The motion is a small similarity per frame about a pivot low in the frame (the body sways
from the hips, the chest rises with each breath): at most ~0.5 degrees of roll, 0.4 % of
scale and a few pixels of drift, with a 3 % zoom so no border ever shows. Its period is the
loop length, so the idle loop is a forward loop whose cut is invisible. The face track is the
photo's mesh moved by the same affines: exact, with no tracker jitter at all.

A photo with an open mouth (a toothy smile) would show that mouth in every silent moment and
close it between words; so its mouth is first closed to the neutral shape with the warp
renderer, and the open original is kept as the renderers' reference (teeth, inner mouth).
"""
from __future__ import annotations

import time
from typing import Callable

import numpy as np

from dhsdk.avatar.analyze import THUMB_PX, Analysis, FrameMeasures, measure_frame
from dhsdk.avatar.face import FaceDetector, FaceMesh478, face_crop
from dhsdk.avatar.material import ANALYSIS_MAX_SIDE, Material, fit_long_side
from dhsdk.avatar.track import moved_track

IDLE_SECONDS = 8.0
IDLE_FPS = 25.0
ZOOM = 1.03
ROLL_DEG = 0.5
BREATH_SCALE = 0.004
PHOTO_MAX_SIDE = 1920     # generated idle frames of a photo are kept up to 1080p (an 8K photo
                          # would make 200 frames of 4K: 25 s to build, 127 MB, no visible gain)
OPEN_GAP = 0.04           # inner-lip gap (eye distances) above which the photo's mouth is closed
CLOSE_CROP = 256          # crop size of the closing pass


def idle_motion(width: int, height: int, n: int) -> np.ndarray:
    """(n, 2, 3) float64 photo -> frame affines of one period of the idle motion."""
    t = np.arange(n) / n
    pivot = np.array([width / 2.0, height * 0.95])
    centre = np.array([width / 2.0, height / 2.0])
    out = np.empty((n, 2, 3))
    for k, phase in enumerate(2 * np.pi * t):
        angle = np.radians(ROLL_DEG) * np.sin(phase)
        scale = 1.0 + BREATH_SCALE * np.sin(2 * phase)
        rot = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        shift = np.array([0.003 * width * np.sin(phase + 1.0), -0.002 * height * np.sin(2 * phase)])
        # zoom about the centre, then sway about the pivot, then drift
        a = rot * ZOOM
        b = pivot + rot @ (ZOOM * (-centre) + centre - pivot) + shift
        out[k, :, :2], out[k, :, 2] = a, b
    return out


def close_mouth(image: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Close an open mouth in a photo with the warp renderer.

    Args:
        image: (H, W, 3) uint8 RGB photo.
        points: (478, 2) its face mesh in pixels.

    Returns:
        (the photo with the mouth closed (a new array), the mesh with the 40 lip points moved
        to the closed lips). Unchanged copies when the mouth is already closed.
    """
    from dhsdk import kernels
    from dhsdk.avatar import mouth_region
    from dhsdk.avatar.track import LOWER_FACE_IDS
    from dhsdk.geometry import LIP_IDS, apply_affine, image_to_canonical, invert_affine, mouth_opening
    from dhsdk.render.smoothing import scale_opening
    from dhsdk.render.warp import WarpRenderer

    to_canonical = image_to_canonical(points)
    lips = apply_affine(to_canonical, points[list(LIP_IDS)])
    out, pts = np.array(image, copy=True), np.array(points, copy=True)
    if mouth_opening(lips) <= OPEN_GAP:
        return out, pts
    closed = scale_opening(lips.astype(np.float32), 0.0)
    size = CLOSE_CROP
    to_crop = mouth_region.canonical_to_crop(mouth_region.crop_centre(closed), size)
    mask = mouth_region.mouth_mask(apply_affine(to_canonical, points[list(LOWER_FACE_IDS)]), to_crop, size)
    affine = mouth_region.crop_to_frame(to_crop, to_canonical).astype(np.float32)
    crop = kernels.crop(out, affine[None], size, border="replicate")[0]
    src = apply_affine(to_crop, lips).astype(np.float32)
    dst = apply_affine(to_crop, closed).astype(np.float32)
    mouth = WarpRenderer(mask, dst, crop, src).render(crop, src, dst)
    kernels.composite(out, mouth, affine, mask=mask)
    pts[list(LIP_IDS)] = apply_affine(invert_affine(to_canonical), closed)
    return out, pts


def analyze_photo(material: Material, on_frame: Callable[[np.ndarray], None] | None = None,
                  show_progress: bool = True, seconds: float = IDLE_SECONDS, fps: float = IDLE_FPS) -> Analysis:
    """Mesh the photo, generate its idle frames (through ``on_frame``) and their exact track.

    The returned analysis has the photo's own measures (one frame) and a track of
    ``round(seconds * fps)`` frames; ``track`` is None when the photo has no usable face.
    """
    import cv2

    from dhsdk.progress import progress

    start = time.perf_counter()
    image = fit_long_side(next(material.frames()), PHOTO_MAX_SIDE)
    h, w = image.shape[:2]
    small = fit_long_side(image, ANALYSIS_MAX_SIDE)
    scale = w / small.shape[1]
    with FaceMesh478(static=True) as mesh, FaceDetector() as detector:
        points = mesh.landmarks(small)
        boxes = detector.detect(small)
        if points is None and boxes:  # a face too small for the whole-photo mesh
            points = mesh.landmarks_in(small, face_crop(boxes[0], small.shape))
    measures = FrameMeasures()
    measure_frame(small, points, measures)
    thumb_scale = min(1.0, THUMB_PX / h)
    thumbs = [(0, cv2.resize(image, None, fx=thumb_scale, fy=thumb_scale, interpolation=cv2.INTER_AREA))]
    track, reference = None, None
    if points is not None:
        points = points * scale
        reference = (image, points)
        still, still_points = close_mouth(image, points)
        n = max(2, int(round(seconds * fps)))
        motion = idle_motion(w, h, n)
        track = moved_track(still_points, motion, fps)
        if on_frame is not None:
            for m in progress(motion, total=n, desc="idle motion", unit="frame", enabled=show_progress):
                on_frame(cv2.warpAffine(still, m, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT101))
    return Analysis(material, track, np.array([len(boxes)], np.int16),
                    np.array([boxes[0].height * scale if boxes else np.nan], np.float32), measures.arrays(),
                    thumbs, thumb_scale, (w, h), None, time.perf_counter() - start, reference)
