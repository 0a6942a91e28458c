"""Face detection and the dense face mesh, through mediapipe's bundled models (no download).

:class:`FaceMesh478` gives the 478-point mesh (468 + 10 iris points, ``refine_landmarks``) in
pixels, in tracking mode for video (the landmark model follows the face from frame to frame,
~3 ms/frame here) or static mode for photos. :class:`FaceDetector` (BlazeFace, full-range
model) counts faces and gives their boxes, which the review uses for "exactly one face" and
face size, including faces too small for the mesh: BlazeFace sees the frame at 192 px, where a
100 px face of a 1080p frame is 10 px and is missed, so a frame with no face found is searched
again in overlapping tiles (:data:`TILE_PX`), where a 40 px face is ~15 px. The mesh's own
detector (short range, 128 px input) likewise loses faces under ~12 % of the frame (a 200 px
face in a 1080x1920 half-body shot), so :meth:`FaceMesh478.landmarks_in` meshes a crop around
a detected box (:func:`face_crop`), where the face fills a third of the image.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from dhsdk._optional import require
from dhsdk.quiet import QuietGraph  # mediapipe's start-up log lines stay off the terminal

N_POINTS = 478
TILE_PX = 512        # tile side of the small-face search (a 40 px face is ~15 px at BlazeFace's 192 px input)
TILE_STRIDE = 320    # tiles overlap by 192 px, more than any face the whole-frame pass misses
CROP_FACES = 3.0     # side of the mesh's crop around a detected face, in face-box heights



def _solutions() -> Any:
    return require("mediapipe", "face tracking").solutions


def _rgb(frame: np.ndarray) -> np.ndarray:
    frame = np.asarray(frame)
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise ValueError(f"expected an (H, W, 3) uint8 RGB frame, got {frame.dtype} {frame.shape}")
    return np.ascontiguousarray(frame)


class FaceMesh478:
    """mediapipe FaceMesh with iris refinement: 478 landmarks per face, in pixels.

    Args:
        static: True treats every call as an unrelated photo (detect each time); False tracks
            a video (calls must come in frame order).
        max_faces: most faces returned by :meth:`all_landmarks`.
        min_confidence: detection and tracking confidence thresholds.
    """

    def __init__(self, static: bool = False, max_faces: int = 1, min_confidence: float = 0.5):
        self._mesh = QuietGraph(lambda: _solutions().face_mesh.FaceMesh(
            static_image_mode=static, max_num_faces=max_faces, refine_landmarks=True,
            min_detection_confidence=min_confidence, min_tracking_confidence=min_confidence))

    def all_landmarks(self, frame: np.ndarray) -> list[np.ndarray]:
        """Every face found: a list of (478, 2) float64 pixel coordinates (x right, y down)."""
        frame = _rgb(frame)
        h, w = frame.shape[:2]
        found = self._mesh.process(frame).multi_face_landmarks or []
        return [np.array([(p.x * w, p.y * h) for p in face.landmark], np.float64) for face in found]

    def landmarks(self, frame: np.ndarray) -> np.ndarray | None:
        """(478, 2) float64 pixels of the first face, or None when there is none."""
        faces = self.all_landmarks(frame)
        return faces[0] if faces else None

    def landmarks_in(self, frame: np.ndarray, crop: tuple[int, int, int, int]) -> np.ndarray | None:
        """Like :meth:`landmarks`, on the ``crop = (x0, y0, x1, y1)`` of ``frame`` (points in
        ``frame``'s pixels). In tracking mode, keep the crop fixed from frame to frame."""
        x0, y0, x1, y1 = crop
        pts = self.landmarks(np.ascontiguousarray(np.asarray(frame)[y0:y1, x0:x1]))
        return None if pts is None else pts + np.array([x0, y0], np.float64)

    def close(self) -> None:
        """Release the mediapipe graph."""
        self._mesh.close()

    def __enter__(self) -> "FaceMesh478":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


@dataclass
class FaceBox:
    """A detected face.

    Attributes:
        x0, y0, x1, y1: box in pixels.
        score: detector confidence in [0, 1].
    """

    x0: float
    y0: float
    x1: float
    y1: float
    score: float

    @property
    def height(self) -> float:
        """Box height in pixels."""
        return self.y1 - self.y0


def face_crop(box: FaceBox, shape: tuple[int, ...], faces: float = CROP_FACES) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) square crop ``faces`` box heights wide centred on ``box``, moved (not
    cut) to lie inside a frame of ``shape`` where it fits."""
    h, w = shape[:2]
    side = int(round(min(max(faces * max(box.y1 - box.y0, box.x1 - box.x0), 64), w, h)))
    cx, cy = (box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2
    x0 = int(np.clip(round(cx - side / 2), 0, w - side))
    y0 = int(np.clip(round(cy - side / 2), 0, h - side))
    return x0, y0, x0 + side, y0 + side


def _tile_starts(length: int) -> list[int]:
    """Evenly spaced tile origins covering ``length`` px with steps of at most TILE_STRIDE."""
    if length <= TILE_PX:
        return [0]
    n = int(np.ceil((length - TILE_PX) / TILE_STRIDE)) + 1
    return [int(v) for v in np.linspace(0, length - TILE_PX, n).round()]


def _merge(boxes: list[FaceBox]) -> list[FaceBox]:
    """Keep the best-scoring of boxes that cover each other by more than half (one face seen
    in two tiles, or cut at a tile's edge), largest first."""
    kept: list[FaceBox] = []
    for b in sorted(boxes, key=lambda b: -b.score):
        if all(_overlap(b, k) <= 0.5 for k in kept):
            kept.append(b)
    return sorted(kept, key=lambda b: -b.height)


def _overlap(a: FaceBox, b: FaceBox) -> float:
    """Intersection over the smaller box's area."""
    iw = min(a.x1, b.x1) - max(a.x0, b.x0)
    ih = min(a.y1, b.y1) - max(a.y0, b.y0)
    if iw <= 0 or ih <= 0:
        return 0.0
    smaller = min((a.x1 - a.x0) * (a.y1 - a.y0), (b.x1 - b.x0) * (b.y1 - b.y0))
    return iw * ih / max(smaller, 1e-9)


class FaceDetector:
    """BlazeFace full-range detector (faces up to ~5 m from the camera).

    Args:
        min_confidence: detections below this score are ignored.
    """

    def __init__(self, min_confidence: float = 0.6):
        self._det = QuietGraph(lambda: _solutions().face_detection.FaceDetection(
            model_selection=1, min_detection_confidence=min_confidence))

    def detect(self, frame: np.ndarray) -> list[FaceBox]:
        """Faces in one RGB frame, largest first.

        When the whole frame shows none and it is larger than a tile, overlapping
        :data:`TILE_PX` tiles are searched too (small faces on large frames), and boxes found
        twice in overlapping tiles are merged.
        """
        frame = _rgb(frame)
        boxes = self._detect(frame, 0, 0)
        h, w = frame.shape[:2]
        if boxes or max(h, w) <= TILE_PX:
            return boxes
        found: list[FaceBox] = []
        for y in _tile_starts(h):
            for x in _tile_starts(w):
                found += self._detect(np.ascontiguousarray(frame[y:y + TILE_PX, x:x + TILE_PX]), x, y)
        return _merge(found)

    def _detect(self, frame: np.ndarray, x: int, y: int) -> list[FaceBox]:
        """Detections in ``frame``, moved by (x, y), largest first."""
        h, w = frame.shape[:2]
        boxes = []
        for d in self._det.process(frame).detections or []:
            b = d.location_data.relative_bounding_box
            boxes.append(FaceBox(x + b.xmin * w, y + b.ymin * h, x + (b.xmin + b.width) * w,
                                 y + (b.ymin + b.height) * h, float(d.score[0])))
        return sorted(boxes, key=lambda b: -b.height)

    def close(self) -> None:
        """Release the mediapipe graph."""
        self._det.close()

    def __enter__(self) -> "FaceDetector":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
