"""Live-pipeline measurements shared by ``dhsdk bench`` and ``benchmarks/bench_live.py``.

Each case takes ``make()``, a zero-argument factory of a fresh
:class:`~dhsdk.pipeline.lipsync.LipSync` (or anything :class:`~dhsdk.pipeline.stream.Stream`
accepts), warms it up (:func:`warm`), and returns a flat dict:

- :func:`case_latency`: one real-time stream fed speech at real time: audio-in -> frame-out
  latency and per-frame processing time percentiles (plus the raw samples for plots);
- :func:`case_capacity`: one unpaced stream (``realtime=False``): frames/s for one stream;
- :func:`case_concurrent`: N real-time streams on one Scheduler at a target fps: late and
  repeated fractions in steady state, aggregate fps, the Scheduler's per-tick host time and
  per-batch render time, per-frame stage times (GPU times on the GPU path), frames/s per
  stage and the CPU time (the process and its render workers) per rendered frame (what the
  cores can carry on an idle machine: cores x 1000 / that); ``ok`` when every stream has < 1 %
  late or repeated frames.
"""
from __future__ import annotations

import resource
import threading
import time
from typing import Any, Callable

import numpy as np

LATE_LIMIT = 0.01  # a stream "holds" its fps with fewer than 1 % late or repeated frames


def speech(seconds: float) -> np.ndarray:
    """(n,) float32 16 kHz speech: espeak-ng TTS looped to ``seconds`` with short pauses
    (a syllable-rate modulated harmonic signal when the TTS is not installed)."""
    try:
        from dhsdk.adapters.tts.espeak import EspeakTTS
        from dhsdk.audio import load_audio

        chunk = EspeakTTS("en-us").synthesize("Welcome to the live show. Today we look at three new phones, "
                                              "their cameras, batteries and prices.")
        pcm = load_audio((chunk.pcm, chunk.sample_rate))
    except (ImportError, OSError):
        t = np.arange(48000) / 16000
        voiced = 0.5 * (1 + np.sin(2 * np.pi * 4 * t)) * sum(np.sin(2 * np.pi * 140 * h * t) / h for h in range(1, 6))
        pcm = (0.2 * voiced).astype(np.float32)
    pcm = np.concatenate([pcm, np.zeros(8000, np.float32)])
    reps = int(np.ceil(seconds * 16000 / len(pcm)))
    return np.tile(pcm, reps)[:int(seconds * 16000)]


def feed(stream: Any, pcm: np.ndarray, stop: threading.Event) -> threading.Thread:
    """Push ``pcm`` at real time in small chunks on a daemon thread (a live source)."""
    from dhsdk.pipeline.live_cli import feed_pcm

    t = threading.Thread(target=feed_pcm, args=(stream, pcm, stop), daemon=True)
    t.start()
    return t


