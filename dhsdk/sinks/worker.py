"""A worker thread behind a bounded, drop-oldest frame queue: how sinks keep ``write`` from blocking.

``submit`` never waits: when the queue is full the oldest queued frame is dropped (and counted),
so a slow endpoint costs latency of at most ``max_queue`` frames, never the caller's time.
``close`` lets the worker finish what is queued, then joins it.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Any, Callable

from dhsdk.frames import VideoFrame
from dhsdk.sinks.base import SinkMetrics

log = logging.getLogger(__name__)
_STOP = object()  # queue sentinel: finish and exit


class FrameWorker:
    """Run ``handle(frame)`` on a thread of its own for every submitted frame, in order.

    Args:
        handle: called on the worker thread per frame; it counts what it delivers itself.
            An exception it raises is logged and the frame counted as dropped.
        metrics: where queue drops are counted (``dropped``).
        max_queue: frames waiting at most.
        name: the thread's name.
        finish: called once on the worker thread after the last frame (flush, disconnect).
    """

    def __init__(self, handle: Callable[[VideoFrame], Any], metrics: SinkMetrics, max_queue: int, name: str,
                 finish: Callable[[], Any] | None = None):
        self._handle, self._finish, self._metrics = handle, finish, metrics
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, max_queue))
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, frame: VideoFrame) -> None:
        """Queue ``frame``; drops the oldest queued frame when full. Never blocks."""
        while True:
            try:
                self._queue.put_nowait(frame)
                return
            except queue.Full:
                try:
                    self._queue.get_nowait()
                    self._metrics.count("dropped")
                except queue.Empty:
                    pass

    def close(self, timeout: float = 10.0) -> bool:
        """Handle what is queued, run ``finish`` and join, for at most ``timeout`` seconds.

        Returns:
            False when the worker was still busy at the deadline (it is left to end on its own).
        """
        deadline = time.monotonic() + timeout
        while self._thread.is_alive():
            try:
                self._queue.put(_STOP, timeout=0.1)
                break
            except queue.Full:
                if time.monotonic() > deadline:
                    break
        self._thread.join(max(0.0, deadline - time.monotonic()))
        return not self._thread.is_alive()

    def _run(self) -> None:
        while True:
            frame = self._queue.get()
            if frame is _STOP:
                break
            try:
                self._handle(frame)
            except Exception:  # noqa: BLE001  (a sink's worker must outlive one bad frame)
                log.exception("%s: frame %s could not be delivered", self._thread.name, frame.index)
                self._metrics.count("dropped")
        if self._finish is not None:
            self._finish()
