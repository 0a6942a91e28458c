"""What the footage's mouth does: which frames show it closed, and where the lips move.

Both come from one per-frame signal, the inner-lip gap of the smoothed track in the canonical
face frame (eye distances; :attr:`dhsdk.avatar.track.FaceTrack.lip_gap`). The render stage
re-renders every frame's mouth and shows the neutral closed mouth in silence, so it needs to
know which base frames are closed (:func:`closed_threshold`); per-person a2k adaptation learns
from speech with the lips moving (:func:`lips_moving`, used by the review's ``lip_motion`` check).

Calibration, mediapipe FaceMesh on the real clips in ``../shared/data`` (held against other
clips in ``tests/avatar/test_real_material.py``):

- GRID s1 (50 talking clips, 360x288): a closed mouth reads 0.00 +- 0.01, speech opens it to
  0.05-0.22; the gap's range over half a second reaches 0.05 in 65-100 % of each clip's speech
  frames (Silero VAD), and stays below 0.02 on still mouths (sun.mp4, yongen.mp4, a photo).
  After the last word every frame is below the clip's threshold (0.038-0.047).
- yongen.mp4 (illustrated, mouth closed): 0.005-0.033.
- sun.mp4 (lips parted over the teeth throughout): 0.10-0.13, so no closed frame.
- A +-25 deg nod of a still, open mouth (generated) moves the reading by up to 0.08: the
  lips-moving signal alone can mistake a nodding open mouth for speech, so the review counts
  speech by the voice and uses lip motion to tell speech from a voice-over.
"""
from __future__ import annotations

import numpy as np

from dhsdk.geometry import mouth_opening

REST_PERCENTILE = 5.0          # the footage's most closed reading: this percentile of the gap
CLOSED_MARGIN = 0.04           # threshold above that reading: 4x the tracker's scatter on a closed mouth
CLOSED_LIMITS = (0.03, 0.06)   # the threshold always lies here (eye distances): closed for anyone
MOTION_WINDOW_S = 0.5          # lip motion is the gap's range over a centred window this long
MOTION_GAP = 0.05              # ... of at least this many eye distances


def lip_gap(to_canonical: np.ndarray, lips: np.ndarray) -> np.ndarray:
    """(N,) float32 inner-lip gap per frame in the canonical frame, eye distances.

    Args:
        to_canonical: (N, 2, 3) image -> canonical similarity per frame.
        lips: (N, 40, 2) lip keypoints per frame, image pixels.
    """
    m = np.asarray(to_canonical, np.float64)
    canonical = np.einsum("nij,nkj->nki", m[:, :, :2], np.asarray(lips, np.float64)) + m[:, None, :, 2]
    return mouth_opening(canonical).astype(np.float32)


def closed_threshold(lip_gap: np.ndarray) -> float:
    """The avatar's closed-mouth threshold: a frame whose inner-lip gap is below it shows a
    closed mouth.

    The footage's most closed reading (the :data:`REST_PERCENTILE` th percentile of the gap)
    plus :data:`CLOSED_MARGIN`, kept within :data:`CLOSED_LIMITS`, so a face on which the mesh
    reads a closed mouth slightly open still gets its closed frames, and footage whose mouth is
    never closed (lips parted throughout) gets none.

    Args:
        lip_gap: (N,) inner-lip gap per frame, eye distances.

    Returns:
        The threshold in eye distances (the lower limit for empty input).
    """
    gap = np.asarray(lip_gap, np.float64)
    gap = gap[np.isfinite(gap)]
    if gap.size == 0:
        return CLOSED_LIMITS[0]
    rest = float(np.percentile(gap, REST_PERCENTILE))
    return float(np.clip(rest + CLOSED_MARGIN, *CLOSED_LIMITS))


def lips_moving(lip_gap: np.ndarray, fps: float) -> np.ndarray:
    """(N,) bool: the lips open or close around each frame (the gap's range over a centred
    :data:`MOTION_WINDOW_S` window is at least :data:`MOTION_GAP`).

    Args:
        lip_gap: (N,) inner-lip gap per frame, eye distances.
        fps: frame rate.
    """
    gap = np.asarray(lip_gap, np.float64)
    if gap.size == 0:
        return np.zeros(0, bool)
    half = max(1, int(round(MOTION_WINDOW_S * fps / 2)))
    padded = np.pad(gap, half, mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1)
    return (windows.max(1) - windows.min(1)) >= MOTION_GAP
