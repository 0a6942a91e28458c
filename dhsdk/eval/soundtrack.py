"""A video's own soundtrack on its picture's timeline, and what the evaluation reads from it:
the speech envelope per video frame and which frames are silent.

**Timeline.** A container may start its audio later or earlier than its video (an edit list,
a muxer offset: that is how most desynced files look). :func:`soundtrack` decodes the audio
(16 kHz mono, :func:`dhsdk.audio.load_audio`) and places it where a player would play it:
sample 0 of the result sounds with video frame 0; audio that starts late is preceded by
silence, audio that starts early loses its head.

**Envelope** (:func:`speech_envelope`). The renderer's own definitions
(:mod:`dhsdk.pipeline.activity`): the RMS level in dBFS of the audio under each video frame
(:func:`~dhsdk.pipeline.activity.frame_energy_db`), and the activity threshold
``max(floor, loudest - 35 dB)``; the envelope is the level above that threshold (0 below).
The floor is the renderer's -45 dBFS, raised to :data:`NOISE_MARGIN_DB` above the recording's
noise (its :data:`NOISE_PERCENTILE`-th percentile frame level) where that is higher: real
recordings have room noise (GRID's is at -35..-45 dBFS) that would otherwise count as speech.

**Silence**: frames whose activity weight (:func:`~dhsdk.pipeline.activity.speech_activity`:
pauses shorter than 0.35 s count as speech, 0.16 s ramps into and out of speech) is 0, i.e.
frames at least a ramp away from any sound.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from dhsdk.errors import InputError
from dhsdk.pipeline.activity import frame_energy_db, speech_activity

SAMPLE_RATE = 16000
RENDER_FLOOR_DB = -45.0    # speech_activity's default absolute floor (the renderer's)
NOISE_PERCENTILE = 10      # frame level taken as the recording's noise floor
NOISE_MARGIN_DB = 10.0     # speech is at least this far above the noise floor


def stream_offset(path: str | os.PathLike) -> float | None:
    """Seconds from the first video frame to the first audio sample as a player times them
    (> 0: the audio starts later), or None when the file has no audio or no video."""
    import av

    try:
        with av.open(os.fspath(path)) as c:
            if not c.streams.audio or not c.streams.video:
                return None
            streams = (c.streams.video[0], c.streams.audio[0])
            video, audio = (s.index for s in streams)
            starts: dict[int, float] = {}
            for packet in c.demux(*streams):
                for frame in packet.decode():
                    if frame.time is not None:
                        starts.setdefault(packet.stream.index, float(frame.time))
                if len(starts) == 2:
                    break
    except Exception as e:  # FFmpeg's many error types
        raise InputError(f"cannot read {path} ({type(e).__name__}: {e}): give an mp4/mov/mkv/webm video") from None
    if len(starts) < 2:
        return None
    return starts[audio] - starts[video]


def soundtrack(path: str | os.PathLike) -> np.ndarray | None:
    """The audio of a video on its picture's timeline (see the module docstring).

    Returns:
        (n,) float32 16 kHz mono PCM whose sample 0 plays with video frame 0, or None when the
        file has no audio track.
    """
    from dhsdk.audio import load_audio

    offset = stream_offset(path)
    if offset is None:
        return None
    pcm = load_audio(path)
    shift = int(round(offset * SAMPLE_RATE))
    if shift >= 0:
        return np.concatenate([np.zeros(shift, np.float32), pcm])
    return pcm[-shift:]


@dataclass
class Envelope:
    """The soundtrack per video frame.

    Attributes:
        level_db: (T,) float32 RMS level of the audio under each frame, dBFS.
        threshold_db: the activity threshold, dBFS.
        envelope: (T,) float32 dB above the threshold (0 at or below it).
        activity: (T,) float32 the renderer's activity weight in [0, 1].
    """

    level_db: np.ndarray
    threshold_db: float
    envelope: np.ndarray
    activity: np.ndarray

    @property
    def silent(self) -> np.ndarray:
        """(T,) bool frames at least a ramp away from speech (activity 0)."""
        return self.activity == 0


def speech_envelope(pcm: np.ndarray, fps: float, num_frames: int, below_peak_db: float = 35.0) -> Envelope:
    """Level, envelope and activity of ``pcm`` per video frame (see the module docstring).

    Args:
        pcm: (n,) float32 16 kHz mono on the video's timeline (shorter audio reads as silence).
        fps: video frame rate.
        num_frames: T.
        below_peak_db: frames more than this below the loudest are silent (the renderer's 35 dB).
    """
    level = frame_energy_db(np.asarray(pcm, np.float32), SAMPLE_RATE, fps, num_frames)
    if num_frames == 0:
        return Envelope(level, RENDER_FLOOR_DB, level, level)
    floor = max(RENDER_FLOOR_DB, float(np.percentile(level, NOISE_PERCENTILE)) + NOISE_MARGIN_DB)
    threshold = max(floor, float(level.max()) - below_peak_db)
    activity = speech_activity(level, fps, floor_db=floor, below_peak_db=below_peak_db)
    return Envelope(level, threshold, np.maximum(level - threshold, 0.0).astype(np.float32), activity)
