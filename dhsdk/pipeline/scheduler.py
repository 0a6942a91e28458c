"""Serve many live streams on one device from one frame clock.

At every tick the :class:`Scheduler` hands each stream that has frames due to a worker of a
shared thread pool (CPU: the stages of different streams overlap; ONNX Runtime and the kernels
release the GIL). A stream whose previous work has not finished is *not* waited for: it is
behind, so when its worker gets to it it emits the due frames with repeated images (counted in
its metrics) and catches up, while every other stream keeps its own pace.
"""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from dhsdk.pipeline.stream import Stream


class Scheduler:
    """N streams, one clock, one worker pool.

    Args:
        fps: tick rate; the fps of the first stream added when None.
        workers: pool size (default: one per CPU core).
    """

    def __init__(self, fps: float | None = None, workers: int | None = None):
        import os

        self.fps = fps
        self.streams: list[Stream] = []
        self._busy: set[int] = set()
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 2,
                                        thread_name_prefix="dhsdk-sched")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="dhsdk-scheduler", daemon=True)
        self.ticks = 0
        self.skipped = 0  # stream-ticks skipped because that stream was still busy
        self._thread.start()

    def add(self, lipsync: Any, **kwargs: Any) -> Stream:
        """Create a real-time :class:`Stream` driven by this scheduler (kwargs go to Stream)."""
        stream = Stream(lipsync, realtime=True, start=False, **kwargs)
        self.fps = self.fps or stream.fps
        stream._t0 = time.perf_counter()
        with self._lock:
            self.streams.append(stream)
        return stream

    def remove(self, stream: Stream) -> None:
        """Stop serving ``stream`` and close it."""
        with self._lock:
            self.streams.remove(stream)
        stream.close()

    def _drive(self, stream: Stream) -> None:
        try:
            while not self._stop.is_set() and stream.due_time(stream._next) <= time.perf_counter():
                stream.tick()
        finally:
            with self._lock:
                self._busy.discard(id(stream))

    def _run(self) -> None:
        start = time.perf_counter()
        while not self._stop.is_set():
            if self.fps is None:
                self._stop.wait(0.005)
                start = time.perf_counter()
                continue
            with self._lock:
                streams = list(self.streams)
            for s in streams:
                with self._lock:
                    if id(s) in self._busy:
                        self.skipped += 1
                        continue
                    self._busy.add(id(s))
                self._pool.submit(self._drive, s)
            self.ticks += 1
            wait = start + self.ticks / self.fps - time.perf_counter()
            if wait > 0:
                self._stop.wait(wait)

    def metrics(self) -> list[dict[str, float]]:
        """Each stream's :meth:`StreamMetrics.summary`, in the order added."""
        return [s.metrics.summary() for s in self.streams]

    def close(self) -> None:
        """Stop the clock, finish the running work, close every stream (idempotent)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5.0)
        self._pool.shutdown(wait=True)
        for s in self.streams:
            s.close()

    def __enter__(self) -> "Scheduler":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
