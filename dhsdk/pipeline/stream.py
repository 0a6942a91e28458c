"""Live stream: push audio from any thread, get lip-synced frames at the avatar's fps.

One master clock, the output audio sample clock: frame k plays samples
``[round(k*sr/fps), round((k+1)*sr/fps))`` and has ``pts = k / fps``, so lips and sound are in
sync by construction and cannot drift however long the stream runs. Audio goes into a bounded
:class:`~dhsdk.pipeline.jitter.JitterBuffer`; a *committed timeline* reads it one frame at a time
ahead of playback by the a2k look-ahead, so the a2k stream always has its future context. Every
frame's mouth is rendered: with no speech the avatar's resting mouth, and
:class:`StreamingActivity` ramps into and out of speech. The stream owns its render state (lip
smoothing, resting micro-motion: a :class:`~dhsdk.render.state.MouthState`); the frame path is
its LipSync's, shared with every other stream of that LipSync.

A frame is made in three steps, so that a :class:`~dhsdk.pipeline.scheduler.Scheduler` can run
each step once for the frames of many streams: :meth:`Stream.collect` (commit audio, return the
a2k windows still to infer), :meth:`Stream.job` (take the inferred deltas, return the frame's
:class:`FrameJob`: base frame and target lips), :meth:`Stream.finish` (emit the rendered
image). :meth:`Stream.tick` runs the three for one frame of this stream alone.

In real time (``realtime=True``) frames are paced by the wall clock; a stream that falls behind
repeats the previous image (video only: every frame still carries its audio) until it catches
up, and counts it. ``realtime=False`` runs as fast as the consumer pulls (tests, offline).
"""
from __future__ import annotations

import queue
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import numpy as np

from dhsdk.frames import VideoFrame
from dhsdk.pipeline.activity import level_db
from dhsdk.pipeline.jitter import JitterBuffer
from dhsdk.pipeline.live_activity import StreamingActivity

SAMPLE_RATE = 16000
_LATENCY_WINDOW = 4096  # latency samples kept for percentiles (bounded memory)


@dataclass
class StreamMetrics:
    """Counters and timings of one stream (read them any time; values are snapshots).

    Attributes:
        frames: frames emitted.
        late: frames emitted more than one frame period after their due time.
        repeated: frames whose image repeated the previous one because the stream was behind.
        dropped: frames dropped because the pull consumer or a queued ``on_frame`` did not keep
            up (real time only).
        skipped_silence: silent frames of input dropped by drift correction.
        underruns: reads that found the jitter buffer dry mid-speech (padded with silence).
        stage_ms: stage -> recent durations in ms (``a2k``, ``render`` = the frame path's call
            that rendered the frame, ``total``).
        latency_ms: recent audio-in -> frame-out latencies in ms.
    """

    frames: int = 0
    late: int = 0
    repeated: int = 0
    dropped: int = 0
    underruns: int = 0
    skipped_silence: int = 0
    buffer_s: float = 0.0
    stage_ms: dict[str, deque] = field(default_factory=lambda: {
        s: deque(maxlen=_LATENCY_WINDOW) for s in ("a2k", "render", "total")})
    latency_ms: deque = field(default_factory=lambda: deque(maxlen=_LATENCY_WINDOW))

    def summary(self) -> dict[str, float]:
        """Flat dict: counters, buffer depth, p50/p95/p99 of latency and stage times (ms)."""
        out: dict[str, float] = {k: getattr(self, k) for k in
                                 ("frames", "late", "repeated", "dropped", "underruns",
                                                           "skipped_silence", "buffer_s")}
        series = {"latency": self.latency_ms, **self.stage_ms}
        for name, values in series.items():
            v = np.asarray(list(values), np.float64)
            for p in (50, 95, 99):
                out[f"{name}_p{p}_ms"] = float(np.percentile(v, p)) if len(v) else float("nan")
        return out


@dataclass
class _Slot:
    """One committed frame: its audio, when its audio arrived, its activity weight."""

    index: int
    audio: np.ndarray
    pushed: float | None
    weight: float


@dataclass
class FrameJob:
    """One frame of one stream, ready for the frame path (see :meth:`Stream.job`).

    Attributes:
        index: the frame's number in its stream.
        base: avatar base frame to render from.
        lips: (40, 2) float32 target lips, canonical units.
        repeat: the previous picture when the stream is behind and repeats it (nothing to
            render), else None: a host image or a frame on the GPU, as :meth:`Stream.finish` got it.
        start: perf_counter when the frame's work began.
    """

    index: int
    base: int
    lips: np.ndarray
    repeat: Any
    start: float
    slot: _Slot = field(repr=False)


