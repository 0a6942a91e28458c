"""A worker thread behind a bounded, drop-oldest frame queue: how sinks keep ``write`` from blocking.

``submit`` never waits: when the queue is full the oldest queued frame is dropped (and counted),
so a slow endpoint costs latency of at most ``max_queue`` frames, never the caller's time.
``close`` lets the worker finish what is queued, then joins it. A worker that cannot deliver
at all (``max_failures`` frames failing in a row, or its thread dying) says so through
``on_failure``, so the sink can stop the caller instead of dropping frames in silence.
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
        on_failure: called (on the worker thread) with a one-line reason when ``handle`` failed
            for ``max_failures`` frames in a row or the thread died of an exception.
        max_failures: consecutive failed frames that count as a failure of the worker.
    """

    def __init__(self, handle: Callable[[VideoFrame], Any], metrics: SinkMetrics, max_queue: int, name: str,
                 finish: Callable[[], Any] | None = None, on_failure: Callable[[str], Any] | None = None,
                 max_failures: int = 25):
        self._handle, self._finish, self._metrics = handle, finish, metrics
        self._on_failure, self._max_failures, self._failures = on_failure, max(1, max_failures), 0
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
        try:
            self._loop()
            if self._finish is not None:
                self._finish()
        except BaseException as e:  # noqa: BLE001  (reported to the sink, which raises it to its caller)
            log.debug("%s died", self._thread.name, exc_info=True)
            self._report(f"its worker thread stopped: {type(e).__name__}: {e}")

    def _loop(self) -> None:
        while True:
            frame = self._queue.get()
            if frame is _STOP:
                return
            try:
                self._handle(frame)
                self._failures = 0
            except Exception as e:  # noqa: BLE001  (a sink's worker must outlive one bad frame)
                self._failures += 1
                log.log(logging.WARNING if self._failures == 1 else logging.DEBUG,
                        "%s: frame %s could not be delivered (%s: %s)", self._thread.name, frame.index,
                        type(e).__name__, e, exc_info=log.isEnabledFor(logging.DEBUG))
                self._metrics.count("dropped")
                if self._failures == self._max_failures:
                    self._report(f"{self._failures} frames in a row could not be delivered "
                                 f"({type(e).__name__}: {e})")

    def _report(self, reason: str) -> None:
        log.debug("%s: %s", self._thread.name, reason)
        if self._on_failure is not None:
            self._on_failure(reason)
