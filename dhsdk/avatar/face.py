"""Face detection and the dense face mesh, through mediapipe's bundled models (no download).

:class:`FaceMesh478` gives the 478-point mesh (468 + 10 iris points, ``refine_landmarks``) in
pixels, in tracking mode for video (the landmark model follows the face from frame to frame,
~3 ms/frame here) or static mode for photos. :class:`FaceDetector` (BlazeFace, full-range
model) counts faces and gives their boxes, which the review uses for "exactly one face" and
face size, including faces too small for the mesh.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from dhsdk._optional import require

N_POINTS = 478

# mediapipe logs through absl/glog to stderr; keep avatar creation output readable.
os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


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
        self._mesh = _solutions().face_mesh.FaceMesh(
            static_image_mode=static, max_num_faces=max_faces, refine_landmarks=True,
            min_detection_confidence=min_confidence, min_tracking_confidence=min_confidence)

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


class FaceDetector:
    """BlazeFace full-range detector (faces up to ~5 m from the camera).

    Args:
        min_confidence: detections below this score are ignored.
    """

    def __init__(self, min_confidence: float = 0.6):
        self._det = _solutions().face_detection.FaceDetection(model_selection=1,
                                                              min_detection_confidence=min_confidence)

    def detect(self, frame: np.ndarray) -> list[FaceBox]:
        """Faces in one RGB frame, largest first."""
        frame = _rgb(frame)
        h, w = frame.shape[:2]
        boxes = []
        for d in self._det.process(frame).detections or []:
            b = d.location_data.relative_bounding_box
            boxes.append(FaceBox(b.xmin * w, b.ymin * h, (b.xmin + b.width) * w, (b.ymin + b.height) * h,
                                 float(d.score[0])))
        return sorted(boxes, key=lambda b: -b.height)

    def close(self) -> None:
        """Release the mediapipe graph."""
        self._det.close()

    def __enter__(self) -> "FaceDetector":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
