"""Offline render benchmark (issue 6): real-time factor of ``LipSync.render`` to an H.264 + AAC
mp4, with a per-stage breakdown, at 720x1280 and 1080x1920 portrait output, for the warp
renderer and the lite UNet.

Same-run baselines: ``encode_only``, the same base frames (fitted to the size) and audio through
the same encoder with no lip sync at all, so the lip-sync cost is the difference; and ``silence``,
a render of silence (the resting mouth is rendered in every frame too). The avatar's frames are
fitted to each size once (``LipSync(size=...)``), as a live stream at that size renders. Prints
one JSON line per case.

    python benchmarks/bench_render.py                       # default avatar, 10 s of speech
    python benchmarks/bench_render.py --avatar avatars/anna --seconds 20 --sizes 720x1280
    python benchmarks/bench_render.py --memory 3600 --memory-frames 600   # peak RSS, 1-hour wav

``--memory S`` runs only the memory case (run it in a fresh process: peak RSS is the
process's): S seconds of speech written to a wav, rendered from the file to an mp4 through the
file sink (the first ``--memory-frames`` frames, all when 0), peak RSS and RSS along the way.

Target (issue 6): >= 2x real time at 720x1280 with the warp renderer, encoding included.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from timing import emit

from dhsdk.bench.live import speech, warm


def _size(text: str) -> tuple[int, int]:
    w, h = (int(v) for v in text.lower().split("x"))
    return w, h


def render_case(sync, pcm: np.ndarray, size: tuple[int, int], out: Path) -> dict:
    """Render once; wall time, real-time factor and the per-frame stage medians (ms)."""
    for q in sync.stage_ms.values():
        q.clear()
    t0 = time.perf_counter()
    sync.a2k.predict(pcm, sync.avatar.fps)
    plan_ms = (time.perf_counter() - t0) * 1e3
    summary = sync.render(pcm, out, size=size, show_progress=False)
    stages = {name: round(statistics.median(q), 3) for name, q in sync.stage_ms.items() if q}
    return {"frames": summary.frames, "seconds": round(summary.duration, 3), "wall_s": round(summary.wall_time, 3),
            "fps": round(summary.fps, 2), "realtime_factor": round(summary.realtime_factor, 3),
            "speech_frames": summary.speech_frames, "features_a2k_ms_per_utterance": round(plan_ms, 2),
            "stage_median_ms": stages}


def encode_case(sync, pcm: np.ndarray, out: Path) -> dict:
    """The baseline: the base frames the render would start from, with their audio, through the
    same file sink (copy and encode, no lip sync)."""
    from dhsdk.frames import VideoFrame
    from dhsdk.sinks.file import FileSink

    fps, t0 = sync.avatar.fps, time.perf_counter()
    n = max(1, int(round(len(pcm) / 16000 * fps)))
    with FileSink(out) as sink:
        for k in range(n):
            a, b = (int(round(j * 16000 / fps)) for j in (k, k + 1))
            image = np.array(sync.avatar.frame(sync.avatar.idle_index(k)), copy=True)
            sink.write(VideoFrame(image, np.pad(pcm[a:b], (0, b - a - len(pcm[a:b]))), 16000, k / fps, k))
    wall = time.perf_counter() - t0
    return {"frames": n, "wall_s": round(wall, 3), "realtime_factor": round(len(pcm) / 16000 / wall, 3)}


def memory_case(avatar, seconds: float, frames: int, out_dir: Path) -> dict:
    """Render a ``seconds``-long wav (the first ``frames`` frames; all when 0) to mp4; peak RSS."""
    import resource
    import wave

    from dhsdk.bench.live import rss_mb
    from dhsdk.pipeline.lipsync import LipSync
    from dhsdk.sinks.file import FileSink

    wav = out_dir / "long.wav"
    with wave.open(str(wav), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(16000)
        minute = (speech(60.0) * 32767).astype(np.int16).tobytes()
        for _ in range(int(seconds // 60)):
            w.writeframes(minute)
    sync = LipSync(avatar, mouth="warp", device="cpu")
    t0, along = time.perf_counter(), []
    with FileSink(out_dir / "long.mp4") as sink:
        for f in sync.speak(wav):
            sink.write(f)
            if f.index % 250 == 0:
                along.append([f.index, round(rss_mb(), 1)])
            if frames and f.index + 1 >= frames:
                break
    return {"bench": "render_memory", "audio_s": int(seconds // 60) * 60, "frames": f.index + 1,
            "wall_s": round(time.perf_counter() - t0, 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1), "rss_mb_by_frame": along}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--avatar", help="avatar bundle directory (default: the bundled avatar)")
    p.add_argument("--seconds", type=float, default=10.0, help="seconds of speech per case")
    p.add_argument("--sizes", default="720x1280,1080x1920", help="output sizes WxH, comma separated")
    p.add_argument("--mouths", default="warp,lite", help="warp and/or lite/full (random-weight UNets)")
    p.add_argument("--memory", type=float, default=0.0, metavar="S", help="only the memory case: S s of audio")
    p.add_argument("--memory-frames", type=int, default=0, metavar="N", help="render its first N frames (0: all)")
    args = p.parse_args()
    if args.memory:
        from dhsdk.bench.endtoend import load_avatar

        with tempfile.TemporaryDirectory(prefix="dhsdk-bench-memory-") as tmp:
            emit(memory_case(load_avatar(args.avatar)[0], args.memory, args.memory_frames, Path(tmp)))
        return

    from dhsdk.bench.endtoend import lipsync_factory, load_avatar
    from dhsdk.bench.stages import Context

    sizes = [_size(s) for s in args.sizes.split(",")]
    avatar, desc = load_avatar(args.avatar)
    avatar.preload(wait=True)
    pcm = speech(args.seconds)
    silence = np.zeros_like(pcm)
    with tempfile.TemporaryDirectory(prefix="dhsdk-bench-render-") as tmp:
        ctx = Context(device="cpu", size=sizes[0], workdir=Path(tmp))
        for mouth in args.mouths.split(","):
            for size in sizes:
                sync = lipsync_factory(ctx, avatar, mouth, size)()
                warm(sync)  # sessions, the fitted base frames and their crops: every case starts warm
                case = render_case(sync, pcm, size, Path(tmp) / "speech.mp4")
                idle = render_case(sync, silence, size, Path(tmp) / "idle.mp4")
                encode = encode_case(sync, pcm, Path(tmp) / "encode.mp4")
                emit({"bench": "render", "case": f"{mouth} {size[0]}x{size[1]}", "avatar": desc,
                      "avatar_size": [avatar.width, avatar.height], "mouth": mouth, "size": list(size),
                      "lipsync": case, "silence": idle, "baseline_encode_only": encode,
                      "lipsync_cost_ratio": round(encode["realtime_factor"] / case["realtime_factor"], 3),
                      "target_realtime_factor": 2.0 if (mouth, size) == ("warp", (720, 1280)) else None})


if __name__ == "__main__":
    main()
