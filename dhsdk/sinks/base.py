"""The interface every sink implements: ``write(frame)``, ``close()``, a context manager, counters.

A sink takes :class:`dhsdk.frames.VideoFrame` objects in order (RGB uint8 image, its mono
float32 audio slice, pts, index) and sends them somewhere: an mp4 file, an RTMP ingest, OBS,
a browser, an integrator's callback. Lifecycle (after Polygraphy's runners): the public
``write``/``close``/``abort`` are template methods over ``_write``/``_close``/``_abort``;
``write`` after ``close`` raises; ``close`` is idempotent; leaving a ``with`` block through an
exception calls ``abort`` (a file sink then leaves nothing behind) instead of ``close``.

Health: ``metrics`` counts what was delivered and lost, the reconnections and the seconds the
endpoint was unreachable (``outage_s``); ``last_error`` says why it was. A failure on a sink's
own thread (its worker or server died) is recorded with :meth:`Sink.fail` and raised as a
:class:`~dhsdk.errors.SinkError` by the next ``write``, so a caller never streams into a sink
that silently stopped.
"""
from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dhsdk.errors import InputError, SinkError
from dhsdk.frames import VideoFrame


@dataclass
class SinkMetrics:
    """Counters of one sink, safe to update from several threads (read them any time).

    Attributes:
        written: frames delivered to the endpoint (encoded and muxed, put in the ring, sent).
        dropped: frames given to ``write`` that never reached the endpoint (queue full,
            endpoint away, slow client).
        reconnects: times the sink re-established its connection after losing it.
        outage_s: seconds the endpoint was unreachable while frames came (including the
            current outage; a sink that never connected has been out since its first attempt).
    """

    written: int = 0
    dropped: int = 0
    reconnects: int = 0
    _outage_done: float = field(default=0.0, repr=False, compare=False)
    _down_since: float | None = field(default=None, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def count(self, name: str, n: int = 1) -> None:
        """Add ``n`` to the counter ``name`` (``"written"``, ``"dropped"`` or ``"reconnects"``)."""
        with self._lock:
            setattr(self, name, getattr(self, name) + n)

    def down(self, now: float | None = None) -> None:
        """The endpoint became unreachable at ``now`` (``time.monotonic()``; repeats are ignored)."""
        with self._lock:
            if self._down_since is None:
                self._down_since = time.monotonic() if now is None else now

    def up(self, now: float | None = None) -> None:
        """The endpoint is reachable again at ``now``: the outage so far is added to ``outage_s``."""
        with self._lock:
            if self._down_since is not None:
                self._outage_done += (time.monotonic() if now is None else now) - self._down_since
                self._down_since = None

    @property
    def outage_s(self) -> float:
        """Seconds unreachable so far (see the class docstring)."""
        with self._lock:
            current = 0.0 if self._down_since is None else time.monotonic() - self._down_since
            return self._outage_done + current

    def summary(self) -> dict[str, float]:
        """The counters as a flat dict (``outage_s`` rounded to milliseconds)."""
        outage = round(self.outage_s, 3)
        with self._lock:
            return {"written": self.written, "dropped": self.dropped, "reconnects": self.reconnects,
                    "outage_s": outage}


def check_frame(frame: VideoFrame) -> None:
    """Raise InputError unless ``frame`` is what sinks accept.

    Args:
        frame: image (H, W, 3) uint8 RGB (a frame still on the GPU is not copied to check it);
            audio (n,) float32 mono at ``sample_rate`` Hz.
    """
    audio = frame.audio
    if frame.on_device:   # made by a device frame path: RGB uint8 by construction, left on the GPU
        shape = frame.shape
    else:
        image = frame.image
        if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            got = f"{image.dtype} {image.shape}" if isinstance(image, np.ndarray) else type(image).__name__
            raise InputError(f"frame {frame.index}: sinks take (H, W, 3) uint8 RGB images, got {got} "
                             f"(convert with np.asarray(img, np.uint8)[..., :3])")
        shape = image.shape
    if min(shape[:2]) < 2:
        raise InputError(f"frame {frame.index}: image {shape[1]}x{shape[0]} is too small to send "
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
        self.last_error: str | None = None   # why the endpoint was last unreachable (None: never)
        self._error: SinkError | None = None
        self._closed = False

    def __str__(self) -> str:
        """The sink as a person reads it in a summary (subclasses name their endpoint)."""
        return type(self).__name__

    @property
    def error(self) -> SinkError | None:
        """The failure that stopped this sink on its own thread, or None while it works."""
        return self._error

    def fail(self, reason: str) -> None:
        """Record that the sink stopped working (called from its own threads; the first reason
        wins). The next :meth:`write` raises it."""
        if self._error is None:
            self._error = SinkError(f"{self}: {reason}")

    def write(self, frame: VideoFrame) -> None:
        """Send one frame (with its audio).

        Args:
            frame: a :class:`VideoFrame` whose image is (H, W, 3) uint8 RGB and audio (n,)
                float32 mono; frames come in index order.

        Raises:
            InputError: a malformed frame, or the sink is closed.
            SinkError: the sink stopped working on its own thread (see :attr:`error`).
            OutputError: the output could not be written (a full disk).
        """
        if self._closed:
            raise InputError(f"{type(self).__name__} is closed: open a new sink to write more frames")
        if self._error is not None:
            raise self._error
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
