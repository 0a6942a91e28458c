"""Output size: fit the avatar's frames to the size a sink or a platform wants, without
distorting the presenter.

"Cover" fitting: the frame is scaled so it fills the output, and the part that does not fit is
cropped away around the face (a 3:4 avatar in a 9:16 live-commerce stream loses its sides, not
its proportions or its face). The window is fixed per (avatar, size), so it never wobbles.

Two ways to use it: :class:`CoverFit` resizes finished frames (an offline render at another
size); :class:`FittedAvatar` presents an avatar *at* the output size (each base frame fitted
once and kept, the geometry mapped to match), so a live stream renders natively at that size
with no resize per frame.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

import numpy as np

from dhsdk.geometry import apply_affine, compose_affine, invert_affine

FITTED_CACHE_MB = 1024.0   # fitted base frames a FittedAvatar keeps (the idle loop of 720x1280: ~550 MB)


class CoverFit:
    """Resize (W, H) frames to ``size`` by scaling to cover and cropping around a focus point.

    Args:
        src: (width, height) of the input frames.
        size: (width, height) wanted.
        focus: (x, y) in input pixels to keep in view (the face centre), clamped to the frame.
    """

    def __init__(self, src: tuple[int, int], size: tuple[int, int], focus: tuple[float, float]):
        sw, sh = int(src[0]), int(src[1])
        self.size = (int(size[0]), int(size[1]))
        dw, dh = self.size
        self.scale = max(dw / sw, dh / sh)
        ww, wh = min(sw, round(dw / self.scale)), min(sh, round(dh / self.scale))
        x0 = int(np.clip(round(focus[0] - ww / 2), 0, sw - ww))
        y0 = int(np.clip(round(focus[1] - wh / 2), 0, sh - wh))
        self.window = (x0, y0, ww, wh)  # the part of the input that is shown, input pixels
        self.identity = (sw, sh) == self.size

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """(H, W, 3) uint8 -> (size[1], size[0], 3) uint8."""
        if self.identity:
            return image
        import cv2

        x0, y0, ww, wh = self.window
        flags = cv2.INTER_AREA if self.scale < 1.0 else cv2.INTER_LINEAR
        return cv2.resize(image[y0:y0 + wh, x0:x0 + ww], self.size, interpolation=flags)

    def point(self, xy: np.ndarray) -> np.ndarray:
        """Map (..., 2) input pixel coordinates to output pixels."""
        return apply_affine(self.affine, xy)

    @property
    def affine(self) -> np.ndarray:
        """(2, 3) float64 input pixels -> output pixels (pixel centres at integers)."""
        x0, y0, ww, wh = self.window
        sx, sy = self.size[0] / ww, self.size[1] / wh
        return np.array([[sx, 0.0, 0.5 * sx - 0.5 - sx * x0], [0.0, sy, 0.5 * sy - 0.5 - sy * y0]])


def cover_fit(avatar: Any, size: tuple[int, int]) -> CoverFit:
    """The :class:`CoverFit` of ``avatar``'s frames to ``size`` (width, height), kept around its face
    (between the eyes and the mouth of its first frame, the mouth averaged over all frames)."""
    face = np.asarray(avatar.lips, np.float64)[:, :20].reshape(-1, 2).mean(0)
    eyes = apply_affine(invert_affine(avatar.to_canonical[0]), [0.0, 0.0])
    return CoverFit((avatar.width, avatar.height), size, tuple((face + eyes) / 2))


class FittedAvatar:
    """``avatar`` at output size ``size``: what the render stage reads of an avatar, fitted.

    Base frames are cover-fitted on first use and kept (least recently used out beyond
    ``cache_mb``); the per-frame geometry (canonical maps, lips, face mesh, crop affines) is
    mapped by the fit. Everything in canonical or crop coordinates (neutral lips, mouth mask,
    reference crop) and everything else (fps, idle loop, mouth model, ...) is the avatar's own.

    Args:
        avatar: a :class:`dhsdk.avatar.Avatar` (or anything the render stage reads).
        size: (width, height) of the output.
        cache_mb: bound on the fitted frames kept.
    """

    def __init__(self, avatar: Any, size: tuple[int, int], cache_mb: float = FITTED_CACHE_MB):
        self._avatar = avatar
        self.fit = cover_fit(avatar, size)
        self.width, self.height = self.fit.size
        a = self.fit.affine
        self._to_input = invert_affine(a)
        self.to_canonical = np.stack([compose_affine(m, self._to_input) for m in avatar.to_canonical])
        self.lips = apply_affine(a, avatar.lips).astype(np.float32)
        landmarks = getattr(avatar, "landmarks", None)
        if landmarks is not None:
            self.landmarks = apply_affine(a, landmarks).astype(np.float32)
        self._capacity = max(1, int(cache_mb * 2 ** 20 // (self.width * self.height * 3)))
        self._frames: OrderedDict[int, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def frame(self, index: int) -> np.ndarray:
        """(height, width, 3) uint8 RGB base frame ``index`` at the output size (read-only)."""
        with self._lock:
            image = self._frames.get(int(index))
            if image is not None:
                self._frames.move_to_end(int(index))
                return image
        image = np.ascontiguousarray(self.fit(self._avatar.frame(index)))
        image.flags.writeable = False
        with self._lock:
            self._frames[int(index)] = image
            while len(self._frames) > self._capacity:
                self._frames.popitem(last=False)
        return image

    def crop_affine(self, size: int) -> np.ndarray:
        """(N, 2, 3) float32 crop -> output-frame affine of every base frame."""
        return np.stack([compose_affine(self.fit.affine, m) for m in self._avatar.crop_affine(size)]).astype(np.float32)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):   # protocol lookups (pickle, copy) never reach the avatar
            raise AttributeError(name)
        return getattr(self._avatar, name)

    def __reduce__(self) -> tuple:
        """Pickled as the avatar and the size (fitted again where it is unpickled)."""
        return FittedAvatar, (self._avatar, (self.width, self.height))

    def __repr__(self) -> str:
        return f"FittedAvatar({self._avatar!r}, {self.width}x{self.height})"