class Stream:
    """One avatar, live.

    Args:
        lipsync: a :class:`dhsdk.pipeline.lipsync.LipSync` (or anything with ``avatar``,
            ``a2k`` (``lookahead_s``, ``stream(fps)`` -> ``windows(pcm)``, ``infer(windows)``),
            ``mouth_state(fps)`` and ``path`` (``render(bases, lips)``)).
        realtime: pace frames by the wall clock (True) or run as fast as pulled (False).
        on_frame: called with every :class:`VideoFrame` (on the stream's thread, or on a
            delivery thread of its own with ``on_frame_queue``).
        max_buffer_s: bound on audio queued ahead of playback; pushing more raises InputError.
        fps: output frame rate; the avatar's when None.
        queue_s: seconds of frames the pull iterator buffers in real time (oldest dropped
            beyond it); with ``realtime=False`` the producer stays two frames ahead of the puller.
        drift_s: drift correction for a capture device with its own clock (a microphone at
            16.016 kHz fills the buffer slowly): above this many buffered seconds, silent frames
            of input are dropped (never speech). None (the default) turns it off: pushed audio
            (files, TTS) runs ahead by design and its pauses must play.
        vad: gate the mouth by the Silero voice-activity model (not just by level).
        pull: keep frames for the pull iterator (default: when there is no ``on_frame``).
        start: start the stream's own thread now (a :class:`Scheduler` passes False and drives
            the stream itself).
        on_frame_queue: call ``on_frame`` on a delivery thread of the stream's own, through a
            queue of this many frames (oldest dropped and counted when full), so a slow
            consumer never holds up the frame clock; None calls it inline.
        seed: phases of the resting mouth's micro-motion.
    """

    def __init__(self, lipsync: Any, *, realtime: bool = True, on_frame: Callable[[VideoFrame], Any] | None = None,
                 max_buffer_s: float = 30.0, fps: float | None = None, queue_s: float = 2.0, vad: bool = False,
                 drift_s: float | None = None, pull: bool | None = None, start: bool = True,
                 on_frame_queue: int | None = None, seed: int = 0):
        self.lipsync = lipsync
        self.avatar = lipsync.avatar
        self.fps = float(fps or self.avatar.fps)
        self.realtime = realtime
        self.pull = on_frame is None if pull is None else pull
        self.metrics = StreamMetrics()
        self.lookahead_frames = int(np.ceil(float(lipsync.a2k.lookahead_s) * self.fps))
        frame_samples = int(round(SAMPLE_RATE / self.fps))
        # Prebuffer one frame: the a2k look-ahead itself comes from committing ahead of playback.
        self._jitter = JitterBuffer(SAMPLE_RATE, frame_samples, max_buffer_s)
        self._high_water = None if drift_s is None else int(drift_s * SAMPLE_RATE)
        self._a2k = lipsync.a2k.stream(self.fps)
        self._mouth = lipsync.mouth_state(self.fps, seed=seed)
        self._activity = StreamingActivity(self.fps, vad=vad)
        self._pending: deque[_Slot] = deque()   # committed, waiting for their a2k deltas
        self._deltas: deque[np.ndarray] = deque()  # a2k deltas not yet used, in frame order
        self._windows = 0                         # a2k windows handed out by collect(), not yet back
        self._committed = 0                       # frames committed to the timeline
        self._next = 0                            # next frame to emit
        self._last_picture: Any = None            # what the last frame showed (host image or GPU frame)
        self._started = self._collect_ms = 0.0    # when the current frame's work began; its collect time
        self._pulled_drops = 0
        self._interrupt = threading.Event()
        self._stop = threading.Event()
        self._out: queue.Queue = queue.Queue(maxsize=max(2, int(queue_s * self.fps)) if realtime else 2)
        self._t0: float | None = None
        self._thread: threading.Thread | None = None
        self._delivery = self._delivered = None
        self.on_frame = on_frame
        if on_frame is not None and on_frame_queue is not None:
            from dhsdk.sinks.base import SinkMetrics
            from dhsdk.sinks.worker import FrameWorker

            self._delivered = SinkMetrics()
            self._delivery = FrameWorker(on_frame, self._delivered, on_frame_queue, "dhsdk-stream-deliver")
            self.on_frame = self._delivery.submit
        if hasattr(self.avatar, "preload"):
            self.avatar.preload(wait=True)  # a cold frame cache would make the first loop late
        if start:
            self._thread = threading.Thread(target=self._run, name="dhsdk-stream", daemon=True)
            self._thread.start()

    # ---- input ------------------------------------------------------------------------
    def push_audio(self, chunk: Any) -> None:
        """Queue speech: an :class:`AudioChunk` or a (n,) float32 16 kHz array, any size, any thread.

        Raises:
            InputError: more than ``max_buffer_s`` would be queued (audio pushed faster than
                real time), or the chunk is not 16 kHz.
        """
        from dhsdk.errors import InputError

        rate = getattr(chunk, "sample_rate", SAMPLE_RATE)
        pcm = np.asarray(getattr(chunk, "pcm", chunk), np.float32)
        if rate != SAMPLE_RATE:
            from dhsdk.audio import load_audio

            pcm = load_audio((pcm, rate))
        if pcm.ndim != 1:
            raise InputError(f"audio must be mono (n,), got shape {pcm.shape}")
        self._jitter.push(pcm)

    def end_speech(self) -> None:
        """Say that the queued utterance is complete (its tail is not counted as an underrun)."""
        self._jitter.end()

    def buffered_seconds(self) -> float:
        """Seconds of pushed speech not yet played: queued, plus committed ahead of playback
        (about the a2k look-ahead). Any thread; a producer that keeps it small keeps barge-in
        cheap (``interrupt()`` drops exactly this much)."""
        ahead = sum(len(s.audio) for s in list(self._pending) if s.pushed is not None)
        return (self._jitter.depth + ahead) / SAMPLE_RATE

    def interrupt(self) -> None:
        """Barge-in: drop all speech queued so far (audio pushed after the call plays, e.g. the
        answer); from the next frame audio is silent and the mouth ramps to rest."""
        self._jitter.clear()  # now, not at the next tick, which would also drop what follows
        self._interrupt.set()

    # ---- output -----------------------------------------------------------------------
    def __iter__(self) -> Iterator[VideoFrame]:
        """Pull frames until the stream is closed."""
        while not (self._stop.is_set() and self._out.empty()):
            try:
                yield self._out.get(timeout=0.05)
            except queue.Empty:
                continue

    def due_time(self, index: int) -> float:
        """Wall time (perf_counter) frame ``index`` is due, once the clock started."""
        return (self._t0 or time.perf_counter()) + index / self.fps

    @property
    def next_index(self) -> int:
        """The number of the next frame to emit."""
        return self._next

    def start_clock(self, t0: float | None = None) -> None:
        """Start the frame clock: frame 0 is due at perf_counter ``t0`` (now when None)."""
        self._t0 = time.perf_counter() if t0 is None else float(t0)

    # ---- the frame clock --------------------------------------------------------------
    def _run(self) -> None:
        self.start_clock()
        while not self._stop.is_set():
            if self.realtime:
                wait = self.due_time(self._next) - time.perf_counter()
                if wait > 0 and self._stop.wait(wait):
                    break
            self.tick()

    def _edges(self, k: int) -> tuple[int, int]:
        return int(round(k * SAMPLE_RATE / self.fps)), int(round((k + 1) * SAMPLE_RATE / self.fps))

    def collect(self) -> np.ndarray:
        """Step 1 of a frame: commit audio to the timeline until the next frame's a2k window is
        known; return the windows not yet inferred ((m, ...) float32, m >= 0). Give their deltas,
        in order, to :meth:`job`."""
        if self._t0 is None:
            self.start_clock()
        t = self._started = time.perf_counter()
        if self._interrupt.is_set():
            self._barge_in()
        windows = []
        for _ in range(self.lookahead_frames + 8):
            if self._deltas or self._windows + sum(len(w) for w in windows):
                break
            a, b = self._edges(self._committed)
            audio, pushed = self._jitter.read(b - a)
            level = level_db(audio)
            self._pending.append(_Slot(self._committed, audio, pushed, self._activity.step(level, audio)))
            self._committed += 1
            windows.append(self._a2k.windows(audio))
            # A source clock faster than ours (a mic at 16.016 kHz) slowly fills the buffer:
            # drop whole silent frames while it is over the high-water mark, never speech.
            if self._high_water is not None and self._jitter.skip_silence(b - a, self._high_water):
                self.metrics.skipped_silence += 1
        out = np.concatenate(windows) if windows else np.zeros((0,), np.float32)
        self._collect_ms = (time.perf_counter() - t) * 1e3
        self._windows += len(out)
        return out

    def _barge_in(self) -> None:
        self._interrupt.clear()
        self._activity.rest()
        for slot in self._pending:  # committed but not played: silent, mouth ramping to rest
            slot.audio[:] = 0.0
            slot.pushed = None
            slot.weight = min(slot.weight, self._activity.step(-100.0))

    def job(self, deltas: np.ndarray, a2k_ms: float = 0.0) -> FrameJob:
        """Step 2: take the deltas of the windows :meth:`collect` returned; return the next
        frame's job (its target lips advance this stream's render state).

        Args:
            deltas: (m, 40, 2) a2k deltas of those windows, in order.
            a2k_ms: the inference's share of time for this stream (for ``stage_ms["a2k"]``).
        """
        self._windows -= len(deltas)
        self._deltas.extend(deltas)
        self.metrics.stage_ms["a2k"].append(self._collect_ms + a2k_ms)
        delta = self._deltas.popleft()
        slot = self._pending.popleft()
        if self._interrupt.is_set():  # barge-in arrived while committing: this frame is silent too
            self._barge_in()
        k = slot.index
        lips = self._mouth(k, delta, slot.weight)
        behind = self.realtime and time.perf_counter() > self.due_time(k) + 1.0 / self.fps
        repeat = self._last_picture if behind else None
        return FrameJob(k, self.avatar.idle_index(k), lips, repeat, self._started, slot)

    def finish(self, job: FrameJob, picture: Any, render_ms: float | None = None) -> VideoFrame:
        """Step 3: emit the job's frame with its rendered (or repeated) ``picture``: a host
        (H, W, 3) uint8 image, or a frame on the GPU (a :class:`~dhsdk.frames.DevicePicture`
        from a device frame path's ``render_frames``), which the frame carries as ``device``."""
        if job.repeat is not None:
            self.metrics.repeated += 1
        elif render_ms is not None:
            self.metrics.stage_ms["render"].append(render_ms)
        slot = job.slot
        on_gpu = hasattr(picture, "host")
        frame = VideoFrame(image=None if on_gpu else picture, audio=slot.audio, sample_rate=SAMPLE_RATE,
                           pts=job.index / self.fps, index=job.index, speaking=slot.weight > 0,
                           device=picture if on_gpu else None)
        self._last_picture = picture
        self._emit(frame, slot, job.start)
        return frame

    def tick(self) -> VideoFrame:
        """Produce and emit the next frame of this stream alone (the stream's own thread calls
        this; a Scheduler runs the three steps for many streams at once)."""
        t = time.perf_counter()
        windows = self.collect()
        deltas = self.lipsync.a2k.infer(windows) if len(windows) else np.zeros((0, 40, 2), np.float32)
        job = self.job(deltas, (time.perf_counter() - t) * 1e3 - self._collect_ms)
        if job.repeat is not None:
            return self.finish(job, job.repeat)
        t = time.perf_counter()
        picture = self.lipsync.path.render_frames([job.base], job.lips[None])[0]
        return self.finish(job, picture, (time.perf_counter() - t) * 1e3)

    def _emit(self, frame: VideoFrame, slot: _Slot, start: float) -> None:
        self._next = frame.index + 1
        now = time.perf_counter()
        m = self.metrics
        m.stage_ms["total"].append((now - start) * 1e3)
        if self.realtime and now > self.due_time(frame.index) + 1.0 / self.fps:
            m.late += 1
        if slot.pushed is not None:
            m.latency_ms.append((now - slot.pushed) * 1e3)
        m.frames += 1
        m.underruns = self._jitter.underruns
        m.buffer_s = self._jitter.depth / SAMPLE_RATE
        if self.on_frame is not None:
            self.on_frame(frame)
        while self.pull and not self._stop.is_set():
            try:
                if self.realtime:
                    self._out.put_nowait(frame)
                else:
                    self._out.put(frame, timeout=0.05)
                break
            except queue.Full:
                if self.realtime:
                    self._out.get_nowait()
                    self._pulled_drops += 1
        m.dropped = self._pulled_drops + (self._delivered.dropped if self._delivered is not None else 0)

    # ---- lifetime ---------------------------------------------------------------------
    def close(self) -> None:
        """Stop the clock, join the stream's thread and deliver what is queued for ``on_frame``
        (idempotent)."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5.0)
        self._thread = None
        if self._delivery is not None:
            self._delivery.close(timeout=5.0)

    def __enter__(self) -> "Stream":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
