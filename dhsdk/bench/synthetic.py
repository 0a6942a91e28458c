"""A procedural avatar for benchmarking the pipeline when no avatar bundle is at hand.

:class:`SyntheticAvatar` has the attributes :class:`dhsdk.pipeline.lipsync.LipSync`,
:class:`~dhsdk.pipeline.stream.Stream` and :class:`~dhsdk.render.unet.UNetRenderer` read from a
real :class:`dhsdk.avatar.Avatar` (frames, per-frame lips and canonical transforms, mouth crop
affines and mask, fps, idle loop), built from the canonical face frame of
:mod:`dhsdk.geometry` at any frame size. Every stage then does exactly the work it does on a
real avatar of that size (same crop size, same mask area, same frame copy and composite), so
the timings transfer; only the pixels are synthetic. Pure numpy.
"""
from __future__ import annotations

import numpy as np

from dhsdk.geometry import apply_affine, compose_affine, invert_affine

CROP_EXTENT = 1.6          # mouth crop side in canonical units (inter-eye distances)
CROP_CENTRE = (0.0, 1.0)   # mouth crop centre in the canonical frame


def neutral_lips() -> np.ndarray:
    """(40, 2) float32 neutral closed mouth in canonical units (LIP_IDS order)."""
    from dhsdk.models.lipshape import template

    return template()


class SyntheticAvatar:
    """A portrait-like avatar of ``width`` x ``height`` with a ``frames``-long idle loop.

    Args:
        width, height: frame size in pixels.
        fps: the avatar's frame rate.
        frames: idle-loop length; the head sways by a few pixels and a degree across it.
        mouth_model: ``"warp"`` or the path of an inpainting-UNet ONNX model.
    """

    def __init__(self, width: int = 720, height: int = 1280, fps: float = 25.0, frames: int = 25,
                 mouth_model: str = "warp"):
        self.path = f"synthetic:{width}x{height}"
        self.width, self.height, self.fps, self.num_frames = int(width), int(height), float(fps), int(frames)
        self.mouth_model = mouth_model
        self.neutral_lips = neutral_lips()
        eye = 0.18 * width                       # inter-eye distance in pixels
        phase = 2 * np.pi * np.arange(frames) / frames
        self.to_image = []                       # canonical -> image, per frame
        for p in phase:
            a = np.radians(1.0) * np.sin(p)
            rot = eye * np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
            shift = np.array([width / 2 + 3 * np.sin(p), 0.40 * height + 2 * np.cos(p)])
            self.to_image.append(np.hstack([rot, shift[:, None]]))
        self.to_canonical = np.stack([invert_affine(m) for m in self.to_image])
        self.lips = np.stack([apply_affine(m, self.neutral_lips) for m in self.to_image]).astype(np.float32)
        self._image = self._portrait()

    def _portrait(self) -> np.ndarray:
        """(H, W, 3) uint8: background gradient, a skin-tone face ellipse, a lip band, noise."""
        h, w = self.height, self.width
        ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
        img = np.empty((h, w, 3), np.float32)
        img[...] = (40 + 60 * ys / h)[..., None] * np.array([0.8, 0.9, 1.0], np.float32)
        canon = apply_affine(self.to_canonical[0], np.stack([xs.ravel(), ys.ravel()], -1)).reshape(h, w, 2)
        face = (canon[..., 0] / 1.3) ** 2 + ((canon[..., 1] - 0.5) / 1.8) ** 2 < 1
        img[face] = (224, 172, 140)
        lip = (np.abs(canon[..., 0]) < 0.5) & (np.abs(canon[..., 1] - 0.95) < 0.12)
        img[lip] = (170, 80, 80)
        img += np.random.default_rng(0).normal(0, 6, img.shape).astype(np.float32)
        return np.clip(img, 0, 255).astype(np.uint8)

    def frame(self, index: int) -> np.ndarray:
        """(H, W, 3) uint8 RGB base frame ``index`` (read-only: callers copy)."""
        return self._image

    def idle_index(self, k: int) -> int:
        """Base frame for output frame ``k``: a ping-pong walk over the idle loop."""
        n = self.num_frames
        return k % n if (k // n) % 2 == 0 else n - 1 - k % n

    def canonical_to_crop(self, size: int) -> np.ndarray:
        """(2, 3) canonical -> S x S mouth-crop pixels (fixed per avatar)."""
        from dhsdk.avatar.mouth_region import canonical_to_crop

        return canonical_to_crop(CROP_CENTRE, size, CROP_EXTENT)

    def crop_affine(self, size: int) -> np.ndarray:
        """(N, 2, 3) float32 crop -> frame affine of every base frame."""
        crop_to_canon = invert_affine(self.canonical_to_crop(size))
        return np.stack([compose_affine(m, crop_to_canon) for m in self.to_image]).astype(np.float32)

    def reference_crop(self, size: int) -> tuple[np.ndarray, np.ndarray]:
        """(S, S, 3) uint8 crop of base frame 0 and its (40, 2) float32 lips in crop pixels."""
        from dhsdk import kernels

        affine = self.crop_affine(size)[:1]
        crop = kernels.crop(np.ascontiguousarray(self._image), affine, size, border="replicate")[0]
        return crop, apply_affine(invert_affine(affine[0]), self.lips[0]).astype(np.float32)

    def mouth_mask(self, size: int) -> np.ndarray:
        """(S, S) float32 feathered lower-face ellipse in [0, 1] (1 = re-rendered)."""
        ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
        d = ((xs - 0.5 * size) / (0.42 * size)) ** 2 + ((ys - 0.55 * size) / (0.36 * size)) ** 2
        return np.clip((1.0 - d) / 0.3, 0.0, 1.0).astype(np.float32)
