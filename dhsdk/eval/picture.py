"""Picture quality of the re-rendered mouth, measured in the avatar's own mouth crop.

Every output frame is cropped like the renderer crops the avatar's base frames (the avatar's
fixed canonical -> crop map, placed by the face tracked *in the output*, so the crop follows
the head whatever base frame was shown), and the avatar's base frames are cropped by their own
tracks. In that crop the avatar's feathered mouth mask (:meth:`dhsdk.avatar.Avatar.mouth_mask`)
says what the renderer replaced:

- **sharpness**: variance of the Laplacian of the grey crop over the mask's core (mask >
  :data:`CORE`) less the mouth opening (inside the inner lips: a dark cavity or teeth change
  with what is said, not with focus), the review's sharpness measure on the re-rendered skin
  and lips;
- **seam**: mean gradient magnitude on the mask's feather band (:data:`BAND` < mask < 1 -
  :data:`BAND`) over the mean on the rings just inside and just outside it (each one feather
  wide). A blend that does not match its surroundings leaves edges along the band; natural
  structure crossing it (jaw line, folds) is there in the source too, so the evaluation
  compares the output's ratio with the source frames'.

Both are measured at one scale for output and source: the crop side is the face's size in the
coarser of the two (:func:`crop_size`), so an output rendered smaller than the avatar is not
called blurry for its size alone.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from dhsdk.avatar import mouth_region
from dhsdk.geometry import INNER, apply_affine

CORE = 0.9           # mask value above which the crop is fully re-rendered
BAND = 0.05          # the feather band is BAND < mask < 1 - BAND
MAX_SIDE = 256       # crop side bounds, pixels
MIN_SIDE = 64
SOURCE_FRAMES = 24   # base frames sampled for the avatar's own measures


def native_side(eye_px: float) -> int:
    """Crop side (pixels) at a face's own scale (pixels per eye distance), within bounds."""
    return int(np.clip(round(mouth_region.CROP_EXTENT * eye_px), MIN_SIDE, 2 * MAX_SIDE))


def crop_size(eye_px_output: float, eye_px_source: float) -> int:
    """Crop side (pixels) at the coarser of two face scales, at most :data:`MAX_SIDE`."""
    return min(native_side(eye_px_output), native_side(eye_px_source), MAX_SIDE)


def sampling_side(size: int) -> int:
    """Side (pixels) both the output's and the source's crops are sampled at before they are
    area-averaged to ``size``: twice it, so every crop goes through the same exact 2 x 2 box
    average. Sampled each at its own face's scale, a crop one pixel larger than ``size`` was
    area-resized by 201/200 and blurred while the other was not: the same avatar's source
    sharpness read 61.8 at 201 px and 34.0 at 200, and a render's ratio 0.58 or 0.96."""
    return 2 * size


def grey_crop(frame: np.ndarray, to_crop: Any, to_canonical: np.ndarray, native: int, size: int) -> np.ndarray:
    """(S, S) float32 luma of a frame's mouth crop: sampled at ``native`` pixels a side (finer
    than ``size``, so little aliases; :func:`sampling_side`), then area-averaged down to ``size``.

    Args:
        frame: (H, W, 3) uint8 RGB.
        to_crop: ``native`` -> (2, 3) canonical -> crop map (the avatar's ``canonical_to_crop``).
        to_canonical: (2, 3) the frame's image -> canonical similarity.
    """
    import cv2

    from dhsdk import kernels

    affine = mouth_region.crop_to_frame(to_crop(native), to_canonical).astype(np.float32)
    crop = kernels.crop(np.ascontiguousarray(frame), affine[None], native, border="replicate")[0]
    if native != size:
        crop = cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)
    return crop.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)


def regions(mask: np.ndarray) -> dict[str, np.ndarray]:
    """The (S, S) bool regions of a feathered mask: ``core``, ``band``, and the ``inner`` and
    ``outer`` rings, each as wide as the band, either side of it."""
    import cv2

    band = (mask > BAND) & (mask < 1 - BAND)
    if not band.any():
        empty = np.zeros_like(band)
        return {"core": mask > CORE, "band": band, "inner": empty, "outer": empty}
    edges = np.count_nonzero(band[1:] != band[:-1]) + np.count_nonzero(band[:, 1:] != band[:, :-1])
    width = max(2.0, 2.0 * band.sum() / max(edges, 1))   # band area over half its perimeter
    near = cv2.distanceTransform((~band).astype(np.uint8), cv2.DIST_L2, 5) <= width
    return {"core": mask > CORE, "band": band, "inner": near & (mask >= 1 - BAND), "outer": near & (mask <= BAND)}


