"""One pass over a video: decode, track the face, measure each frame, and hand each frame on.

Everything the review and the bundle need comes out of this single decode: the face track,
per-frame measurements on the face (sharpness, exposure, the lips' colour against the skin for
mouth occlusion), small appearance descriptors (loop choice), thumbnails for the contact sheet,
and, through ``on_frame``, the full-size frames for the bundle's frame store. No frame is kept:
memory grows by each frame's numbers only (~6 KB), whatever the footage's length.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from dhsdk.avatar.material import ANALYSIS_MAX_SIDE, Material, fit_long_side
from dhsdk.avatar.track import FaceTrack, FaceTracker
from dhsdk.errors import InputError
from dhsdk.geometry import LIP_INNER_IDS, LIP_OUTER_IDS

OUTPUT_MAX_SIDE = 3840   # base frames kept for output up to 4K; larger material is downscaled
FACE_NORM_PX = 128       # face crops are resized to this height before measuring sharpness
DESCRIPTOR_PX = 16       # side of the grey appearance descriptors
SKIN_RING = 0.15         # width of the skin ring around the lips, in mouth widths
MAX_THUMBS = 48          # thumbnails kept for the contact sheet
THUMB_PX = 240           # thumbnail height


@dataclass
class FrameMeasures:
    """Per-frame numbers (NaN where a frame had no face).

    Attributes:
        sharpness: variance of the Laplacian of the face, grey 0..255, face at 128 px tall.
        brightness: mean luma of the face (the whole frame when no face), 0..1.
        highlights: share of face pixels with luma >= 250.
        shadows: share of face pixels with luma <= 5.
        face_desc: (N, 256) grey 16x16 face descriptors in [0, 1].
        lip_contrast: how much redder the lips are than the skin around them: mean Cr (the
            red-difference chroma of YCrCb, 0..255) of the lips (between the outer and inner
            lip contours) minus that of a ring of skin :data:`SKIN_RING` mouth widths wide
            around them. Positive on a visible mouth at any opening and head pose; about 0
            when a hand, a microphone or a product covers lips and skin alike.
    """

    sharpness: list = field(default_factory=list)
    brightness: list = field(default_factory=list)
    highlights: list = field(default_factory=list)
    shadows: list = field(default_factory=list)
    face_desc: list = field(default_factory=list)
    lip_contrast: list = field(default_factory=list)

    def arrays(self) -> dict[str, np.ndarray]:
        """Every series as a float32 array."""
        return {k: np.asarray(v, np.float32) for k, v in self.__dict__.items()}


@dataclass
class Analysis:
    """What one pass over the material found.

    Attributes:
        material: the opened material (its ``stats`` tell whether decoding was complete).
        track: the face track, or None when no frame had a face.
        faces: (N,) int16 faces the detector counted (-1: frame not sampled).
        face_height: (N,) float32 height of the largest detected face, output pixels (NaN: not
            sampled or none).
        measures: per-frame arrays of :class:`FrameMeasures`.
        thumbs: (frame index, RGB thumbnail) pairs for the contact sheet.
        thumb_scale: thumbnail pixels per output pixel.
        size: (width, height) of the output frames handed to ``on_frame``.
        audio: the audio track, (n,) float32 16 kHz, or None.
        seconds: wall time of the pass.
        reference: (RGB image, (478, 2) mesh) of the most open mouth when the pass knows it
            (photos); None: pick it from the base frames.
    """

    material: Material
    track: FaceTrack | None
    faces: np.ndarray
    face_height: np.ndarray
    measures: dict[str, np.ndarray]
    thumbs: list[tuple[int, np.ndarray]]
    thumb_scale: float
    size: tuple[int, int]
    audio: np.ndarray | None
    seconds: float
    reference: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def frames(self) -> int:
        """Frames decoded."""
        return self.material.stats.decoded


def _box(points: np.ndarray, shape: tuple[int, ...], pad: float) -> tuple[int, int, int, int] | None:
    x0, y0 = points.min(0)
    x1, y1 = points.max(0)
    px, py = pad * (x1 - x0), pad * (y1 - y0)
    x0, y0 = max(int(x0 - px), 0), max(int(y0 - py), 0)
    x1, y1 = min(int(np.ceil(x1 + px)), shape[1]), min(int(np.ceil(y1 + py)), shape[0])
    return (x0, y0, x1, y1) if x1 - x0 >= 4 and y1 - y0 >= 4 else None


def measure_frame(rgb: np.ndarray, points: np.ndarray | None, m: FrameMeasures) -> None:
    """Append one frame's measures to ``m``.

    Args:
        rgb: (H, W, 3) uint8 RGB analysis frame.
        points: (478, 2) mesh in the analysis frame's pixels, or None.
    """
    import cv2

    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    face = _box(points, grey.shape, 0.0) if points is not None else None
    region = grey if face is None else grey[face[1]:face[3], face[0]:face[2]]
    luma = region.astype(np.float32)
    m.brightness.append(float(luma.mean()) / 255.0)
    m.highlights.append(float((region >= 250).mean()))
    m.shadows.append(float((region <= 5).mean()))
    if face is None:
        m.sharpness.append(np.nan)
        m.face_desc.append(np.full(DESCRIPTOR_PX ** 2, np.nan, np.float32))
        m.lip_contrast.append(np.nan)
        return
    h, w = region.shape
    norm = cv2.resize(region, (max(1, round(w * FACE_NORM_PX / h)), FACE_NORM_PX), interpolation=cv2.INTER_AREA)
    m.sharpness.append(float(cv2.Laplacian(norm, cv2.CV_32F).var()))
    small = cv2.resize(region, (DESCRIPTOR_PX, DESCRIPTOR_PX), interpolation=cv2.INTER_AREA)
    m.face_desc.append(small.reshape(-1).astype(np.float32) / 255.0)
    m.lip_contrast.append(lip_contrast(rgb, points))


def lip_contrast(rgb: np.ndarray, points: np.ndarray) -> float:
    """Cr of the lips minus Cr of the skin around them (see :class:`FrameMeasures`).

    Args:
        rgb: (H, W, 3) uint8 RGB frame.
        points: (478, 2) its face mesh, pixels.

    Returns:
        The difference in Cr units (0..255 scale); NaN when the lips are too small to sample
        or outside the frame.
    """
    import cv2

    outer = points[list(LIP_OUTER_IDS)]
    inner = points[list(LIP_INNER_IDS)]
    r = max(2, int(round(SKIN_RING * float(np.linalg.norm(outer[10] - outer[0])))))
    box = _box(outer, rgb.shape, 0.0)
    if box is None:
        return float("nan")
    x0, y0 = max(box[0] - r - 1, 0), max(box[1] - r - 1, 0)
    x1, y1 = min(box[2] + r + 1, rgb.shape[1]), min(box[3] + r + 1, rgb.shape[0])
    cr = cv2.cvtColor(np.ascontiguousarray(rgb[y0:y1, x0:x1]), cv2.COLOR_RGB2YCrCb)[..., 1]
    mouth = np.zeros(cr.shape, np.uint8)
    gap = np.zeros(cr.shape, np.uint8)
    cv2.fillPoly(mouth, [np.round(outer - (x0, y0)).astype(np.int32)], 1)
    cv2.fillPoly(gap, [np.round(inner - (x0, y0)).astype(np.int32)], 1)
    lips = (mouth == 1) & (gap == 0)
    ring = (cv2.dilate(mouth, np.ones((2 * r + 1, 2 * r + 1), np.uint8)) == 1) & (mouth == 0)
    if lips.sum() < 3 or ring.sum() < 3:
        return float("nan")
    return float(cr[lips].mean()) - float(cr[ring].mean())


def analyze(material: Material, on_frame: Callable[[np.ndarray], None] | None = None,
            show_progress: bool = True) -> Analysis:
    """Decode the material once and measure it.

    Args:
        material: from :func:`dhsdk.avatar.material.open_material` (a video; photos are
            analysed by :func:`dhsdk.avatar.photo.analyze_photo`).
        on_frame: called with every output frame ((H, W, 3) uint8 RGB, long side <=
            :data:`OUTPUT_MAX_SIDE`), e.g. to write the bundle's frame store.
        show_progress: progress bar on stderr.
    """
    import cv2

    from dhsdk.progress import progress

    info = material.info
    out_side = min(info.long_side, OUTPUT_MAX_SIDE)
    an_side = min(out_side, ANALYSIS_MAX_SIDE)
    scale = out_side / an_side
    tracker = FaceTracker(info.fps, scale=scale)
    measures = FrameMeasures()
    expected = max(info.declared_frames, 1)
    stride = max(1, int(np.ceil(expected / MAX_THUMBS)))
    thumbs: list[tuple[int, np.ndarray]] = []
    thumb_scale = min(1.0, THUMB_PX / max(1, round(info.height * out_side / info.long_side)))
    size = (0, 0)
    start = time.perf_counter()
    for i, frame in enumerate(progress(material.frames(out_side), total=info.declared_frames or None,
                                       desc="analysing", unit="frame", enabled=show_progress)):
        size = (frame.shape[1], frame.shape[0])
        small = fit_long_side(frame, an_side)
        points, _ = tracker.update(small)
        measure_frame(small, None if points is None else points / scale, measures)
        if i % stride == 0:
            thumbs.append((i, cv2.resize(frame, None, fx=thumb_scale, fy=thumb_scale, interpolation=cv2.INTER_AREA)))
        if on_frame is not None:
            on_frame(frame)
    if material.stats.decoded == 0:
        raise InputError(f"{info.path}: no frame could be decoded ({material.stats.error}): the file is "
                         f"damaged; export it again")
    try:
        track = tracker.finish()
    except InputError:
        track = None
    return Analysis(material, track, tracker.faces, tracker.face_height, measures.arrays(), thumbs, thumb_scale, size, material.audio(),
                    time.perf_counter() - start)
