"""Frames that flow between stages and out to sinks (after pipecat's ``frames``).

Small dataclasses with timestamps. Time is in seconds on the stream's audio sample clock:
a frame's ``pts`` is the time its first audio sample plays.

A video frame rendered on the GPU stays there (DESIGN.md, "Real time"): its ``device`` holds the
device frame (RGB and NV12 on the GPU, :class:`dhsdk.render.device_path.DeviceFrame`) and its
``image`` is made only when something reads it: one copy to the host, into pinned memory, shared
by every later reader. A GPU encoder reads ``device`` and never makes it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np


class DevicePicture(Protocol):
    """What a :class:`VideoFrame` needs of a frame on the GPU (see
    :class:`dhsdk.render.device_path.DeviceFrame`)."""

    shape: tuple[int, ...]

    def host(self) -> np.ndarray:
        """The frame as a host (H, W, 3) uint8 RGB array (copied once, then the same array)."""


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
        image: (H, W, 3) uint8 RGB on the host. For a frame made on the GPU (``device`` set,
            ``image=None`` given) it is copied from the device on first read, once.
        audio: (n,) float32 mono PCM at ``sample_rate`` playing from ``pts`` for one frame.
        sample_rate: Hz of ``audio``.
        pts: presentation time in seconds.
        index: frame number in its stream, from 0.
        speaking: True when the mouth is driven by speech, False on the idle loop.
        device: the frame on the GPU (a :class:`DevicePicture`), or None for a host frame.
    """

    image: np.ndarray | None
    audio: np.ndarray
    sample_rate: int
    pts: float
    index: int
    speaking: bool = False
    device: DevicePicture | None = field(default=None, repr=False, compare=False)

    @property
    def on_device(self) -> bool:
        """True while the picture exists only on the GPU (reading ``image`` copies it)."""
        return self.__dict__.get("image") is None and self.device is not None

    @property
    def shape(self) -> tuple[int, ...]:
        """The picture's (H, W, 3), read without copying a device frame to the host."""
        return tuple(self.device.shape) if self.on_device else self.image.shape


def _image(frame: VideoFrame) -> Any:
    image = frame.__dict__.get("image")
    if image is None and frame.device is not None:
        image = frame.__dict__["image"] = frame.device.host()
    return image


def _set_image(frame: VideoFrame, image: Any) -> None:
    frame.__dict__["image"] = image


# After the dataclass is made: its __init__ assigns ``image`` through this property (a data
# descriptor, so it is read through the property too; the value lives under the same name in
# the instance's __dict__, which keeps ``VideoFrame(**frame.__dict__)`` working).
VideoFrame.image = property(_image, _set_image,  # type: ignore[assignment]
                            doc="(H, W, 3) uint8 RGB on the host (a GPU frame's copied on first read, once).")


@dataclass
class InterruptFrame:
    """Control frame: drop all queued speech now (barge-in)."""

    pts: float = 0.0
