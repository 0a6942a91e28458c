"""Serve many live streams from one frame clock, one batched call per stage per tick.

Streams added to a :class:`Scheduler` have their frame clocks aligned to one grid per frame
rate, so the frames of all streams at one rate fall due together. At each tick the scheduler
gathers the streams with a frame due and runs each stage once for all of them (DESIGN.md,
"Real time"):

1. commit audio (per stream, :meth:`Stream.collect`) and run a2k once for all the windows of
   the streams that share an a2k model;
2. each stream turns its delta into target lips with its own render state (:meth:`Stream.job`);
3. per frame path (one per LipSync: an avatar and a mouth renderer), one ``render`` call for
   all of that path's frames, on a worker of the scheduler's pool; paths of different avatars
   render side by side, so a slow avatar delays only its own streams;
4. each stream emits its frame (:meth:`Stream.finish`); ``on_frame`` callbacks run on each
   stream's own delivery thread, so a stalled sink never holds up the tick.

A stream whose previous frame is still rendering is *not* waited for: it is behind, and when
it is free again it emits the frames it missed with repeated images (counted in its metrics)
until it has caught up, while every other stream keeps its own pace. Python work is per tick
and per stream, never per pixel; the frame path spreads its frames over the CPU cores.

On a GPU (frame paths rendering on CUDA) each pool worker renders on a CUDA stream of its own,
made current for the call, so the frames of different paths overlap on the device; a device
frame path orders each batch after its previous one with an event, whichever worker ran that
(:class:`~dhsdk.render.device_path.DeviceFramePath`). Frames stay where they were made
(``path.render_frames``): a GPU frame reaches an NVENC sink as device NV12, and is copied to
the host (once, into pinned memory) only when a sink or callback reads its ``image``. CPU
paths touch no CUDA.

With ``processes=K`` the frame paths render in K worker processes
(:mod:`dhsdk.pipeline.workers`): each tick's batch of a path is split among them and the frames
come back through shared memory; the clock, the streams and a2k stay in this process.
"""
from __future__ import annotations

import contextlib
import gc
import logging
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ContextManager, Sequence

import numpy as np

from dhsdk.pipeline.stream import FrameJob, Stream
from dhsdk.pipeline.workers import resolve_processes
from dhsdk.render.threads import cpu_cores

log = logging.getLogger(__name__)

DUE_SLACK_S = 0.002   # frames due this soon are taken into the current tick


