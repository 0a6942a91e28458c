"""Serve many live streams on one device from one frame clock.

The :class:`Scheduler` wakes at the next due time of any stream (each stream keeps its own
frame clock, so no phase between a scheduler tick and a stream's frames can make frames late)
and hands every stream that has frames due to a worker of a
shared thread pool (CPU: the stages of different streams overlap; ONNX Runtime and the kernels
release the GIL). A stream whose previous work has not finished is *not* waited for: it is
behind, so when its worker gets to it it emits the due frames with repeated images (counted in
its metrics) and catches up, while every other stream keeps its own pace.

On a GPU (streams whose LipSync renders on CUDA) each worker runs its frames on a CUDA stream
of its own, made current for the tick, so the stages of frames of different streams overlap
on the device; a LipSync's GPU path orders each of its frames after its previous one with an
event, whichever worker ran that (:class:`~dhsdk.pipeline.device_path.DevicePath`). CPU
streams run on the same pool and touch no CUDA.
"""
from __future__ import annotations

import contextlib
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ContextManager

from dhsdk.pipeline.stream import Stream


class Scheduler:
    """N streams, one clock, one worker pool (and, for GPU streams, one CUDA stream per worker).

    Args:
        fps: frame rate of the streams added without one (their avatar's when None).
        workers: pool size (default: one per CPU core).

    Attributes:
        ticks: wake-ups of the clock so far.
        skipped: due stream frames found while that stream's previous work was still running.
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
        self._wake = threading.Event()  # a worker finished: re-check its stream's due frames
        self._worker = threading.local()  # per worker thread: its CUDA stream, once it drives a GPU stream
        self._thread = threading.Thread(target=self._run, name="dhsdk-scheduler", daemon=True)
        self.ticks = 0
        self.skipped = 0  # stream-ticks skipped because that stream was still busy
        self._thread.start()

    def add(self, lipsync: Any, **kwargs: Any) -> Stream:
        """Create a real-time :class:`Stream` driven by this scheduler (kwargs go to Stream)."""
        kwargs.setdefault("fps", self.fps)
        stream = Stream(lipsync, realtime=True, start=False, **kwargs)
        stream._t0 = time.perf_counter()
        with self._lock:
            self.streams.append(stream)
        return stream

    def remove(self, stream: Stream) -> None:
        """Stop serving ``stream`` and close it."""
        with self._lock:
            self.streams.remove(stream)
        stream.close()

    def _cuda_stream(self, stream: Stream) -> ContextManager:
        """The calling worker's own CUDA stream (made on first use), to make current while it
        drives ``stream``, when that renders on the GPU; else a no-op context."""
        if getattr(stream.lipsync, "device", "cpu") != "cuda":
            return contextlib.nullcontext()
        if not hasattr(self._worker, "cuda"):
            from dhsdk.cuda.streams import Stream as CudaStream

            self._worker.cuda = CudaStream()
        return self._worker.cuda

    def _drive(self, stream: Stream) -> None:
        try:
            with self._cuda_stream(stream):
                while not self._stop.is_set() and stream.due_time(stream._next) <= time.perf_counter():
                    stream.tick()
        finally:
            with self._lock:
                self._busy.discard(id(stream))
            self._wake.set()

    def _run(self) -> None:
        idle_poll = 0.005  # s: how often an empty scheduler looks for new streams
        while not self._stop.is_set():
            self._wake.clear()
            with self._lock:
                streams = list(self.streams)
            now = time.perf_counter()
            wake_at = now + idle_poll
            for s in streams:
                due = s.due_time(s._next)
                with self._lock:
                    busy = id(s) in self._busy
                    if busy and due <= now:
                        self.skipped += 1
                    if busy:
                        continue
                    if due <= now:
                        self._busy.add(id(s))
                    else:
                        wake_at = min(wake_at, due)
                        continue
                self._pool.submit(self._drive, s)
            self.ticks += 1
            self._wake.wait(max(0.0, wake_at - time.perf_counter()))

    def metrics(self) -> list[dict[str, float]]:
        """Each stream's :meth:`StreamMetrics.summary`, in the order added."""
        return [s.metrics.summary() for s in self.streams]

    def close(self) -> None:
        """Stop the clock, finish the running work, close every stream (idempotent)."""
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5.0)
        self._pool.shutdown(wait=True)
        for s in self.streams:
            s.close()

    def __enter__(self) -> "Scheduler":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
