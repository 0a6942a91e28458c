"""Output size: fit the avatar's frames to the size a sink or a platform wants, without
distorting the presenter.

"Cover" fitting: the frame is scaled so it fills the output, and the part that does not fit is
cropped away around the face (a 3:4 avatar in a 9:16 live-commerce stream loses its sides, not
its proportions or its face). The window is fixed per (avatar, size), so it never wobbles.
"""
from __future__ import annotations

import numpy as np


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
        x0, y0, ww, wh = self.window
        return (np.asarray(xy, np.float64) - (x0, y0)) * np.array([self.size[0] / ww, self.size[1] / wh])