class Scheduler:
    """N streams, one clock, one batched call per stage per tick.

    Args:
        fps: frame rate of the streams added without one (their avatar's when None).
        workers: threads rendering frame paths side by side (default: one per CPU core).
        delivery_queue_s: seconds of frames each stream's ``on_frame`` may fall behind before
            its oldest queued frames are dropped (and counted in its ``dropped``).
        processes: render in this many worker processes (each tick's batch of a frame path
            split among them, frames back through shared memory: :mod:`dhsdk.pipeline.workers`),
            ``"auto"`` for :func:`~dhsdk.pipeline.workers.auto_processes` (1 below 16 cores),
            or 1 to render in this process. With workers, :meth:`add` blocks the first time it
            sees a LipSync while every worker builds its frame path.

    Python's cyclic garbage collector would otherwise stop every stream at once: a full
    collection walks every object in the process (models, modules, avatars): 12-145 ms measured
    on 2 cores, longer than a frame period. So :meth:`add` moves the heap as it is then out of the
    collector's reach (``gc.freeze``) once the stream is built; objects made later are collected
    as usual. When the last stream leaves (:meth:`remove`) or at :meth:`close` the frozen ones
    are given back (``gc.unfreeze``) and removed streams' reference cycles are freed; while
    other streams still run, unfreezing would put the whole heap back in their next full
    collection, the very stall the freeze avoids. In one run of ``dhsdk bench`` (2 cores, 720x1280)
    this took the lite UNet from 5 to 9 streams at 25 fps.

    Attributes:
        ticks: wake-ups of the clock so far.
        batches: frame-path calls so far (one per path per tick).
        skipped: due stream frames found while that stream's previous work was still running.
        tick_ms: recent host time of each tick's audio, a2k and per-stream work, ms.
        batch_ms: recent (frames, ms) of each frame-path call: its batch size and wall time.
    """

    def __init__(self, fps: float | None = None, workers: int | None = None, delivery_queue_s: float = 2.0,
                 processes: int | str = 1):
        from collections import deque

        self.processes = resolve_processes(processes)
        self.fps = fps
        self.delivery_queue_s = float(delivery_queue_s)
        self.streams: list[Stream] = []
        self._busy: set[int] = set()
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=workers or cpu_cores(), thread_name_prefix="dhsdk-sched")
        self._render_workers = None
        if self.processes > 1:
            from dhsdk.pipeline.workers import RenderWorkers

            self._render_workers = RenderWorkers(self.processes)
        self._stop = threading.Event()
        self._wake = threading.Event()  # a render finished: re-check its streams' due frames
        self._worker = threading.local()  # per worker thread: its CUDA stream, once it renders on a GPU
        self._grid: dict[float, float] = {}  # fps -> perf_counter of a frame boundary of that rate
        self.ticks = self.batches = self.skipped = 0
        self.tick_ms: deque = deque(maxlen=4096)
        self.batch_ms: deque = deque(maxlen=4096)
        self._thread = threading.Thread(target=self._run, name="dhsdk-scheduler", daemon=True)
        self._thread.start()

    def add(self, lipsync: Any, **kwargs: Any) -> Stream:
        """Create a real-time :class:`Stream` driven by this scheduler (kwargs go to Stream).

        Streams that should batch together share one ``lipsync`` (one frame path); each stream
        still owns its render state.
        """
        kwargs.setdefault("fps", self.fps)
        if kwargs.get("on_frame") is not None:
            fps = float(kwargs["fps"] or lipsync.avatar.fps)
            kwargs.setdefault("on_frame_queue", max(2, int(self.delivery_queue_s * fps)))
        if self._render_workers is not None:
            self._render_workers.path(lipsync.path)   # built (and warmed) in every worker, once
        stream = Stream(lipsync, realtime=True, start=False, **kwargs)
        gc.freeze()   # see the class docstring
        stream.start_clock(self._aligned_start(stream.fps))
        with self._lock:
            self.streams.append(stream)
        self._wake.set()
        return stream

    def _aligned_start(self, fps: float) -> float:
        """The next frame boundary of the grid of rate ``fps`` (the first stream at a rate sets it)."""
        now = time.perf_counter()
        with self._lock:
            origin = self._grid.setdefault(fps, now)
        return origin + np.ceil((now - origin) * fps - 1e-9) / fps

    def remove(self, stream: Stream) -> None:
        """Stop serving ``stream`` and close it."""
        with self._lock:
            self.streams.remove(stream)
            last = not self.streams
        stream.close()
        if last:
            gc.unfreeze()   # see the class docstring

    def _cuda_stream(self, path: Any) -> ContextManager:
        """The calling worker's own CUDA stream (made on first use), to make current while it
        renders on ``path``, when that renders on the GPU; else a no-op context."""
        if getattr(path, "device", "cpu") != "cuda":
            return contextlib.nullcontext()
        if not hasattr(self._worker, "cuda"):
            from dhsdk.cuda.streams import Stream as CudaStream

            self._worker.cuda = CudaStream()
        return self._worker.cuda

    def _run(self) -> None:
        idle_poll = 0.005  # s: how often an empty scheduler looks for new streams
        while not self._stop.is_set():
            self._wake.clear()
            with self._lock:
                streams = list(self.streams)
            now = time.perf_counter()
            wake_at = now + idle_poll
            due = []
            for s in streams:
                at = s.due_time(s.next_index)
                with self._lock:
                    busy = id(s) in self._busy
                if busy:
                    self.skipped += at <= now
                elif at <= now + DUE_SLACK_S:
                    due.append(s)
                else:
                    wake_at = min(wake_at, at)
            if due:
                self._tick(due)
            self.ticks += 1
            self._wake.wait(max(0.0, wake_at - time.perf_counter()))

    def _tick(self, due: list[Stream]) -> None:
        """One tick: a2k for all ``due`` streams, then one render call per frame path."""
        t = time.perf_counter()
        windows = [s.collect() for s in due]
        deltas, a2k_ms = _infer(due, windows)
        jobs = [s.job(d, a2k_ms) for s, d in zip(due, deltas)]
        self.tick_ms.append((time.perf_counter() - t) * 1e3)
        groups: dict[int, list[tuple[Stream, FrameJob]]] = defaultdict(list)
        for s, job in zip(due, jobs):
            groups[id(s.lipsync.path)].append((s, job))
        for group in groups.values():
            with self._lock:
                self._busy.update(id(s) for s, _ in group)
            self.batches += 1
            self._pool.submit(self._render, group)

    def _render(self, group: Sequence[tuple[Stream, FrameJob]]) -> None:
        """Render one path's frames of a tick and emit them (on a pool worker)."""
        try:
            path = group[0][0].lipsync.path
            if self._render_workers is not None:
                path = self._render_workers.path(path)
            todo = [(s, job) for s, job in group if job.repeat is None]
            t = time.perf_counter()
            images = []
            if todo:
                with self._cuda_stream(path):
                    images = path.render_frames([job.base for _, job in todo], np.stack([job.lips for _, job in todo]))
            render_ms = (time.perf_counter() - t) * 1e3
            if todo:
                self.batch_ms.append((len(todo), render_ms))
            rendered = {id(s): image for (s, _), image in zip(todo, images)}
            for s, job in group:
                s.finish(job, job.repeat if job.repeat is not None else rendered[id(s)], render_ms)
        except Exception:  # noqa: BLE001  (a worker must not die silently; the streams are behind)
            log.exception("dhsdk scheduler: rendering %d frames failed", len(group))
        finally:
            with self._lock:
                self._busy.difference_update(id(s) for s, _ in group)
            self._wake.set()

    def worker_cpu_s(self) -> float:
        """CPU seconds the render worker processes have used (0 without workers)."""
        return 0.0 if self._render_workers is None else self._render_workers.cpu_seconds()

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
        if self._render_workers is not None:
            self._render_workers.close()
        gc.unfreeze()

    def __enter__(self) -> "Scheduler":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _infer(streams: list[Stream], windows: list[np.ndarray]) -> tuple[list[np.ndarray], float]:
    """Run a2k once per model over the windows of every stream that uses it.

    Returns:
        each stream's (m, 40, 2) deltas, and the inference time per stream in ms.
    """
    t = time.perf_counter()
    out: list[np.ndarray] = [np.zeros((0, 40, 2), np.float32)] * len(streams)
    by_model: dict[int, list[int]] = defaultdict(list)
    for i, (s, w) in enumerate(zip(streams, windows)):
        if len(w):
            by_model[id(s.lipsync.a2k)].append(i)
    for idx in by_model.values():
        batch = streams[idx[0]].lipsync.a2k.infer(np.concatenate([windows[i] for i in idx]))
        ends = np.cumsum([len(windows[i]) for i in idx])
        for i, part in zip(idx, np.split(batch, ends[:-1])):
            out[i] = part
    return out, (time.perf_counter() - t) * 1e3 / max(1, len(streams))
