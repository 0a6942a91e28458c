"""``CallbackSink``: hand every frame to the integrator's own function."""
from __future__ import annotations

from typing import Any, Callable

from dhsdk.frames import VideoFrame
from dhsdk.sinks.base import Sink
from dhsdk.sinks.worker import FrameWorker


class CallbackSink(Sink):
    """Call ``fn(frame)`` for every frame.

    Args:
        fn: receives each checked :class:`VideoFrame` (RGB uint8 image, float32 mono audio).
        threaded: call ``fn`` on a worker thread behind a bounded drop-oldest queue, so a
            slow ``fn`` loses frames (counted in ``metrics.dropped``) instead of slowing the
            stream, and one that keeps failing fails the sink (the next ``write`` raises
            :class:`~dhsdk.errors.SinkError`); False calls it on the writer's thread and lets
            its exceptions propagate.
        max_queue: frames waiting when ``threaded``.
        on_close: called once by :meth:`close` (after the last ``fn`` call).
    """

    def __init__(self, fn: Callable[[VideoFrame], Any], threaded: bool = False, max_queue: int = 16,
                 on_close: Callable[[], Any] | None = None):
        super().__init__()
        self._fn, self._on_close = fn, on_close
        self._worker = FrameWorker(self._deliver, self.metrics, max_queue, "dhsdk-callback",
                                   on_failure=self.fail) if threaded else None

    def _write(self, frame: VideoFrame) -> None:
        if self._worker is None:
            self._deliver(frame)
        else:
            self._worker.submit(frame)

    def _deliver(self, frame: VideoFrame) -> None:
        self._fn(frame)
        self.metrics.count("written")

    def _close(self) -> None:
        if self._worker is not None:
            self._worker.close()
        if self._on_close is not None:
            self._on_close()
