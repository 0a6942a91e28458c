"""A face track over a whole clip: per-frame mesh, smoothed over time, and the geometry the
pipeline needs from it (canonical transforms, lip keypoints, lower-face region, neutral lips).

Tracking runs forward through the clip (:class:`FaceTracker`, one call per frame); the
finished track (:meth:`FaceTracker.finish`) fills short gaps by interpolation and smooths the
landmarks with a zero-phase One-Euro filter (run forwards and backwards, averaged), so the
avatar's mouth crop is steady without lagging the head. Offline, so no latency is paid for it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dhsdk.avatar import mouth_state
from dhsdk.avatar.face import N_POINTS, FaceBox, FaceDetector, FaceMesh478, face_crop
from dhsdk.errors import InputError
from dhsdk.geometry import (ANCHOR_IDS, LIP_IDS, apply_affine, image_to_canonical,
                            mouth_opening, mouth_width)
from dhsdk.render.smoothing import ShapeOneEuro, scale_opening

# One-Euro settings for landmark tracks (scale = inter-eye distance in pixels).
MIN_CUTOFF_HZ = 1.5
BETA = 2.0
# Lower-face region (mediapipe ids): the face oval from cheek to cheek under the eyes, then
# back across the cheeks and under the nose (2). Its median canonical shape bounds the mouth
# mask. It runs straight from the cheek (206/426) to under the nose: a detour through the
# upper-lip points beside the mouth (92/322) would come within ~0.11 eye distances of the
# mouth corners, inside the mask's margin + feather (0.18), and leave them half-blended.
LOWER_FACE_IDS = (93, 132, 58, 172, 136, 150, 149, 176, 148, 152, 377, 400, 378, 379, 365, 397,
                  288, 361, 323, 423, 426, 2, 206, 203)
NEUTRAL_SHARE = 0.25   # the most closed quarter of frames defines the neutral mouth


@dataclass
class FaceTrack:
    """The face through a clip, in original-frame pixels.

    Attributes:
        fps: frames per second of the clip.
        raw: (N, 478, 2) float32 mesh as tracked, NaN where no face was found.
        landmarks: (N, 478, 2) float32 smoothed mesh with gaps filled.
        to_canonical: (N, 2, 3) float64 similarity image -> canonical face frame.
        lips: (N, 40, 2) float32 lip keypoints in image pixels (smoothed).
    """

    fps: float
    raw: np.ndarray
    landmarks: np.ndarray
    to_canonical: np.ndarray
    lips: np.ndarray

    @property
    def found(self) -> np.ndarray:
        """(N,) bool: the mesh found a face in the frame."""
        return ~np.isnan(self.raw[:, 0, 0])

    @property
    def canonical_lips(self) -> np.ndarray:
        """(N, 40, 2) float64 lips in the canonical frame."""
        return np.stack([apply_affine(m, lp) for m, lp in zip(self.to_canonical, self.lips)])

    @property
    def eye_distance(self) -> np.ndarray:
        """(N,) float64 pixels per canonical unit (the inter-eye distance)."""
        return 1.0 / np.sqrt(np.abs(np.linalg.det(self.to_canonical[:, :, :2])))

    def jitter(self) -> float:
        """Noise of the smoothed track (:func:`tracking_noise` of its landmarks), eye distances."""
        return tracking_noise(self.landmarks, float(np.median(self.eye_distance)), self.fps)

    @property
    def lip_gap(self) -> np.ndarray:
        """(N,) float32 inner-lip gap per frame in the canonical frame (eye distances; about 0
        for a closed mouth): :func:`dhsdk.avatar.mouth_state.lip_gap`."""
        return mouth_state.lip_gap(self.to_canonical, self.lips)

    def lower_face_canonical(self) -> np.ndarray:
        """(P, 2) float64 median lower-face polygon in the canonical frame (see LOWER_FACE_IDS)."""
        pts = self.landmarks[:, list(LOWER_FACE_IDS)].astype(np.float64)
        return np.median(np.stack([apply_affine(m, p) for m, p in zip(self.to_canonical, pts)]), axis=0)

    def neutral_lips(self) -> np.ndarray:
        """(40, 2) float32 the avatar's resting closed mouth in the canonical frame.

        The median shape over the most closed quarter of frames, with any remaining inner-lip
        gap closed (lower lip 70 %, upper 30 %, :func:`dhsdk.render.smoothing.scale_opening`).
        """
        canon = self.canonical_lips
        opening = mouth_opening(canon)
        k = max(1, int(np.ceil(NEUTRAL_SHARE * len(canon))))
        closed = canon[np.argsort(opening)[:k]]
        return scale_opening(np.median(closed, axis=0).astype(np.float32), 0.0)

    def smile_share(self) -> float:
        """Share of frames whose mouth is > 12 % wider than the clip's narrowest quartile
        (a held smile makes a poor neutral mouth)."""
        width = mouth_width(self.canonical_lips)
        return float(np.mean(width > 1.12 * np.percentile(width, 25)))


NOISE_WINDOW_S = 0.28  # the local fit of tracking_noise spans this (7 frames at 25 fps)


def tracking_noise(landmarks: np.ndarray, eye_px: float, fps: float) -> float:
    """Tracker noise: the frame-to-frame scatter of the alignment anchors around their own
    smooth motion, in eye distances.

    Each anchor's path is fitted, frame by frame, with a quadratic over a centred window of
    :data:`NOISE_WINDOW_S` (Savitzky-Golay); the RMS residual, divided by the share of white
    noise a quadratic fit leaves in the residual, estimates the noise's standard deviation.
    A still head, constant velocity and constant acceleration give 0, and the nods and turns of
    a talking presenter stay small (a generated +-25 deg nod every 2 s reads 0.004, the same as
    the tracker's own scatter); shake from frame to frame and a tracker that cannot hold the
    face show up fully.

    Args:
        landmarks: (N, 478, 2) face mesh per frame, pixels.
        eye_px: pixels per eye distance (the canonical unit).
        fps: frame rate (sets the window in frames; at least 5).
    """
    anchors = np.asarray(landmarks)[:, list(ANCHOR_IDS)].astype(np.float64)
    half = max(2, int(round(NOISE_WINDOW_S * fps)) // 2)
    width = 2 * half + 1
    if len(anchors) < width:
        return 0.0
    t = np.arange(-half, half + 1, dtype=np.float64)
    centre = np.linalg.pinv(np.stack([np.ones_like(t), t, t * t], 1))[0]   # fitted value at t = 0
    fit = sum(w * anchors[k:len(anchors) - width + 1 + k] for k, w in enumerate(centre))
    residual = anchors[half:len(anchors) - half] - fit
    return float(np.sqrt((residual ** 2).sum(-1).mean() / (1.0 - centre[half])) / max(eye_px, 1e-6))


def geometry_from_landmarks(landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame canonical transforms and lips from a (N, 478, 2) mesh track.

    Returns:
        to_canonical (N, 2, 3) float64, lips (N, 40, 2) float32 image pixels.
    """
    to_canonical = np.stack([image_to_canonical(p) for p in landmarks])
    return to_canonical, np.ascontiguousarray(landmarks[:, list(LIP_IDS)], np.float32)


def _fill_gaps(raw: np.ndarray) -> np.ndarray:
    """Linear interpolation over frames without a face; ends hold the nearest found frame."""
    found = ~np.isnan(raw[:, 0, 0])
    if not found.any():
        raise InputError("no face was found in any frame: the presenter's face must be visible, "
                         "frontal and well lit")
    if found.all():
        return raw
    t = np.arange(len(raw))
    flat = raw.reshape(len(raw), -1)
    out = np.empty_like(flat)
    for j in range(flat.shape[1]):
        out[:, j] = np.interp(t, t[found], flat[found, j])
    return out.reshape(raw.shape)


def smooth_track(landmarks: np.ndarray, fps: float) -> np.ndarray:
    """Zero-phase One-Euro smoothing of a (N, P, 2) track: forward and backward passes averaged.

    Each frame is filtered in float64; the result is (N, P, 2) float32, written in place of
    the forward pass, so a long clip needs no float64 copy of its whole track.
    """
    scale = np.linalg.norm(landmarks[:, 133] - landmarks[:, 362], axis=-1) * 2.0  # ~ inter-eye distance
    n = len(landmarks)
    out = np.empty(np.shape(landmarks), np.float32)
    forward, backward = ShapeOneEuro(MIN_CUTOFF_HZ, BETA, fps), ShapeOneEuro(MIN_CUTOFF_HZ, BETA, fps)
    for i in range(n):
        out[i] = forward(np.asarray(landmarks[i], np.float64), scale[i])
    for i in reversed(range(n)):
        out[i] = 0.5 * (out[i] + backward(np.asarray(landmarks[i], np.float64), scale[i]))
    return out


class FaceTracker:
    """Tracks one presenter through a clip, one frame per :meth:`update` call.

    Args:
        fps: the clip's frame rate (the smoothing's time constants).
        scale: original pixels per analysis pixel (>= 1 when analysis frames are downscaled).
        detect_every: run the face detector (face count and box) every this many frames.
        static: photos: detect the mesh afresh on every frame.
    """

    def __init__(self, fps: float, scale: float = 1.0, detect_every: int = 12, static: bool = False):
        self.fps = float(fps) if fps > 0 else 25.0
        self.scale = float(scale)
        self.detect_every = max(1, int(detect_every))
        self.static = static
        self._mesh = FaceMesh478(static=static)
        self._detector = FaceDetector()
        self._raw: list[np.ndarray] = []
        self._faces: list[int] = []
        self._height: list[float] = []
        # A face too small for the whole-frame mesh is meshed in a fixed crop around it.
        self._box: FaceBox | None = None                      # last face seen, analysis pixels
        self._crop: tuple[int, int, int, int] | None = None
        self._crop_mesh: FaceMesh478 | None = None

    def update(self, frame: np.ndarray) -> tuple[np.ndarray | None, list[FaceBox] | None]:
        """Track one analysis frame (RGB uint8).

        Returns:
            (the (478, 2) mesh in original pixels or None, the detector's boxes in original
            pixels when this frame was sampled, else None).
        """
        boxes = None
        if len(self._raw) % self.detect_every == 0:
            found = self._detector.detect(frame)
            self._box = found[0] if found else self._box
            boxes = [FaceBox(b.x0 * self.scale, b.y0 * self.scale, b.x1 * self.scale, b.y1 * self.scale, b.score)
                     for b in found]
            self._faces.append(len(boxes))
            self._height.append(boxes[0].height if boxes else np.nan)
        else:
            self._faces.append(-1)
            self._height.append(np.nan)
        pts = self._landmarks(frame)
        if pts is not None:
            pts = pts * self.scale
        self._raw.append(np.full((N_POINTS, 2), np.nan, np.float32) if pts is None else pts.astype(np.float32))
        return pts, boxes

    def _landmarks(self, frame: np.ndarray) -> np.ndarray | None:
        """The mesh on the whole frame, or, once that has missed a detected face, in a crop
        around it that stays fixed while the face stays near its middle (tracking needs one
        image geometry from frame to frame); a face drifting off-centre gets a new crop."""
        if self._crop is None:
            pts = self._mesh.landmarks(frame)
            if pts is not None or self._box is None:
                return pts
            self._crop = face_crop(self._box, frame.shape)
            self._crop_mesh = FaceMesh478(static=self.static)
        pts = self._crop_mesh.landmarks_in(frame, self._crop)
        x0, y0, x1, y1 = self._crop
        if pts is not None:
            lo, hi = pts.min(0), pts.max(0)
            self._box = FaceBox(float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1]), 1.0)
            drift = np.abs((lo + hi) / 2 - [(x0 + x1) / 2, (y0 + y1) / 2]).max()
            if drift < (x1 - x0) / 6:
                return pts
        else:
            self._box = None      # lost: wait for the detector to find the face again
        self._crop_mesh.close()   # lost, or off-centre: re-crop on the next frame
        self._crop = self._crop_mesh = None
        return pts

    @property
    def faces(self) -> np.ndarray:
        """(N,) int16 faces the detector counted per frame so far (-1: frame not sampled)."""
        return np.asarray(self._faces, np.int16)

    @property
    def face_height(self) -> np.ndarray:
        """(N,) float32 height of the largest detected face, original pixels (NaN: not sampled or none)."""
        return np.asarray(self._height, np.float32)

    def finish(self) -> FaceTrack:
        """Fill gaps, smooth, derive the per-frame geometry; closes the mediapipe graphs."""
        self._mesh.close()
        self._detector.close()
        if self._crop_mesh is not None:
            self._crop_mesh.close()
            self._crop = self._crop_mesh = None
        if not self._raw:
            raise InputError("the material has no frames to track")
        raw = np.stack(self._raw)
        self._raw = []
        smooth = smooth_track(_fill_gaps(raw), self.fps)
        to_canonical, lips = geometry_from_landmarks(smooth)
        return FaceTrack(self.fps, raw, smooth, to_canonical, lips)


def moved_track(landmarks: np.ndarray, transforms: np.ndarray, fps: float) -> FaceTrack:
    """The exact track of one face moved by known per-frame affines (a photo's idle motion).

    Args:
        landmarks: (478, 2) mesh of the still photo, pixels.
        transforms: (N, 2, 3) photo -> frame affines.
        fps: frame rate of the generated frames.
    """
    pts = np.stack([apply_affine(m, landmarks) for m in transforms]).astype(np.float32)
    to_canonical, lips = geometry_from_landmarks(pts)
    return FaceTrack(fps, pts.copy(), pts, to_canonical, lips)


__all__ = ["FaceTrack", "FaceTracker", "geometry_from_landmarks", "moved_track", "smooth_track", "tracking_noise"]
