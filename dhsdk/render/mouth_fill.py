"""Inner-mouth material for the warp renderer: the avatar's teeth bank and colour matching.

The bank is one reference crop of the avatar (ideally its most open mouth) with its inner-lip
column table; the warp kernel samples its teeth anchored under the target's upper inner lip
(and above the lower). Where neither the source crop nor the reference shows an open mouth,
the kernel paints a shaded cavity with a soft teeth band, in colours taken here from the
reference: the cavity is the lip colour darkened, the teeth the brightest inner-mouth pixels
of the reference when it shows teeth, else a warm off-white at the skin's brightness.

Colour matching: per channel, the reference's mean and contrast in the ring just inside the
mask edge are mapped onto the current crop's (gain and offset), and everything the kernel
takes from the reference or synthesises is passed through that map, so teeth and cavity
follow the frame's lighting.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dhsdk.geometry import INNER, OUTER, mouth_width
from dhsdk.render.mesh import inner_lut, mouth_span

BAND_SAMPLES = 2048            # pixels of the mask-edge ring used for the statistics
GAIN_RANGE = (0.75, 1.33)      # contrast gain limits (a ring hit by a shadow must not explode)
TEETH_BAND = 0.14              # synthetic upper-teeth band height / outer mouth width
CAVITY_SCALE = np.array([0.24, 0.12, 0.12])   # lip colour -> cavity at the lips
DEFAULT_TEETH = np.array([0.97, 0.94, 0.87])  # synthetic teeth tint (times a brightness)


@dataclass(frozen=True)
class MouthColours:
    """Per-frame colour parameters of the kernel (0..255 units, crop colour space)."""

    gain: tuple[float, float, float]
    offset: tuple[float, float, float]
    cavity: tuple[float, float, float]
    teeth: tuple[float, float, float]


def edge_ring(mask: np.ndarray) -> np.ndarray:
    """Flat pixel indices (at most BAND_SAMPLES, evenly strided) of the ring just inside the
    mask edge: mask > 0.5 but within S/32 (>= 3) pixels of mask <= 0.5."""
    import cv2

    inside = (np.asarray(mask) > 0.5).astype(np.uint8)
    r = max(3, mask.shape[0] // 32)
    core = cv2.erode(inside, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))
    idx = np.flatnonzero(inside & (core == 0))
    if idx.size == 0:
        idx = np.flatnonzero(inside)
    return idx[:: max(1, idx.size // BAND_SAMPLES)]


def _polygon_pixels(image: np.ndarray, outer: np.ndarray, inner: np.ndarray | None) -> np.ndarray:
    """(n, 3) float64 pixels inside polygon ``outer`` and outside ``inner``."""
    import cv2

    m = np.zeros(image.shape[:2], np.uint8)
    cv2.fillPoly(m, [np.rint(outer).astype(np.int32)], 1)
    if inner is not None:
        cv2.fillPoly(m, [np.rint(inner).astype(np.int32)], 0)
    return image[m > 0].astype(np.float64)


class MouthBank:
    """Reference material and colour statistics for one avatar.

    Args:
        reference: (S, S, 3) uint8 RGB reference crop.
        reference_lips: (40, 2) crop-pixel lips of ``reference``.
        mask: (S, S) float32 lower-face mask in [0, 1].
    """

    def __init__(self, reference: np.ndarray, reference_lips: np.ndarray, mask: np.ndarray):
        self.image = np.ascontiguousarray(reference, np.uint8)
        lips = np.asarray(reference_lips, np.float64)
        size = self.image.shape[0]
        self.lut = inner_lut(lips, size)
        self.centre, _ = mouth_span(lips)
        self.ring = edge_ring(mask)
        self.mean, self.std = self._stats(self.image)
        self.teeth_h = TEETH_BAND * float(mouth_width(lips))
        lip = _polygon_pixels(self.image, lips[OUTER], lips[INNER])
        lip_colour = np.median(lip, 0) if len(lip) else self.mean
        self.cavity = CAVITY_SCALE * lip_colour
        inside = _polygon_pixels(self.image, lips[INNER], None)
        luma = inside @ np.array([0.299, 0.587, 0.114]) if len(inside) else np.zeros(0)
        skin = float(self.mean @ np.array([0.299, 0.587, 0.114]))
        bright = inside[luma >= np.percentile(luma, 90)] if len(inside) >= 20 else np.zeros((0, 3))
        if len(bright) and bright.mean() > 1.1 * skin:
            self.teeth = bright.mean(0)            # the reference shows teeth: use their colour
        else:
            self.teeth = DEFAULT_TEETH * np.clip(1.35 * skin, 185.0, 245.0)

    def _stats(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        px = image.reshape(-1, 3)[self.ring].astype(np.float64)
        return px.mean(0), px.std(0) + 1.0

    def colours(self, crop: np.ndarray, match: bool = True) -> MouthColours:
        """Colour parameters for one crop (identity map when ``match`` is False)."""
        if match:
            mean, std = self._stats(crop)
            gain = np.clip(std / self.std, *GAIN_RANGE)
            offset = mean - gain * self.mean
        else:
            gain, offset = np.ones(3), np.zeros(3)

        def rgb(v: np.ndarray) -> tuple[float, float, float]:
            return tuple(float(c) for c in v)

        return MouthColours(rgb(gain), rgb(offset), rgb(np.clip(gain * self.cavity + offset, 0.0, 255.0)),
                            rgb(np.clip(gain * self.teeth + offset, 0.0, 255.0)))