def rss_mb() -> float:
    """Current resident set size of this process in MiB."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2 ** 20


def warm(sync: Any, frames: int | None = None) -> Any:
    """Render ``frames`` frames of the idle loop untimed, in batches (the whole loop when None:
    ONNX Runtime sessions, thread pools, the frame path's per-base-frame crops) and return
    ``sync``: a stream's first frames must not pay for initialisation."""
    n = frames if frames is not None else getattr(sync.avatar, "num_frames", 25)
    bases = sorted({sync.avatar.idle_index(k) for k in range(n)})
    for i in range(0, len(bases), 16):
        chunk = bases[i:i + 16]
        sync.path.render(chunk, np.repeat(sync.geometry.neutral_lips[None], len(chunk), 0))
    return sync


def case_latency(make: Callable[[], Any], seconds: float, fps: float | None = None) -> dict[str, Any]:
    """One real-time stream, ``seconds`` of speech pushed at real time.

    Returns:
        The stream's metrics summary (``latency_p50_ms`` ... ``total_p99_ms``), ``floor_ms``
        (a2k look-ahead + one frame: the least latency the design allows), ``fps``, ``size``
        (H, W), and ``latency_samples_ms`` / ``frame_samples_ms`` (audio-in -> frame-out and
        per-frame processing, for plots).
    """
    from dhsdk.pipeline.stream import Stream

    sync = warm(make())
    stop = threading.Event()
    with Stream(sync, realtime=True, pull=False, fps=fps) as s:
        feed(s, speech(seconds), stop).join()
        time.sleep(0.5)
        stop.set()
    m = s.metrics.summary()
    return {"case": "latency", **m, "floor_ms": (sync.a2k.lookahead_s + 1 / s.fps) * 1e3, "fps": s.fps,
            "size": list(sync.avatar.frame(0).shape[:2]), "latency_samples_ms": list(s.metrics.latency_ms),
            "frame_samples_ms": list(s.metrics.stage_ms["total"])}


def case_capacity(make: Callable[[], Any], frames: int, fps: float | None = None) -> dict[str, Any]:
    """Frames/s one unpaced stream renders (``frames`` timed after 5 warm-up frames)."""
    from dhsdk.pipeline.stream import Stream

    sync = warm(make())
    with Stream(sync, realtime=False, pull=False, start=False, fps=fps) as s:
        s.push_audio(speech(frames / s.fps + 1))
        for _ in range(5):
            s.tick()
        t0 = time.perf_counter()
        for _ in range(frames):
            s.tick()
        elapsed = time.perf_counter() - t0
    return {"case": "capacity", "fps": frames / elapsed, "render_p50_ms": s.metrics.summary()["render_p50_ms"]}


def case_concurrent(make: Callable[[], Any], n: int, seconds: float, fps: float | None = None,
                    settle: float = 0.5, processes: int | str = 1) -> dict[str, Any]:
    """``n`` real-time streams of one avatar on one Scheduler at ``fps`` (the avatar's when None).

    The streams share one LipSync (one frame path: the Scheduler renders their frames in one
    batch per tick, in ``processes`` worker processes when more than one); each owns its render
    state. Late and repeated frames are counted in steady state: from ``settle`` seconds after
    the speech starts (stream start-up is the latency case's business) to the end of the
    speech. On the GPU path every frame is read on the host by its stream's delivery thread, as
    a CPU encoder would (a frame kept on the device for NVENC is never copied).
    """
    from dhsdk.pipeline.scheduler import Scheduler

    sync = warm(make())
    stop = threading.Event()
    pcm = speech(seconds)
    on_frame = (lambda f: f.image) if sync.device == "cuda" else None
    with Scheduler(fps=fps, processes=processes) as sched:
        streams = [sched.add(sync, pull=False, fps=fps, seed=i, on_frame=on_frame) for i in range(n)]
        feeders = [feed(s, pcm, stop) for s in streams]
        time.sleep(min(settle, seconds / 4))
        t0, cpu0 = time.perf_counter(), _cpu_s() + sched.worker_cpu_s()
        before = [(s.metrics.frames, s.metrics.late, s.metrics.repeated) for s in streams]
        for q in (sched.tick_ms, sched.batch_ms, *sync.stage_ms.values()):
            q.clear()
        for f in feeders:
            f.join()
        elapsed, cpu = time.perf_counter() - t0, _cpu_s() + sched.worker_cpu_s() - cpu0
        after = [(s.metrics.frames, s.metrics.late, s.metrics.repeated) for s in streams]
        ticks, batches = list(sched.tick_ms), list(sched.batch_ms)
        stage = {k: float(np.median(v)) for k, v in sync.stage_ms.items() if len(v)}
        stop.set()
    frames, late, repeated = (np.array([a[i] - b[i] for a, b in zip(after, before)]) for i in range(3))
    frac = np.maximum(late, repeated) / np.maximum(frames, 1)
    sizes, render = (np.array([b[i] for b in batches] or [np.nan], np.float64) for i in (0, 1))
    return {"case": "concurrent", "streams": n, "processes": sched.processes, "fps": streams[0].fps,
            "frames": int(frames.sum()),
            "late_frac_max": float(frac.max()), "late_frac_mean": float(frac.mean()),
            "rendered_fps": float((frames - repeated).sum() / elapsed), "ok": bool(frac.max() < LATE_LIMIT),
            "latency_p95_ms_max": max(s.metrics.summary()["latency_p95_ms"] for s in streams),
            "tick_host_ms_p50": _pct(ticks, 50), "tick_host_ms_p95": _pct(ticks, 95),
            "batch_frames_mean": float(np.nanmean(sizes)) if np.isfinite(sizes).any() else float("nan"),
            "batch_render_ms_p50": _pct(render, 50), "batch_render_ms_p95": _pct(render, 95),
            "stage_ms": stage, "stage_fps": {k: 1e3 / v for k, v in stage.items() if v > 0},
            "cpu_ms_per_frame": cpu * 1e3 / max(1, int((frames - repeated).sum())),
            "gpu_ms_per_frame": sum(stage.values()) if sync.device == "cuda" and stage else None}


def _cpu_s() -> float:
    """CPU seconds this process has used (all threads, user + system)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _pct(values: Any, q: float) -> float:
    v = np.asarray(values, np.float64)
    v = v[np.isfinite(v)]
    return float(np.percentile(v, q)) if len(v) else float("nan")
