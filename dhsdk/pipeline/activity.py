"""Speech activity per video frame: when the mouth is driven by speech and when the avatar
plays its own idle mouth.

The activity weight ``w`` in [0, 1] blends the target lips between the base frame's own lips
(w = 0: idle loop, frame untouched) and the speech-driven lips (w = 1). Short pauses inside
speech keep w = 1 (the mouth rests closed); only longer silences hand the mouth back to the
idle loop, through a ramp so speech starts and ends without a jump.
"""
from __future__ import annotations

import numpy as np

_BLOCK_FRAMES = 4096  # video frames of audio squared at once by frame_energy_db (~2.6 M samples at 25 fps)


def frame_energy_db(pcm: np.ndarray, sample_rate: int, fps: float, num_frames: int) -> np.ndarray:
    """RMS level of the audio under each video frame.

    Args:
        pcm: (n,) float32 mono in [-1, 1].
        sample_rate: Hz.
        fps: video frame rate.
        num_frames: T, number of video frames.

    Returns:
        (T,) float32 level in dBFS (-100 for digital silence).
    """
    edges = np.round(np.arange(num_frames + 1) * sample_rate / fps).astype(np.int64)
    edges = np.clip(edges, 0, len(pcm))
    sums = np.empty(num_frames, np.float64)
    for a in range(0, num_frames, _BLOCK_FRAMES):  # float64 squares of a block at a time: bounded memory
        b = min(num_frames, a + _BLOCK_FRAMES)
        sq = np.concatenate([[0.0], np.cumsum(pcm[edges[a]:edges[b]].astype(np.float64) ** 2)])
        sums[a:b] = sq[edges[a + 1:b + 1] - edges[a]] - sq[edges[a:b] - edges[a]]
    counts = np.maximum(edges[1:] - edges[:-1], 1)
    return _db(np.sqrt(np.maximum(sums, 0.0) / counts)).astype(np.float32)


def level_db(pcm: np.ndarray) -> float:
    """RMS level of one frame's audio in dBFS (-100 for digital silence): what
    :func:`frame_energy_db` gives for one frame, without its bookkeeping."""
    x = np.asarray(pcm, np.float64)
    return float(_db(np.sqrt(np.dot(x, x) / max(len(x), 1))))


def _db(rms: np.ndarray | float) -> np.ndarray:
    return 20.0 * np.log10(np.maximum(rms, 1e-5))


def speech_activity(level_db: np.ndarray, fps: float, floor_db: float = -45.0, below_peak_db: float = 35.0,
                    hold_s: float = 0.35, ramp_s: float = 0.16) -> np.ndarray:
    """Activity weight per frame from frame levels.

    Args:
        level_db: (T,) frame levels from :func:`frame_energy_db`.
        fps: video frame rate.
        floor_db: absolute level below which a frame is silent.
        below_peak_db: frames more than this below the loudest frame are silent too.
        hold_s: pauses shorter than this stay "speaking" (mouth rests closed, no idle flicker).
        ramp_s: duration of the blend into and out of speech.

    Returns:
        (T,) float32 weights in [0, 1].
    """
    t = len(level_db)
    if t == 0:
        return np.zeros(0, np.float32)
    threshold = max(floor_db, float(level_db.max()) - below_peak_db)
    active = level_db > threshold
    # Close pauses shorter than hold_s.
    hold = int(round(hold_s * fps))
    idx = np.flatnonzero(active)
    if len(idx):
        gaps = np.flatnonzero(np.diff(idx) > 1)
        for g in gaps:
            a, b = idx[g], idx[g + 1]
            if b - a - 1 <= hold:
                active[a:b] = True
    # Ramp by distance to the nearest speaking frame, ending at 1 on the first sound.
    if not active.any():
        return np.zeros(t, np.float32)
    ramp = max(1, int(round(ramp_s * fps)))
    on = np.flatnonzero(active)
    pos = np.searchsorted(on, np.arange(t))
    left = np.abs(np.arange(t) - on[np.clip(pos - 1, 0, len(on) - 1)])
    right = np.abs(on[np.clip(pos, 0, len(on) - 1)] - np.arange(t))
    x = np.clip(1.0 - np.minimum(left, right) / (ramp + 1.0), 0.0, 1.0)
    return (x * x * (3.0 - 2.0 * x)).astype(np.float32)
