"""Driving an avatar by a source video: head pose, brows, blinks and eye direction follow the
driver, the mouth is lip-synced (to the driver's own audio or to any given speech).

Per output frame: the lip-synced frame of the avatar (:class:`~dhsdk.pipeline.lipsync.LipSync`,
any mouth renderer) is warped through the face mesh from its own geometry to the driver's
pose and expression retargeted onto it (:class:`~dhsdk.swap.retarget.Retarget`, relative to
each face's neutral, so the avatar keeps its own structure), plus the driver's head motion
(roll, scale, position) relative to its neutral placement. The warp is one raster and one
``remap`` of the face's region (:mod:`dhsdk.swap.raster`); the band around the face carries
the hair, ears and neck along.

Streaming: :class:`HeadDriver` keeps the driver's state (tracking, smoothing, a running neutral
from the frames seen so far) and warps one frame per call. Offline: :meth:`Driver.render`
writes an mp4 and uses the whole driver clip's neutral.
"""
from __future__ import annotations

import os
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from dhsdk.errors import InputError
from dhsdk.geometry import apply_affine, compose_affine, image_to_canonical, invert_affine
from dhsdk.swap import topology as topo
from dhsdk.swap.raster import bounding_box, rasterize, remap
from dhsdk.swap.retarget import Retarget, lid_sources

HISTORY = 250            # frames of driver shapes the running neutral is the median of (10 s at 25 fps)
NEUTRAL_EVERY = 5        # the running neutral is recomputed every this many frames
MAX_SHIFT = 0.35         # most head translation passed on, eye distances
MAX_ROLL_DEG = 15.0
MAX_SCALE = 0.12         # most relative scale change passed on
SMOOTH_MIN_CUTOFF_HZ = 2.0   # causal One-Euro on the driver's mesh
SMOOTH_BETA = 4.0
EYE_MIN_CUTOFF_HZ = 20.0     # the eyes' own, light filter: a blink lasts 3-5 frames and must keep its depth


def similarity_params(m: np.ndarray) -> np.ndarray:
    """(4,) float64 (log scale, angle rad, tx, ty) of a (2, 3) similarity."""
    m = np.asarray(m, np.float64)
    return np.array([np.log(np.hypot(m[0, 0], m[1, 0])), np.arctan2(m[1, 0], m[0, 0]), m[0, 2], m[1, 2]])


def similarity_from(params: np.ndarray) -> np.ndarray:
    """(2, 3) float64 similarity from (log scale, angle rad, tx, ty)."""
    s, a = np.exp(params[0]), params[1]
    return np.array([[s * np.cos(a), -s * np.sin(a), params[2]], [s * np.sin(a), s * np.cos(a), params[3]]])


def relative_motion(to_canonical: np.ndarray, neutral: np.ndarray, gain: float = 1.0) -> np.ndarray:
    """(2, 3) float64 the driver's head motion from its neutral placement, in the neutral
    canonical frame (eye-distance units), scaled by ``gain`` and clamped (:data:`MAX_SHIFT`,
    :data:`MAX_ROLL_DEG`, :data:`MAX_SCALE`): maps the current canonical frame into the neutral one.

    Args:
        to_canonical: (2, 3) the driver frame's image -> canonical similarity.
        neutral: (2, 3) the driver's neutral image -> canonical similarity.
    """
    m = compose_affine(neutral, invert_affine(to_canonical))
    p = similarity_params(m) * gain
    p[0] = np.clip(p[0], np.log(1 - MAX_SCALE), np.log(1 + MAX_SCALE))
    p[1] = np.clip(p[1], -np.radians(MAX_ROLL_DEG), np.radians(MAX_ROLL_DEG))
    shift = np.hypot(p[2], p[3])
    if shift > MAX_SHIFT:
        p[2:] *= MAX_SHIFT / shift
    return similarity_from(p)


def median_similarity(to_canonical: np.ndarray) -> np.ndarray:
    """(2, 3) the per-parameter median of (N, 2, 3) similarities (a robust neutral placement)."""
    return similarity_from(np.median(np.stack([similarity_params(m) for m in to_canonical]), axis=0))


