"""Frames that flow between stages and out to sinks (after pipecat's ``frames``).

Small dataclasses with timestamps. Time is in seconds on the stream's audio sample clock:
a frame's ``pts`` is the time its first audio sample plays.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class AudioChunk:
    """A piece of speech.

    Attributes:
        pcm: (n,) float32 mono PCM in [-1, 1].
        sample_rate: Hz.
        pts: seconds from the start of the utterance (or stream) to the first sample.
        text: the text this audio speaks, when known (TTS).
        phonemes: (time_s, phoneme) events inside this chunk, when the TTS engine gives them.
    """

    pcm: np.ndarray
    sample_rate: int
    pts: float = 0.0
    text: str = ""
    phonemes: list[tuple[float, str]] = field(default_factory=list)

    @property
    def duration(self) -> float:
        """Seconds of audio in this chunk."""
        return len(self.pcm) / float(self.sample_rate)


@dataclass
class VideoFrame:
    """One output frame with the audio that plays during it.

    Attributes:
        image: (H, W, 3) uint8 RGB.
        audio: (n,) float32 mono PCM at ``sample_rate`` playing from ``pts`` for one frame.
        sample_rate: Hz of ``audio``.
        pts: presentation time in seconds.
        index: frame number in its stream, from 0.
        speaking: True when the mouth is driven by speech, False on the idle loop.
    """

    image: np.ndarray
    audio: np.ndarray
    sample_rate: int
    pts: float
    index: int
    speaking: bool = False


@dataclass
class InterruptFrame:
    """Control frame: drop all queued speech now (barge-in)."""

    pts: float = 0.0