def measure(grey: np.ndarray, parts: dict[str, np.ndarray],
            inner_lips: np.ndarray | None = None) -> tuple[float, float]:
    """(sharpness, seam ratio) of one (S, S) float32 grey crop (0..255) in the regions of :func:`regions`.

    Args:
        inner_lips: (20, 2) inner-lip contour in crop pixels: the mouth opening is left out of
            the sharpness (a dark cavity or teeth change it with the mouth's state, not its focus).
    """
    import cv2

    core = parts["core"]
    if inner_lips is not None:
        hole = np.zeros(core.shape, np.uint8)
        cv2.fillPoly(hole, [np.round(inner_lips).astype(np.int32)], 1)
        core = core & (cv2.dilate(hole, np.ones((5, 5), np.uint8)) == 0)
    sharp = float(cv2.Laplacian(grey, cv2.CV_32F)[core].var()) if core.any() else float("nan")
    gy, gx = np.gradient(grey)
    mag = np.hypot(gx, gy)
    rings = [mag[parts[k]].mean() for k in ("inner", "outer") if parts[k].any()]
    if not rings or not parts["band"].any():
        return sharp, float("nan")
    seam = float(mag[parts["band"]].mean() / max(np.mean(rings), 1e-3))
    return sharp, seam


def inner_lips(avatar: Any, lips: np.ndarray, size: int) -> np.ndarray:
    """(20, 2) inner-lip contour in the avatar's S x S crop from (40, 2) canonical lips."""
    return apply_affine(avatar.canonical_to_crop(size), np.asarray(lips)[INNER])


def output_measures(video: Any, to_canonical: np.ndarray, lips: np.ndarray, avatar: Any, native: int, size: int,
                    frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sharpness and seam ratio of the output frames ``frames`` (one more decode of ``video``).

    Args:
        video: the output video's path.
        to_canonical: (T, 2, 3) image -> canonical similarity of every output frame (tracked).
        lips: (T, 40, 2) lips of every output frame in the canonical frame.
        avatar: the :class:`~dhsdk.avatar.Avatar` the video was rendered from.
        native: crop side the frames are sampled at (:func:`sampling_side`).
        size: crop side S the measures are taken at (:func:`crop_size`).
        frames: indices of the frames to measure (e.g. those with speech).

    Returns:
        (len(frames),) float64 sharpness, (len(frames),) float64 seam ratio (NaN where a frame
        could not be decoded).
    """
    from dhsdk.avatar.material import open_material

    parts = regions(avatar.mouth_mask(size))
    wanted = {int(f): j for j, f in enumerate(frames)}
    sharp, seam = np.full(len(frames), np.nan), np.full(len(frames), np.nan)
    last = max(wanted, default=-1)
    for t, frame in enumerate(open_material(video).frames()):
        if t > last:
            break
        if t in wanted:
            grey = grey_crop(frame, avatar.canonical_to_crop, to_canonical[t], native, size)
            sharp[wanted[t]], seam[wanted[t]] = measure(grey, parts, inner_lips(avatar, lips[t], size))
    return sharp, seam


def source_measures(avatar: Any, native: int, size: int, count: int = SOURCE_FRAMES) -> tuple[np.ndarray, np.ndarray]:
    """Sharpness and seam ratio of ``count`` evenly spaced base frames of ``avatar`` (the
    source), cropped at ``native`` pixels and measured at ``size``."""
    parts = regions(avatar.mouth_mask(size))
    picks = np.unique(np.linspace(0, avatar.num_frames - 1, min(count, avatar.num_frames)).round().astype(int))
    out = [measure(grey_crop(avatar.frame(int(i)), avatar.canonical_to_crop, avatar.to_canonical[i], native, size),
                   parts, inner_lips(avatar, apply_affine(avatar.to_canonical[i], avatar.lips[i]), size))
           for i in picks]
    return np.array([o[0] for o in out]), np.array([o[1] for o in out])
