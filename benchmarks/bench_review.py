"""Review speed on a 60 s 1080p talking-head clip (target: <= 30 s per clip on 2 cores), and
the time and peak memory of making an avatar from it.

The clip is generated once (the astronaut photo swaying, leaning and nodding as a 1080x1920
half-body presenter shot, face ~420 px, H.264 at 25 fps; tests/avatar/avatar_material.py) into
a temporary directory, or kept at ``--clip PATH`` and reused when it exists; clips longer than
20 s repeat the first 20 s (remuxed, not re-encoded), so ``--seconds 600`` makes ten minutes
quickly. Then:

- ``seconds_per_clip``: ``review_material`` end to end (probe, the one decode pass with
  tracking and measures, the checks), as ``dhsdk avatar review`` runs it;
- ``decode``: the decode pass alone (frames/s, ms/frame);
- ``mesh``, ``detect``, ``measures``: per-frame cost of each stage on 200 decoded frames
  (medians from the shared timing helper; the mesh in tracking mode, as the review runs it);
- ``create``: ``dhsdk avatar create`` in a child process: seconds, peak resident memory (the
  child's ``ru_maxrss``, so nothing this script holds counts) and the bundle's size on disk.

Prints one JSON line (``timing.emit``, machine facts attached).
``python benchmarks/bench_review.py [--clip PATH] [--seconds 60]``
"""
from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(Path(__file__).resolve().parent), str(ROOT), str(ROOT / "tests" / "avatar")]
from timing import emit  # noqa: E402

from dhsdk.bench.timing import summarize  # noqa: E402

SIZE = (1080, 1920)   # width, height: a vertical live-commerce shot
FPS = 25.0
FACE_PX = 420.0
TARGET_S = 30.0
SAMPLE = 200          # frames held in memory for the per-stage timings
SEGMENT_S = 20.0      # longer clips repeat this much footage


def make_clip(path: Path, seconds: float) -> Path:
    """Encode the talking-head clip (x264 veryfast, crf 20: fast to make, realistic to decode);
    beyond :data:`SEGMENT_S` its packets are repeated with shifted timestamps."""
    if seconds <= SEGMENT_S:
        return _encode(path, seconds)
    segment = _encode(path.with_name(path.stem + "_segment.mp4"), SEGMENT_S)
    _repeat(segment, path, int(round(seconds / SEGMENT_S)))
    segment.unlink()
    return path


def _repeat(source: Path, path: Path, times: int) -> None:
    """Write ``source``'s video packets ``times`` over into ``path``, one after another."""
    import av

    with av.open(str(source)) as src, av.open(str(path), "w") as dst:
        vin = src.streams.video[0]
        out = dst.add_stream_from_template(vin)
        packets = [p for p in src.demux(vin) if p.dts is not None]
        span = max(p.pts + (p.duration or 0) for p in packets) - min(p.pts for p in packets)
        for k in range(times):
            for p in packets:
                q = av.Packet(bytes(p))
                q.pts, q.dts, q.duration, q.time_base = p.pts + k * span, p.dts + k * span, p.duration, p.time_base
                q.is_keyframe = p.is_keyframe
                q.stream = out
                dst.mux(q)


def _encode(path: Path, seconds: float) -> Path:
    """Encode ``seconds`` of the swaying astronaut into ``path``."""
    import av

    import avatar_material as gen

    n = int(round(seconds * FPS))
    affines = gen.moving_affines(n, FPS, SIZE, face_px=FACE_PX)
    image = gen.astronaut()
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=int(FPS))
        s.width, s.height, s.pix_fmt = SIZE[0], SIZE[1], "yuv420p"
        s.options = {"crf": "20", "preset": "veryfast"}
        for a in affines:
            frame = av.VideoFrame.from_ndarray(gen.warp(image, a, SIZE), format="rgb24")
            for p in s.encode(frame):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


def per_frame_ms(fn, frames: list) -> dict:
    """Median etc. of ``fn(frame)`` over the frames, in order (tracking needs the order); the
    detector runs on every 12th frame in the review, the rest on every frame."""
    samples = []
    for f in frames:
        t0 = time.perf_counter()
        fn(f)
        samples.append((time.perf_counter() - t0) * 1e3)
    return summarize(samples[5:])   # the first calls build the graphs


def create_in_child(clip: Path, out: Path) -> dict:
    """``dhsdk avatar create`` in a child process: seconds, its peak RSS, the bundle's size."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "dhsdk.cli", "avatar", "create", str(clip), "-o", str(out), "--quiet"],
                   check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - t0
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss   # KiB on Linux
    return {"seconds": round(seconds, 1), "peak_rss_mb": round(peak_kb / 1024, 1),
            "bundle_mb": round(sum(f.stat().st_size for f in out.iterdir()) / 2 ** 20, 1)}


def main() -> None:
    from dhsdk.avatar.analyze import FrameMeasures, measure_frame
    from dhsdk.avatar.create import review_material
    from dhsdk.avatar.face import FaceDetector, FaceMesh478
    from dhsdk.avatar.material import open_material

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clip", type=Path, help="keep the generated clip here (reused when it exists)")
    p.add_argument("--seconds", type=float, default=60.0, help="clip length")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="dhsdk-bench-review-") as tmp:
        clip = args.clip or Path(tmp) / "talking_head_1080p.mp4"
        made = 0.0
        if not clip.is_file():
            t0 = time.perf_counter()
            make_clip(clip, args.seconds)
            made = time.perf_counter() - t0

        material = open_material(clip)
        t0 = time.perf_counter()
        sample = []
        for i, f in enumerate(material.frames(1920)):
            if i < SAMPLE:
                sample.append(f)
        decode_s = time.perf_counter() - t0
        frames = material.stats.decoded

        t0 = time.perf_counter()
        report, analysis = review_material(clip, show_progress=False)
        review_s = time.perf_counter() - t0

        with FaceMesh478(static=False) as mesh:
            mesh_ms = per_frame_ms(mesh.landmarks, sample)
        with FaceDetector() as det:
            detect_ms = per_frame_ms(det.detect, sample)
        with FaceMesh478(static=False) as mesh:
            points = [mesh.landmarks(f) for f in sample]
        m = FrameMeasures()
        measure_ms = per_frame_ms(lambda fp: measure_frame(fp[0], fp[1], m),
                                  list(zip(sample, points)))   # grey conversion, the face measures, the lips' colour
        del sample, points
        create = create_in_child(clip, Path(tmp) / "avatar")
        emit({"bench": "review", "clip": {"size": list(SIZE), "fps": FPS, "frames": frames, "seconds": frames / FPS,
                                          "face_px": FACE_PX, "generated_s": round(made, 1)},
              "seconds_per_clip": round(review_s, 2), "ms_per_frame": round(1e3 * review_s / frames, 2),
              "target_s": TARGET_S, "within_target": review_s <= TARGET_S,
              "decode": {"frames_per_s": round(frames / decode_s, 1), "ms_per_frame": round(1e3 * decode_s / frames, 2)},
              "mesh": mesh_ms, "detect": detect_ms, "measures": measure_ms, "create": create,
              "verdict": report.verdict, "analysis_seconds": round(analysis.seconds, 2)})


if __name__ == "__main__":
    main()
