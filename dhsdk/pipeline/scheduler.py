"""Serve many live streams on one device from one frame clock.

At every tick the :class:`Scheduler` hands each stream that has frames due to a worker of a
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
        self._worker = threading.local()  # per worker thread: its CUDA stream, once it drives a GPU stream
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
