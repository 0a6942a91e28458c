"""The interface every sink implements: ``write(frame)``, ``close()``, a context manager, counters.

A sink takes :class:`dhsdk.frames.VideoFrame` objects in order (RGB uint8 image, its mono
float32 audio slice, pts, index) and sends them somewhere: an mp4 file, an RTMP ingest, OBS,
a browser, an integrator's callback. Lifecycle (after Polygraphy's runners): the public
``write``/``close``/``abort`` are template methods over ``_write``/``_close``/``_abort``;
``write`` after ``close`` raises; ``close`` is idempotent; leaving a ``with`` block through an
exception calls ``abort`` (a file sink then leaves nothing behind) instead of ``close``.
"""
from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dhsdk.errors import InputError
from dhsdk.frames import VideoFrame


@dataclass
class SinkMetrics:
    """Counters of one sink, safe to update from several threads (read them any time).

    Attributes:
        written: frames delivered to the endpoint (encoded and muxed, put in the ring, sent).
        dropped: frames given to ``write`` that never reached the endpoint (queue full,
            endpoint away, slow client).
        reconnects: times the sink re-established its connection after losing it.
    """

    written: int = 0
    dropped: int = 0
    reconnects: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def count(self, name: str, n: int = 1) -> None:
        """Add ``n`` to the counter ``name`` (``"written"``, ``"dropped"`` or ``"reconnects"``)."""
        with self._lock:
            setattr(self, name, getattr(self, name) + n)

    def summary(self) -> dict[str, int]:
        """The counters as a flat dict."""
        with self._lock:
            return {"written": self.written, "dropped": self.dropped, "reconnects": self.reconnects}


def check_frame(frame: VideoFrame) -> None:
    """Raise InputError unless ``frame`` is what sinks accept.

    Args:
        frame: image (H, W, 3) uint8 RGB; audio (n,) float32 mono at ``sample_rate`` Hz.
    """
    image, audio = frame.image, frame.audio
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        got = f"{image.dtype} {image.shape}" if isinstance(image, np.ndarray) else type(image).__name__
        raise InputError(f"frame {frame.index}: sinks take (H, W, 3) uint8 RGB images, got {got} "
                         f"(convert with np.asarray(img, np.uint8)[..., :3])")
    if min(image.shape[:2]) < 2:
        raise InputError(f"frame {frame.index}: image {image.shape[1]}x{image.shape[0]} is too small to send "
                         f"(at least 2x2 pixels)")
    if not isinstance(audio, np.ndarray) or audio.ndim != 1:
        got = getattr(audio, "shape", type(audio).__name__)
        raise InputError(f"frame {frame.index}: audio must be (n,) mono PCM, got {got} "
                         f"(mix channels down, e.g. pcm.mean(axis=1))")
    if frame.sample_rate <= 0:
        raise InputError(f"frame {frame.index}: sample_rate must be a positive rate in Hz, got {frame.sample_rate}")


class Sink(ABC):
    """Base class of all sinks.

    Subclasses implement ``_write`` (and ``_close``; ``_abort`` when failing differs from
    closing) and count what they deliver in ``self.metrics``.
    """

    def __init__(self) -> None:
        self.metrics = SinkMetrics()
        self._closed = False

    def write(self, frame: VideoFrame) -> None:
        """Send one frame (with its audio).

        Args:
            frame: a :class:`VideoFrame` whose image is (H, W, 3) uint8 RGB and audio (n,)
                float32 mono; frames come in index order.

        Raises:
            InputError: a malformed frame, or the sink is closed.
        """
        if self._closed:
            raise InputError(f"{type(self).__name__} is closed: open a new sink to write more frames")
        check_frame(frame)
        self._write(frame)

    @abstractmethod
    def _write(self, frame: VideoFrame) -> None:
        """Deliver one checked frame."""

    def close(self) -> None:
        """Finish: flush what is pending and release the endpoint (idempotent)."""
        if not self._closed:
            self._closed = True
            self._close()

    def abort(self) -> None:
        """Give up after a failure: release the endpoint without finishing the output (idempotent)."""
        if not self._closed:
            self._closed = True
            self._abort()

    def _close(self) -> None:
        """Release the endpoint after a normal end (default: nothing to do)."""

    def _abort(self) -> None:
        """Release the endpoint after a failure (default: as after a normal end)."""
        self._close()

    def __enter__(self) -> "Sink":
        return self

    def __exit__(self, exc_type: Any, *exc: Any) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
