"""Inner-mouth material for the warp renderer: the avatar's teeth bank and colour matching.

The bank is one reference crop of the avatar (ideally its most open mouth). Its teeth are
found by their redness, (R - G) / (R + G + B): teeth are nearly grey, lips, gums, the lips'
shadows and the mouth's cavity are red. Per column, the bank keeps the reference's upper teeth
(:func:`teeth_lut`), and the kernel hangs them from the target's upper lip,
keying each sample by the same redness, so only teeth come over and the reference's own
shadows and lips do not. Teeth cut short by the reference's lower lip (a barely open
reference, like most talking footage's) run on to :data:`TEETH_BAND` of the mouth width as
procedural teeth (the lower teeth are procedural too), in the reference's own teeth colour. A
reference without teeth (a closed mouth, or only darkness) gets procedural teeth in a colour
taken from its skin.

The cavity is the lip colour, half desaturated (so lipstick does not tint it), darkened by
:data:`CAVITY_SCALE`. On real footage (GRID speaker s1, 2.5x upscaled) the darkest tenth of an
open mouth's pixels is (0.56, 0.44, 0.33) times the lip colour: the interior there is never
seen without blur. The scale is the darker value that keeps re-rendered GRID mouths reading
back right and gives sharp footage (a 720p presenter, the bundled portrait) a dark interior.

Colour matching: per channel, the reference's mean and contrast in the ring just inside the
mask edge are mapped onto the current crop's (gain and offset), and everything the kernel
takes from the reference or synthesises is passed through that map, so teeth and cavity
follow the frame's lighting.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dhsdk.geometry import INNER, OUTER, mouth_width
from dhsdk.render.mesh import inner_lut, mouth_span, visible_lips

BAND_SAMPLES = 2048            # pixels of the mask-edge ring used for the statistics
GAIN_RANGE = (0.75, 1.33)      # contrast gain limits (a ring hit by a shadow must not explode)
TEETH_BAND = 0.14              # upper teeth run on to this height / outer mouth width
CAVITY_SCALE = np.array([0.5, 0.36, 0.3])   # half-desaturated lip colour -> cavity (before shading)
DEFAULT_TEETH = np.array([0.97, 0.94, 0.87])  # procedural teeth tint (times a brightness)
TEETH_GAP = 2                  # rows of non-teeth bridged inside a column's run of teeth
KEY_MARGIN = 0.25              # the teeth key ramps over the middle half of teeth..lip redness
MIN_KEY_SPAN = 0.04            # teeth must be at least this much less red than the lips
TEETH_BRIGHTER = 1.1           # ... and their brightest quarter this much brighter
LUMA = np.array([0.299, 0.587, 0.114])


@dataclass(frozen=True)
class MouthColours:
    """Per-frame colour parameters of the kernel (0..255 units, crop colour space)."""

    gain: tuple[float, float, float]
    offset: tuple[float, float, float]
    cavity: tuple[float, float, float]
    teeth: tuple[float, float, float]


def redness(rgb: np.ndarray) -> np.ndarray:
    """(R - G) / (R + G + B) of (..., 3) colours (the kernel's teeth key), (...,) float64."""
    rgb = np.asarray(rgb, np.float64)
    return (rgb[..., 0] - rgb[..., 1]) / np.maximum(rgb.sum(-1), 1.0)


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


def _polygon_mask(size: int, outer: np.ndarray, inner: np.ndarray | None = None) -> np.ndarray:
    """(S, S) bool: inside polygon ``outer`` and outside ``inner``."""
    import cv2

    m = np.zeros((size, size), np.uint8)
    cv2.fillPoly(m, [np.rint(outer).astype(np.int32)], 1)
    if inner is not None:
        cv2.fillPoly(m, [np.rint(inner).astype(np.int32)], 0)
    return m > 0


def teeth_key(image: np.ndarray, lips: np.ndarray) -> tuple[float, float]:
    """The redness at which a reference pixel is fully teeth and at which it is none.

    Args:
        image: (S, S, 3) uint8 reference crop.
        lips: (40, 2) its crop-pixel lips.

    Returns:
        (teeth, lip) redness thresholds, teeth < lip; (0, 0) when the reference shows no teeth
        (fewer than 20 pixels inside its inner lips, or its brightest quarter there is not
        clearly brighter and greyer than its lips).
    """
    size = image.shape[0]
    lip = image[_polygon_mask(size, lips[OUTER], lips[INNER])].astype(np.float64)
    inside = image[_polygon_mask(size, visible_lips(lips)[INNER])].astype(np.float64)
    if len(inside) < 20 or not len(lip):
        return 0.0, 0.0
    bright = inside[inside @ LUMA >= np.percentile(inside @ LUMA, 75)]
    r_teeth, r_lip = float(np.median(redness(bright))), float(np.median(redness(lip)))
    if r_lip - r_teeth < MIN_KEY_SPAN or np.median(bright @ LUMA) < TEETH_BRIGHTER * np.median(lip @ LUMA):
        return 0.0, 0.0
    span = r_lip - r_teeth
    return r_teeth + KEY_MARGIN * span, r_lip - KEY_MARGIN * span


def teeth_lut(image: np.ndarray, lips: np.ndarray, key: tuple[float, float]) -> np.ndarray:
    """The reference's upper teeth in every crop column: from its tracked upper inner lip (or
    its teeth, where they show above it) down to its last row of teeth.

    A pixel is teeth where its redness is below the middle of ``key``, searched within the
    mouth's visible inner lips widened by a quarter of the gap (real teeth show past them); the
    band ends where the first run of teeth rows does (gaps of up to TEETH_GAP rows bridged: a
    pale highlight on the lower lip further down is not teeth). Starting at the lip keeps the
    shadow under it (so a barely open mouth stays dark); the kernel keys its samples, so only
    teeth come over. Median-filtered over 5 columns; columns without teeth (or a band under
    1 px) get top = bottom = 0.

    Args:
        image: (S, S, 3) uint8 reference crop.
        lips: (40, 2) its crop-pixel lips.
        key: :func:`teeth_key` of it.

    Returns:
        (S, 2) float32 (top, bottom) y per column.
    """
    size = image.shape[0]
    out = np.zeros((size, 2), np.float32)
    if not key[0] < key[1]:
        return out
    up, lo = inner_lut(visible_lips(lips), size).astype(np.float64).T
    margin = 0.25 * np.maximum(lo - up, 0.0)
    rows = np.arange(size, dtype=np.float64)[:, None]                       # (S, 1) y
    window = (lo > up)[None] & (rows >= up - margin) & (rows <= lo + margin)  # (S rows, S cols)
    teeth = window & (redness(image) < 0.5 * (key[0] + key[1]))
    has = teeth.any(0)
    first = np.argmax(teeth, 0)
    below = rows >= first[None]
    gaps = np.cumsum(~teeth & below, 0)                                     # non-teeth rows so far
    run_gap = gaps - np.maximum.accumulate(np.where(teeth, gaps, 0), 0)     # length of the current gap
    ended = below & (run_gap > TEETH_GAP)
    stop = np.where(ended.any(0), np.argmax(ended, 0), size)
    last = np.where(teeth & (rows < stop[None]), rows, -1.0).max(0)
    top = _median5(np.where(has, np.minimum(first, inner_lut(lips, size)[:, 0]), 0.0))
    bottom = _median5(np.where(has, last, 0.0))
    keep = has & (bottom - top >= 1.0)
    out[keep, 0], out[keep, 1] = top[keep], bottom[keep]
    return out


def _band_mask(lut: np.ndarray) -> np.ndarray:
    """(S, S) bool: rows top..bottom of every column of a (S, 2) column table."""
    rows = np.arange(len(lut), dtype=np.float64)[:, None]
    return (rows >= lut[:, 0][None]) & (rows <= lut[:, 1][None])


def _median5(v: np.ndarray) -> np.ndarray:
    """Running median over 5 neighbours (edges repeated), (n,) -> (n,)."""
    padded = np.pad(v, 2, mode="edge")
    return np.median(np.lib.stride_tricks.sliding_window_view(padded, 5), axis=-1)


class MouthBank:
    """Reference material and colour statistics for one avatar.

    Args:
        reference: (S, S, 3) uint8 RGB reference crop.
        reference_lips: (40, 2) crop-pixel lips of ``reference``.
        mask: (S, S) float32 lower-face mask in [0, 1].

    Attributes:
        image: the reference crop (what the kernel samples teeth from).
        key: :func:`teeth_key` ((0, 0): no teeth in the reference, procedural ones).
        lut: :func:`teeth_lut`, (S, 2) float32.
        centre: centre column of the reference's inner mouth, px.
        teeth_h: the height the upper teeth run on to at the mouth centre, px.
        cavity, teeth: (3,) reference-space colours of the cavity and of the procedural teeth
            (the reference's own teeth's median colour where it shows teeth).
    """

    def __init__(self, reference: np.ndarray, reference_lips: np.ndarray, mask: np.ndarray):
        self.image = np.ascontiguousarray(reference, np.uint8)
        lips = np.asarray(reference_lips, np.float64)
        size = self.image.shape[0]
        self.key = teeth_key(self.image, lips)
        self.lut = teeth_lut(self.image, lips, self.key)
        self.centre, _ = mouth_span(lips)
        self.ring = edge_ring(mask)
        self.mean, self.std = self._stats(self.image)
        self.teeth_h = TEETH_BAND * float(mouth_width(lips))
        lip = self.image[_polygon_mask(size, lips[OUTER], lips[INNER])].astype(np.float64)
        lip_colour = np.median(lip, 0) if len(lip) else self.mean
        self.cavity = CAVITY_SCALE * 0.5 * (lip_colour + float(lip_colour @ LUMA))
        teeth = self.image[(self.lut[:, 1] > self.lut[:, 0])[None] & _band_mask(self.lut)]
        teeth = teeth[redness(teeth) < self.key[0]] if len(teeth) else teeth
        if len(teeth) >= 10:
            self.teeth = np.median(teeth.astype(np.float64), 0)    # its own teeth's colour
        else:
            self.teeth = DEFAULT_TEETH * np.clip(1.35 * float(self.mean @ LUMA), 185.0, 245.0)

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
