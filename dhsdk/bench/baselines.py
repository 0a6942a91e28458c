"""The code a user would otherwise write, measured next to dhsdk in the same run.

One place for every baseline, shared by ``dhsdk bench`` and the stage scripts in
``benchmarks/``:

- :func:`opencv_composite` / :func:`numpy_composite`: warp the mouth crop and its mask into
  the frame and alpha-blend it (what :func:`dhsdk.kernels.composite` fuses);
- :func:`opencv_crop`: ``cv2.warpAffine`` + normalise + NCHW transpose (what
  :func:`dhsdk.kernels.crop` fuses);
- :data:`WAV2LIP_SIZED`: an :class:`~dhsdk.models.inpaint.InpaintConfig` of a plain UNet the
  size of the Wav2Lip generator (~7.9 GFLOPs at 96 x 96), the mouth model people reach for;
- :func:`mouth_affine`: a realistic crop -> frame affine for the kernels benchmarks.

cv2 is imported inside the functions that use it.
"""
from __future__ import annotations

import math

import numpy as np

# (name, crop size, widths) of dhsdk.models.inpaint.InpaintConfig: random weights are enough
# for speed, which does not depend on the weights.
WAV2LIP_SIZED = ("wav2lip-sized", 96, (52, 104, 208, 416, 512))
PM1_MEAN = np.array([0.5, 0.5, 0.5], np.float32)
PM1_STD = np.array([0.5, 0.5, 0.5], np.float32)


def mouth_affine(size: int, centre: tuple[float, float] = (540.0, 1300.0), extent: float = 400.0,
                 degrees: float = 8.0) -> np.ndarray:
    """crop -> frame (2, 3) float64: an S x S crop covering ``extent`` px, rotated, at ``centre``."""
    scale, ang = extent / size, math.radians(degrees)
    c, s = scale * math.cos(ang), scale * math.sin(ang)
    half = (size - 1) / 2
    return np.array([[c, -s, centre[0] - c * half + s * half], [s, c, centre[1] - s * half - c * half]])


def opencv_composite(frame: np.ndarray, crop: np.ndarray, mask: np.ndarray, affine: np.ndarray,
                     roi: tuple[int, int, int, int]) -> None:
    """In place: warp ``crop`` (S, S, 3) uint8 and ``mask`` (S, S) float32 into ``roi``
    (x0, y0, w, h) of ``frame`` with cv2.warpAffine, float blend, paste."""
    import cv2

    x0, y0, w, h = roi
    m = affine.copy()
    m[:, 2] -= (x0, y0)
    col = cv2.warpAffine(crop, m, (w, h), flags=cv2.INTER_LINEAR).astype(np.float32)
    alpha = cv2.warpAffine(mask, m, (w, h), flags=cv2.INTER_LINEAR)[..., None]
    dst = frame[y0:y0 + h, x0:x0 + w].astype(np.float32)
    frame[y0:y0 + h, x0:x0 + w] = np.clip(dst + (col - dst) * alpha + 0.5, 0, 255).astype(np.uint8)


def numpy_composite(frame: np.ndarray, crop: np.ndarray, mask: np.ndarray, inverse: np.ndarray,
                    roi: tuple[int, int, int, int]) -> None:
    """In place, numpy only: bilinear gather of crop and mask through ``inverse`` (frame ->
    crop, (2, 3)) over ``roi`` and alpha blend."""
    x0, y0, w, h = roi
    ys, xs = np.mgrid[y0:y0 + h, x0:x0 + w].astype(np.float32)
    sx = inverse[0, 0] * xs + inverse[0, 1] * ys + inverse[0, 2]
    sy = inverse[1, 0] * xs + inverse[1, 1] * ys + inverse[1, 2]
    s = crop.shape[0]
    inside = (sx >= -0.5) & (sy >= -0.5) & (sx <= s - 0.5) & (sy <= s - 0.5)
    cx, cy = np.clip(sx, 0, s - 1), np.clip(sy, 0, s - 1)
    ix, iy = cx.astype(np.int32), cy.astype(np.int32)
    jx, jy = np.minimum(ix + 1, s - 1), np.minimum(iy + 1, s - 1)
    fx, fy = (cx - ix)[..., None], (cy - iy)[..., None]
    img = np.concatenate([crop.astype(np.float32), mask[..., None]], axis=-1)
    v = (img[iy, ix] * (1 - fx) + img[iy, jx] * fx) * (1 - fy) + (img[jy, ix] * (1 - fx) + img[jy, jx] * fx) * fy
    alpha = np.where(inside, v[..., 3], 0)[..., None]
    dst = frame[y0:y0 + h, x0:x0 + w].astype(np.float32)
    frame[y0:y0 + h, x0:x0 + w] = np.clip(dst + (v[..., :3] - dst) * alpha + 0.5, 0, 255).astype(np.uint8)


def opencv_crop(frame: np.ndarray, affine: np.ndarray, size: int) -> np.ndarray:
    """(3, S, S) float32 in [-1, 1]: cv2.warpAffine crop + normalise + transpose."""
    import cv2

    c = cv2.warpAffine(frame, affine, (size, size), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)
    return np.ascontiguousarray(((c.astype(np.float32) / 255 - PM1_MEAN) / PM1_STD).transpose(2, 0, 1))
