"""Soak: one avatar live for N minutes through the real pipeline into a real mp4 file sink.

Does memory grow, do lips and sound drift apart, does the stream fall behind the wall clock?
Speech (espeak-ng, one sentence and a pause, looped) is pushed at real time into a real-time
:class:`~dhsdk.pipeline.stream.Stream`; every frame goes to the file sink ``dhsdk live --sink file:``
opens (a fragmented mp4, :class:`~dhsdk.sinks.file.FileSink`).

Prints one JSON line per window (``t``, ``rss_mb``, ``frames``, ``late``, ``repeated``) and a
summary line (``case: soak``):

- ``rss_slope_mb_per_h``: least-squares slope of RSS over the windows after warm-up (the first
  minute, or the first fifth of a shorter run), and ``rss_growth_mb`` over the same span;
- ``av_drift_ms``: audio minus video duration of what the sink received (samples / 16 kHz vs
  frames / fps), and ``file_av_drift_ms``: the same from the written mp4's streams;
- ``clock_drift_ms``: the last frame's end (pts + one frame) minus the wall time since the first
  frame reached the sink (negative: the sink's output lags real time, e.g. an encoder that
  cannot keep up and a stream that drops frames for it);
- ``frames``, ``late``, ``repeated``, ``dropped`` (the stream's counters).

Usage: ``nice -n 10 python benchmarks/soak.py --minutes 10 [--avatar default] [--mouth warp]
[--out soak.mp4] [--plot soak.png]``
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from timing import emit  # noqa: E402

from dhsdk.bench.live import rss_mb  # noqa: E402

SR = 16000
SENTENCE = "Welcome back to the live room. This dress comes in four sizes and ships tomorrow."


def phrase() -> np.ndarray:
    """(n,) float32 16 kHz: one spoken sentence and half a second of silence."""
    from dhsdk.adapters.tts.espeak import EspeakTTS
    from dhsdk.audio import load_audio

    chunk = EspeakTTS("en-us").synthesize(SENTENCE)
    return np.concatenate([load_audio((chunk.pcm, chunk.sample_rate)), np.zeros(SR // 2, np.float32)])


def loop_speech(stream, pcm: np.ndarray, stop: threading.Event) -> None:
    """Push ``pcm`` again and again at real time until ``stop`` (a presenter who keeps talking)."""
    from dhsdk.pipeline.live_cli import feed_pcm

    while not stop.is_set():
        feed_pcm(stream, pcm, stop)


def file_drift_ms(path: Path, fps: float) -> float:
    """Where the audio of an mp4 ends minus where its video ends, in ms, from the packets (no
    decoding): the last video frame ends one frame after its pts (a track's own duration is
    wrong after dropped frames), the last AAC packet at pts + duration (it may carry up to
    1024 samples of padding: +21 ms at 48 kHz)."""
    import av

    ends: dict[str, float] = {}
    with av.open(str(path)) as c:
        for packet in c.demux():
            if packet.pts is None:
                continue
            kind = packet.stream.type
            length = 1.0 / fps if kind == "video" else float((packet.duration or 0) * packet.time_base)
            ends[kind] = max(ends.get(kind, 0.0), float(packet.pts * packet.time_base) + length)
    return 1e3 * (ends["audio"] - ends["video"])


def slope_per_hour(t: np.ndarray, y: np.ndarray) -> float:
    """Least-squares slope of ``y`` over ``t`` seconds, per hour (0 with fewer than 2 points)."""
    return float(np.polyfit(t, y, 1)[0] * 3600) if len(t) >= 2 else 0.0


def soak(args: argparse.Namespace, out: Path) -> dict:
    from dhsdk.avatar import Avatar
    from dhsdk.pipeline.lipsync import LipSync
    from dhsdk.pipeline.stream import Stream
    from dhsdk.sinks.group import open_sink

    avatar = Avatar.default() if args.avatar == "default" else Avatar.load(args.avatar)
    sync = LipSync(avatar, mouth=args.mouth, device=args.device)
    pcm, stop, rows = phrase(), threading.Event(), []
    samples = frames = 0
    first_wall = last_pts = None
    seconds = 60.0 * args.minutes
    with open_sink(f"file:{out}") as sink, Stream(sync, realtime=True) as stream:   # as `dhsdk live --sink file:`
        feeder = threading.Thread(target=loop_speech, args=(stream, pcm, stop), daemon=True)
        feeder.start()
        t0 = time.perf_counter()
        next_window = t0 + args.window
        for frame in stream:
            sink.write(frame)
            now = time.perf_counter()
            first_wall = first_wall or now
            samples, frames, last_pts = samples + len(frame.audio), frames + 1, frame.pts
            if now >= next_window:
                m = stream.metrics
                rows.append({"case": "soak_window", "t": round(now - t0, 1), "rss_mb": round(rss_mb(), 1),
                             "frames": m.frames, "late": m.late, "repeated": m.repeated})
                emit(rows[-1], with_machine=False)
                next_window += args.window
            if now - t0 >= seconds:
                break
        stop.set()
        clock_drift = last_pts + 1.0 / stream.fps - (time.perf_counter() - first_wall)
        m = stream.metrics
    t = np.array([r["t"] for r in rows])
    rss = np.array([r["rss_mb"] for r in rows])
    steady = t >= min(60.0, 0.2 * seconds)
    return {"case": "soak", "minutes": args.minutes, "avatar": str(avatar.path), "mouth": args.mouth,
            "size": [avatar.width, avatar.height], "fps": stream.fps, "frames": m.frames, "late": m.late,
            "repeated": m.repeated, "dropped": m.dropped,
            "rss_start_mb": float(rss[steady][0]) if steady.any() else None,
            "rss_end_mb": float(rss[-1]) if len(rss) else None,
            "rss_growth_mb": float(rss[steady][-1] - rss[steady][0]) if steady.any() else None,
            "rss_slope_mb_per_h": slope_per_hour(t[steady], rss[steady]),
            "av_drift_ms": 1e3 * (samples / SR - frames / stream.fps),
            "file_av_drift_ms": file_drift_ms(out, stream.fps), "clock_drift_ms": 1e3 * clock_drift,
            "windows": rows}


def plot(path: str, summary: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from dhsdk.figures import save_png

    rows = summary["windows"]
    t = [r["t"] / 60 for r in rows]
    fig, ax = plt.subplots(1, 2, figsize=(11, 3.6))
    ax[0].plot(t, [r["rss_mb"] for r in rows], "o-")
    ax[0].set(title=f"RSS (slope {summary['rss_slope_mb_per_h']:+.1f} MB/h)", xlabel="minutes", ylabel="MiB")
    ax[1].plot(t, [r["late"] for r in rows], "o-", label="late")
    ax[1].plot(t, [r["repeated"] for r in rows], "s-", label="repeated")
    ax[1].set(title=f"late frames (A/V drift {summary['file_av_drift_ms']:+.1f} ms in the file)",
              xlabel="minutes", ylabel="frames (cumulative)")
    ax[1].legend()
    fig.suptitle(f"soak: {summary['minutes']:g} min, {summary['frames']} frames, {summary['mouth']} mouth, "
                 f"{summary['size'][0]}x{summary['size'][1]}")
    save_png(fig, path, dpi=100)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=10.0, help="how long to run (default 10)")
    p.add_argument("--avatar", default="default", help="avatar bundle directory, or 'default'")
    p.add_argument("--mouth", choices=["auto", "warp", "unet"], default="warp")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    p.add_argument("--window", type=float, default=10.0, help="seconds between RSS samples (default 10)")
    p.add_argument("--out", help="keep the mp4 here (default: a temporary file, removed)")
    p.add_argument("--plot", help="write RSS and late frames over time to this PNG")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        summary = soak(args, Path(args.out) if args.out else Path(tmp) / "soak.mp4")
    emit({k: v for k, v in summary.items() if k != "windows"})
    if args.plot:
        plot(args.plot, summary)


if __name__ == "__main__":
    main()
