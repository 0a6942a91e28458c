"""A whole stock clip swapped: track the stock face, refuse clips that cannot work, then paste
the photo's face into every frame and write the result as material for an avatar.

Two decode passes (a 60 s clip is gigabytes as raw frames, so nothing holds them all): the
first tracks the stock face with the avatar tracker (:class:`~dhsdk.avatar.track.FaceTracker`:
BlazeFace counts faces, the mesh is smoothed without lag) and checks it; the second swaps frame
by frame (:class:`~dhsdk.swap.compose.FaceSwapper`) and encodes. A clip below 720p is
upscaled first, so the photo's face keeps the detail it has (and the avatar meets the review's
resolution floor); the stock body is as sharp as the clip.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dhsdk.avatar.material import ANALYSIS_MAX_SIDE, Material, MaterialInfo, fit_long_side, open_material
from dhsdk.avatar.track import FaceTrack
from dhsdk.errors import InputError
from dhsdk.geometry import apply_affine
from dhsdk.swap.compose import FaceSwapper, SwapFace
from dhsdk.swap.topology import eye_ids

MIN_STOCK_FACE_PX = 64.0   # median stock face box height, source pixels: smaller faces carry no identity
MIN_FOUND_SHARE = 0.9      # the face must be tracked in at least this share of frames
MAX_MULTI_SHARE = 0.02     # at most this share of sampled frames may show more than one face
OUTPUT_SHORT_SIDE = 720    # clips below 720p are upscaled to it
OUTPUT_MAX_SIDE = 1920     # and larger ones kept at most 1080p (an avatar's frames are stored as JPEG)
MATERIAL_CRF = 12          # x264 quality of the swapped material (near lossless; it is re-encoded as JPEG)
MEASURE_EVERY = 5          # seam energy on every 5th frame


@dataclass
class StockTrack:
    """The stock face through the clip.

    Attributes:
        info: the stock clip.
        track: the smoothed face track, source pixels.
        faces: (N,) int16 faces the detector counted per frame (-1: not sampled).
        face_height: (N,) float32 height of the largest face, source pixels (NaN: not sampled).
        colours: (N, 478, 3) float32 each vertex's local colour per frame (NaN: no face), for
            :class:`~dhsdk.swap.occlusion.OcclusionModel`.
    """

    info: MaterialInfo
    track: FaceTrack
    faces: np.ndarray
    face_height: np.ndarray
    colours: np.ndarray

    def driving(self) -> np.ndarray:
        """(N, 478, 2) float32 the mesh that drives the swap: the smoothed track, with the eyes as
        tracked (a blink lasts 3-5 frames; smoothing over the whole face would flatten it)."""
        out = np.array(self.track.landmarks[:, :478], copy=True)
        eyes = eye_ids()
        out[:, eyes] = np.where(self.track.found[:, None, None], self.track.raw[:, eyes], out[:, eyes])
        return out

    def neutral(self) -> np.ndarray:
        """(478, 2) float64 the stock face's neutral shape: the per-point median over the clip of
        its canonical shapes (blinks and speech are brief; the median ignores them)."""
        t = self.track
        shapes = np.stack([apply_affine(m, p) for m, p in zip(t.to_canonical, t.landmarks)])
        return np.median(shapes, axis=0)


def track_stock(material: Material, show_progress: bool = True) -> StockTrack:
    """Track the stock clip's face (first pass).

    Raises:
        InputError: the clip cannot be decoded.
    """
    from dhsdk.avatar.track import FaceTracker
    from dhsdk.progress import progress
    from dhsdk.swap.colour import vertex_colours
    from dhsdk.swap.occlusion import SIGMA_EYES

    info = material.info
    scale = max(1.0, info.long_side / ANALYSIS_MAX_SIDE)
    tracker = FaceTracker(info.fps, scale=scale)
    colours = []
    for frame in progress(material.frames(), total=info.declared_frames or None, desc="tracking stock",
                          unit="frame", enabled=show_progress):
        small = fit_long_side(frame, ANALYSIS_MAX_SIDE)
        points, _ = tracker.update(small)
        colours.append(np.full((478, 3), np.nan, np.float32) if points is None
                       else vertex_colours(small, points[:478] / scale, SIGMA_EYES))
    if material.stats.decoded == 0:
        raise InputError(f"{info.path}: no frame could be decoded ({material.stats.error}): the file is damaged; "
                         f"export it again")
    faces, heights = tracker.faces, tracker.face_height
    try:
        track = tracker.finish()
    except InputError:
        raise InputError(f"{info.path.name}: no usable face: no frame of the stock clip shows a face the mesh can "
                         f"follow; choose a clip where the presenter faces the camera") from None
    return StockTrack(info, track, faces, heights, np.stack(colours))


def check_stock(stock: StockTrack) -> None:
    """Refuse a stock clip the swap cannot work on, saying why.

    Raises:
        InputError: the face is missing in too many frames, more than one face shows, or the
            face is too small.
    """
    name = stock.info.path.name
    found = float(stock.track.found.mean())
    if found < MIN_FOUND_SHARE:
        raise InputError(f"{name}: no usable face in {100 * (1 - found):.0f} % of frames (the swap needs it in "
                         f">= {100 * MIN_FOUND_SHARE:.0f} %): choose a clip where the presenter's face stays in "
                         f"the shot, unobstructed")
    sampled = stock.faces[stock.faces >= 0]
    multi = float(np.mean(sampled > 1)) if len(sampled) else 0.0
    if multi > MAX_MULTI_SHARE:
        raise InputError(f"{name}: more than one face in {100 * multi:.0f} % of sampled frames: the stock clip must "
                         f"show one presenter; crop it or choose another")
    heights = stock.face_height[np.isfinite(stock.face_height)]
    px = float(np.median(heights)) if len(heights) else float("nan")
    if not px >= MIN_STOCK_FACE_PX:
        raise InputError(f"{name}: the face is too small ({px:.0f} px tall, needs >= {MIN_STOCK_FACE_PX:.0f} px): "
                         f"choose a closer shot or a higher-resolution clip")


def output_size(width: int, height: int, short_side: int = OUTPUT_SHORT_SIDE) -> tuple[int, int, float]:
    """(width, height, scale) of the swapped frames for a ``width`` x ``height`` clip: short side
    at least ``short_side``, long side at most :data:`OUTPUT_MAX_SIDE`, even sides."""
    scale = max(1.0, short_side / min(width, height))
    scale = min(scale, OUTPUT_MAX_SIDE / max(width, height)) if max(width, height) * scale > OUTPUT_MAX_SIDE else scale
    w, h = int(round(width * scale / 2)) * 2, int(round(height * scale / 2)) * 2
    return w, h, w / width


class MaterialWriter:
    """Video-only H.264 (yuv420p, CRF :data:`MATERIAL_CRF`) with PyAV: the swapped frames as
    material for :func:`dhsdk.avatar.create.create_avatar` (no audio track: the review then
    skips the audio checks instead of judging silence)."""

    def __init__(self, path: str | os.PathLike, size: tuple[int, int], fps: float):
        from dhsdk._optional import require

        av = require("av", "writing the swapped material")
        self._av = av
        self._container = av.open(str(path), "w")
        from fractions import Fraction

        rate = Fraction(fps).limit_denominator(1001)
        self._stream = self._container.add_stream("libx264", rate=rate)
        self._stream.width, self._stream.height = size
        self._stream.pix_fmt = "yuv420p"
        self._stream.options = {"crf": str(MATERIAL_CRF), "preset": "veryfast"}

    def write(self, image: np.ndarray) -> None:
        """Encode one (H, W, 3) uint8 RGB frame."""
        frame = self._av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
        for packet in self._stream.encode(frame):
            self._container.mux(packet)

    def close(self) -> None:
        """Flush and finish the file."""
        try:
            for packet in self._stream.encode():
                self._container.mux(packet)
        finally:
            self._container.close()


@dataclass
class SwapRun:
    """What one swapped clip produced and measured.

    Attributes:
        path: the swapped material (H.264).
        size: (width, height) of its frames.
        scale: output pixels per stock pixel.
        frames: frames written.
        stock: the stock track (source pixels).
        seam: (M,) seam energy of measured output frames (:func:`dhsdk.swap.metrics.seam_energy`).
        seam_stock: (M,) the same measure on the stock frames at the same border.
        luma: (N, 478) float32 local skin luma at each vertex of the new face (flicker).
        luma_stock: (N, 478) float32 the same on the stock face.
        visible: (N,) float32 share of the stock face in view per frame (a hand in front: less).
        ms_per_frame: swap time per frame (excluding decoding and encoding), milliseconds.
        samples: a few (frame index, stock frame, swapped frame) for the swap sheet.
    """

    path: Path
    size: tuple[int, int]
    scale: float
    frames: int
    stock: StockTrack
    seam: np.ndarray
    seam_stock: np.ndarray
    luma: np.ndarray
    luma_stock: np.ndarray
    visible: np.ndarray
    ms_per_frame: float
    samples: list = field(default_factory=list)


def swap_video(face: SwapFace, base: str | os.PathLike, out: str | os.PathLike, show_progress: bool = True,
               samples: int = 4, short_side: int = OUTPUT_SHORT_SIDE) -> SwapRun:
    """Paste ``face`` into every frame of the stock clip ``base`` and write the result to ``out``.

    Args:
        face: from :func:`dhsdk.swap.source.face_from_photo`.
        base: the stock presenter clip.
        out: the mp4 to write (the caller owns its cleanup).
        show_progress: progress bars on stderr.
        samples: frames kept for the swap sheet, spread over the clip.
        short_side: a clip whose short side is smaller is upscaled to it first.

    Raises:
        InputError: unreadable clip, or one :func:`check_stock` refuses.
    """
    import cv2

    from dhsdk.progress import progress
    from dhsdk.swap import metrics
    from dhsdk.swap.occlusion import OcclusionModel

    material = open_material(base)
    if material.info.kind != "video":
        raise InputError(f"{base}: the base must be a video of a stock presenter, not a photo")
    stock = track_stock(material, show_progress)
    check_stock(stock)
    info = stock.info
    w, h, scale = output_size(info.width, info.height, short_side)
    swapper = FaceSwapper(face, stock.neutral(), occlusion=OcclusionModel.fit(stock.colours))
    n = len(stock.track.landmarks)
    driving = stock.driving()
    keep = set(np.linspace(0, n - 1, min(samples, n)).round().astype(int).tolist())
    luma = np.full((n, 478), np.nan, np.float32)
    luma_stock = np.full((n, 478), np.nan, np.float32)
    visible = np.ones(n, np.float32)
    seam, seam_stock, kept = [], [], []
    spent = 0.0
    writer = MaterialWriter(out, (w, h), info.fps)
    count = 0
    try:
        for i, frame in enumerate(progress(material.frames(), total=n, desc="swapping", unit="frame",
                                           enabled=show_progress)):
            if i >= n:
                break
            if (frame.shape[1], frame.shape[0]) != (w, h):
                frame = cv2.resize(frame, (w, h), interpolation=cv2.INTER_CUBIC if scale > 1 else cv2.INTER_AREA)
            lm = driving[i].astype(np.float64) * scale
            t0 = time.perf_counter()
            result = swapper(frame, lm)
            spent += time.perf_counter() - t0
            writer.write(result.image)
            count += 1
            luma[i] = metrics.vertex_luma(result.image, result.points)
            visible[i] = result.visible
            luma_stock[i] = metrics.vertex_luma(frame, lm)
            if i % MEASURE_EVERY == 0:
                seam.append(metrics.seam_energy(result.image, result.weight, result.box))
                seam_stock.append(metrics.seam_energy(frame, result.weight, result.box))
            if i in keep:
                kept.append((i, frame, result.image, lm, result.points))
    finally:
        writer.close()
    return SwapRun(Path(out), (w, h), scale, count, stock, np.asarray(seam), np.asarray(seam_stock),
                   luma, luma_stock, visible, 1e3 * spent / max(count, 1), kept)