@dataclass
class DriverNeutral:
    """A driver's neutral face: its shape and its placement.

    Attributes:
        shape: (478, 2) canonical shape (median over frames).
        placement: (2, 3) image -> canonical similarity (median parameters).
    """

    shape: np.ndarray
    placement: np.ndarray

    @classmethod
    def of(cls, landmarks: np.ndarray) -> "DriverNeutral":
        """From a (N, 478, 2) mesh track (N >= 1)."""
        lm = np.asarray(landmarks, np.float64)
        maps = np.stack([image_to_canonical(p) for p in lm])
        shapes = np.stack([apply_affine(m, p) for m, p in zip(maps, lm)])
        return cls(np.median(shapes, axis=0), median_similarity(maps))


class HeadDriver:
    """Warps avatar frames to follow a driver's face, one frame per call (streaming).

    Args:
        avatar: a loaded :class:`~dhsdk.avatar.avatar.Avatar` (or anything with ``landmarks``
            (N, 478, 2) and ``to_canonical`` (N, 2, 3) per base frame).
        neutral: the driver's neutral face; None estimates it as it goes (the median of the
            driver frames seen, over the last :data:`HISTORY`).
        head_motion: scales the head's roll, scale and position taken from the driver (0 keeps
            the avatar's own placement; yaw and pitch always follow).
        step: warp evaluation grid (see :class:`~dhsdk.swap.compose.FaceSwapper`).

    Attributes:
        last_ms: wall time of the last warp (retarget + warp), milliseconds.
    """

    def __init__(self, avatar: Any, neutral: DriverNeutral | None = None, head_motion: float = 1.0,
                 step: int = 1):
        self.avatar = avatar
        self.step = int(step)
        self.head_motion = float(head_motion)
        self._fixed = neutral
        self._history: deque = deque(maxlen=HISTORY)
        self._neutral = neutral
        self._retarget: Retarget | None = None
        self._own = np.stack([apply_affine(m, p) for m, p in zip(np.asarray(avatar.to_canonical, np.float64),
                                                                  np.asarray(avatar.landmarks, np.float64))])
        self._own_neutral = np.median(self._own, axis=0)
        self._tris = np.concatenate([topo.face_triangles(), topo.band_triangles()])
        self._seen = 0
        self.last_ms = 0.0

    def reset(self) -> None:
        """Forget the driver (a new driver clip or a cut)."""
        self._history.clear()
        self._neutral = self._fixed
        self._retarget = None
        self._seen = 0

    def _update_neutral(self, landmarks: np.ndarray) -> None:
        if self._fixed is not None:
            if self._retarget is None:
                self._retarget = Retarget(self._own_neutral, self._fixed.shape)
            return
        self._history.append(np.asarray(landmarks, np.float64))
        if self._retarget is None or self._seen % NEUTRAL_EVERY == 0:
            self._neutral = DriverNeutral.of(np.stack(self._history))
            held = self._retarget
            self._retarget = Retarget(self._own_neutral, self._neutral.shape)
            if held is not None:   # keep the held gaze through a neutral update
                self._retarget.carry_state(held)

    def target(self, base_index: int, landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Where the avatar's face goes in base frame ``base_index`` for a driver frame whose mesh
        is ``landmarks`` (driver pixels).

        Returns:
            ((478, 2) the face's mesh, (2, 3) the head's motion: base-frame pixels -> output pixels).
        """
        lm = np.asarray(landmarks, np.float64)[:topo.N_MESH]
        self._update_neutral(lm)
        self._seen += 1
        to_canonical = image_to_canonical(lm)
        shape = self._retarget(apply_affine(to_canonical, lm), self._own[base_index])
        motion = relative_motion(to_canonical, self._neutral.placement, self.head_motion)
        own = np.asarray(self.avatar.to_canonical[base_index], np.float64)
        back = invert_affine(own)
        return apply_affine(back, apply_affine(motion, shape)), compose_affine(back, compose_affine(motion, own))

    def __call__(self, image: np.ndarray, base_index: int, landmarks: np.ndarray | None) -> np.ndarray:
        """Warp one avatar frame.

        The head's surroundings (hair, ears) move rigidly with the head out to the inner virtual
        ring; the band out to the outer ring, which stays put, takes up the motion.

        Args:
            image: (H, W, 3) uint8 RGB, the avatar's (lip-synced) frame from base frame ``base_index``.
            base_index: which base frame it was rendered from (its geometry is the source).
            landmarks: (478, 2) the driver's face mesh in this frame, driver pixels; None (no
                driver face yet) returns the frame as it is.

        Returns:
            (H, W, 3) uint8, a new array.
        """
        if landmarks is None:
            return np.array(image, copy=True)
        t0 = time.perf_counter()
        src = np.asarray(self.avatar.landmarks[base_index], np.float64)[:topo.N_MESH]
        dst, motion = self.target(base_index, landmarks)
        rings = topo.ring_points(src)
        moved = rings.copy()
        inner = len(rings) - len(topo.OVAL_IDS)
        moved[:inner] = apply_affine(motion, rings[:inner])
        src = lid_sources(src, dst)
        out = warp_face(image, np.concatenate([src, rings]), np.concatenate([dst, moved]), self._tris, self.step)
        self.last_ms = 1e3 * (time.perf_counter() - t0)
        return out


def warp_face(image: np.ndarray, src: np.ndarray, dst: np.ndarray, tris: np.ndarray, step: int = 1) -> np.ndarray:
    """``image`` with the mesh region warped so the points at ``src`` move to ``dst`` (pixels;
    the outer ring, equal in both, stays put; ``step`` as in :class:`~dhsdk.swap.compose.FaceSwapper`).
    Returns a new (H, W, 3) uint8 array."""
    box = bounding_box(np.concatenate([src, dst]), image.shape)
    raster = rasterize(dst, tris, topo.draw_order(src, dst, tris), box, step=step)
    maps = raster.upsample(raster.field(src, fill=raster.identity()))
    out = np.array(image, copy=True)
    x0, y0, x1, y1 = box
    out[y0:y1, x0:x1] = remap(image, maps)
    return out


class DriverTracker:
    """The driver's face mesh, frame by frame: mediapipe in tracking mode and a causal One-Euro
    filter (no look-ahead, so it streams); a frame without a face repeats the last mesh.

    The eyes have a filter of their own: the One-Euro filter opens up on fast motion measured
    over the points it filters, and a blink is fast for the lids but slow for the whole face.

    Args:
        fps: the driver's frame rate.
    """

    def __init__(self, fps: float):
        from dhsdk.avatar.face import FaceMesh478
        from dhsdk.render.smoothing import ShapeOneEuro

        fps = fps if fps > 0 else 25.0
        self._mesh = FaceMesh478(static=False)
        self._face = ShapeOneEuro(SMOOTH_MIN_CUTOFF_HZ, SMOOTH_BETA, fps)
        self._eyes = ShapeOneEuro(EYE_MIN_CUTOFF_HZ, SMOOTH_BETA, fps)
        self._eye_ids = topo.eye_ids()
        self._last: np.ndarray | None = None

    def __call__(self, frame: np.ndarray) -> np.ndarray | None:
        """(478, 2) the smoothed mesh of one RGB driver frame, or None before the first face."""
        pts = self._mesh.landmarks(frame)
        if pts is None:
            return self._last
        scale = float(np.linalg.norm(pts[133] - pts[362])) * 2.0
        out = self._face(pts, scale)
        out[self._eye_ids] = self._eyes(pts[self._eye_ids], scale)
        self._last = out
        return out

    def close(self) -> None:
        """Release the mediapipe graph."""
        self._mesh.close()


def track_driver(path: str | os.PathLike, show_progress: bool = True) -> tuple[np.ndarray, float, Any]:
    """Track a whole driver clip.

    Returns:
        ((N, 478, 2) float32 smoothed meshes, fps, the opened :class:`~dhsdk.avatar.material.Material`).

    Raises:
        InputError: not a video, or no face in any frame.
    """
    from dhsdk.avatar.material import ANALYSIS_MAX_SIDE, fit_long_side, open_material
    from dhsdk.progress import progress

    material = open_material(path)
    info = material.info
    if info.kind != "video":
        raise InputError(f"{path}: the driver must be a video of a face, not a photo")
    tracker = DriverTracker(info.fps)
    scale = max(1.0, info.long_side / ANALYSIS_MAX_SIDE)
    out: list[np.ndarray | None] = []
    try:
        for frame in progress(material.frames(), total=info.declared_frames or None, desc="tracking driver",
                              unit="frame", enabled=show_progress):
            pts = tracker(fit_long_side(frame, ANALYSIS_MAX_SIDE))
            out.append(None if pts is None else pts * scale)
    finally:
        tracker.close()
    first = next((p for p in out if p is not None), None)
    if first is None:
        raise InputError(f"{Path(path).name}: no face found in the driver clip: give a video of a face looking at "
                         f"the camera")
    filled = [first if p is None else p for p in out]   # frames before the first face hold it
    return np.stack(filled).astype(np.float32), info.fps, material


class Driver:
    """An avatar driven by source videos (the Python API of ``dhsdk drive``).

    Args:
        avatar: an :class:`~dhsdk.avatar.avatar.Avatar` (or a bundle path, or ``"default"``).
        mouth: mouth renderer for the lip-sync (``"auto" | "warp" | "unet"``).
        head_motion: see :class:`HeadDriver`.
    """

    def __init__(self, avatar: Any, mouth: str = "auto", head_motion: float = 1.0):
        from dhsdk.avatar.avatar import Avatar

        if isinstance(avatar, (str, os.PathLike)):
            avatar = Avatar.default() if str(avatar) == "default" else Avatar.load(avatar)
        self.avatar = avatar
        self.mouth = mouth
        self.head_motion = float(head_motion)

    def frames(self, driver: str | os.PathLike, audio: Any = None, *, text: str | None = None,
               voice: str | None = None, show_progress: bool = True) -> Iterator[Any]:
        """Driven, lip-synced :class:`~dhsdk.frames.VideoFrame` s, one per driver frame.

        Args:
            driver: the source video (its face drives pose, brows, blinks, gaze).
            audio: speech for the mouth (path, array, ...); the driver's own audio track when
                None and ``text`` is None; silence (a closed mouth) when it has none.
            text: say this (espeak-ng) instead.
            voice: the espeak voice for ``text``.
        """
        landmarks, fps, material = track_driver(driver, show_progress)
        head = HeadDriver(self.avatar, DriverNeutral.of(landmarks), self.head_motion)
        if audio is None and text is None:
            audio = material.audio()
            if audio is None:
                audio = np.zeros(int(round(len(landmarks) / fps * 16000)), np.float32)
        sync = self.avatar.lipsync(mouth=self.mouth)
        for frame in sync.speak(audio, text=text, voice=voice, fps=fps):
            k = min(frame.index, len(landmarks) - 1)
            frame.image = head(frame.image, self.avatar.idle_index(frame.index), landmarks[k])
            yield frame

    def render(self, driver: str | os.PathLike, out: str | os.PathLike, audio: Any = None, *,
               text: str | None = None, voice: str | None = None, show_progress: bool = True) -> dict:
        """Write the driven avatar to an H.264 + AAC mp4 (atomically).

        Returns:
            {"path", "frames", "seconds" (wall time)}.
        """
        from dhsdk.progress import progress
        from dhsdk.sinks.file import FileSink

        count = 0
        start = time.perf_counter()
        with FileSink(out) as sink:
            for frame in progress(self.frames(driver, audio, text=text, voice=voice, show_progress=show_progress),
                                  desc="driving", unit="frame", enabled=show_progress):
                sink.write(frame)
                count += 1
        spent = time.perf_counter() - start
        return {"path": str(out), "frames": count, "seconds": round(spent, 2)}
