"""Live pipeline benchmark: audio-in -> frame-out latency, concurrent streams, soak.

Cases (one JSON line each, through ``timing.emit``):

- ``latency``: one real-time Stream fed speech in 20 ms chunks at real time; latency p50/p95/p99
  (push of a sample -> the frame carrying it is emitted) and per-stage times, against the
  floor the design allows (a2k look-ahead + one frame).
- ``capacity``: one Stream with ``realtime=False``: frames/s the machine renders for one stream
  (the baseline the concurrency case is compared to).
- ``concurrent``: N real-time streams on one Scheduler for N = 1, 2, ...; late and repeated
  fractions per stream, aggregate fps; ``max_streams`` = largest N whose every stream holds
  the fps with < 1 % late or repeated frames; ``scaling`` = aggregate fps / single-stream fps.
- ``soak``: one stream for ``--soak`` seconds; RSS and latency p95 per window and their growth.
- ``processes`` (``--compare-processes N``, instead of the cases above): N streams on a Scheduler
  rendering in 1 process and in K worker processes (``--processes 1,2``), alternated
  ``--rounds`` times in the same run; late fraction, latency p95 and CPU time per frame (the
  process and its workers) per K, and the medians per K.

The latency/capacity/concurrency cases live in :mod:`dhsdk.bench.live` (shared with
``dhsdk bench``). A PNG (``--plot``) shows the latency distribution, late fraction vs N, and the soak windows.
Usage: ``python benchmarks/bench_live.py [--mouth warp] [--size 720x1280] [--seconds 10] [--soak 120] [--plot live.png]``
or ``python benchmarks/bench_live.py --compare-processes 8 --processes 1,2 --rounds 2``
"""
from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from timing import emit  # noqa: E402

from dhsdk.bench.live import case_capacity, case_concurrent, case_latency, feed, rss_mb, speech  # noqa: E402


def case_soak(make, seconds: float, window: float) -> dict:
    from dhsdk.pipeline.stream import Stream

    stop = threading.Event()
    rows = []
    with Stream(make(), realtime=True, pull=False) as s:
        feed(s, speech(seconds), stop)
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            time.sleep(window)
            lat = list(s.metrics.latency_ms)[-int(window * s.fps):]
            rows.append({"t": time.perf_counter() - t0, "rss_mb": rss_mb(),
                         "latency_p95_ms": float(np.percentile(lat, 95)) if lat else float("nan"),
                         "late": s.metrics.late, "frames": s.metrics.frames})
        stop.set()
    half = len(rows) // 2
    first = rows[1:half + 1] or rows  # the first window includes warm-up
    last = rows[half:] or rows
    return {"case": "soak", "seconds": seconds, "windows": rows,
            "rss_growth_mb": last[-1]["rss_mb"] - first[0]["rss_mb"],
            "latency_p95_growth_ms": float(np.nanmean([r["latency_p95_ms"] for r in last])
                                           - np.nanmean([r["latency_p95_ms"] for r in first]))}


def plot(path: str, lat: list[float], conc: list[dict], soak: dict | None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from dhsdk.figures import save_png

    fig, ax = plt.subplots(1, 3, figsize=(15, 4))
    ax[0].hist(lat, bins=40)
    for p in (50, 95, 99):
        ax[0].axvline(np.percentile(lat, p), ls="--", color="k")
    ax[0].axvline(200, color="r", label="target p95 200 ms")
    ax[0].set(title="audio-in -> frame-out latency", xlabel="ms", ylabel="frames")
    ax[0].legend()
    ns = [c["streams"] for c in conc]
    ax[1].plot(ns, [100 * c["late_frac_max"] for c in conc], "o-", label="worst stream late %")
    ax[1].axhline(1.0, color="r", ls="--", label="1 %")
    ax2 = ax[1].twinx()
    ax2.plot(ns, [c["rendered_fps"] for c in conc], "s-g", label="rendered fps (all)")
    ax[1].set(title="concurrent streams", xlabel="N streams", ylabel="late %")
    ax[1].legend(loc="upper left")
    ax2.legend(loc="lower right")
    if soak:
        t = [r["t"] for r in soak["windows"]]
        ax[2].plot(t, [r["latency_p95_ms"] for r in soak["windows"]], "o-", label="latency p95 ms")
        ax3 = ax[2].twinx()
        ax3.plot(t, [r["rss_mb"] for r in soak["windows"]], "s-m", label="RSS MB")
        ax[2].set(title="soak", xlabel="s")
        ax[2].legend(loc="upper left")
        ax3.legend(loc="lower right")
    save_png(fig, path, dpi=90)


def case_processes(make, n: int, seconds: float, counts: list[int], rounds: int) -> list[dict]:
    """N streams with each worker-process count in ``counts``, alternated ``rounds`` times."""
    rows = []
    for r in range(rounds):
        for k in counts:
            row = case_concurrent(make, n, seconds, processes=k)
            rows.append({**row, "round": r})
            emit({**row, "round": r}, with_machine=False)
    summary = {"case": "processes", "streams": n}
    for k in counts:
        mine = [x for x in rows if x["processes"] == k]
        summary[f"k{k}"] = {key: float(np.median([x[key] for x in mine]))
                            for key in ("late_frac_max", "latency_p95_ms_max", "cpu_ms_per_frame", "rendered_fps")}
    return [summary]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--avatar", default="default")
    ap.add_argument("--mouth", default="warp", choices=["warp", "unet", "auto"])
    ap.add_argument("--size", default="720x1280", help="output WIDTHxHEIGHT (the avatar's frames fitted once)")
    ap.add_argument("--seconds", type=float, default=10.0, help="speech per latency/concurrency case")
    ap.add_argument("--max-streams", type=int, default=6)
    ap.add_argument("--soak", type=float, default=120.0, help="soak seconds (0: skip)")
    ap.add_argument("--plot", default="bench_live.png")
    ap.add_argument("--compare-processes", type=int, default=0, metavar="N",
                    help="only compare render worker process counts at N streams")
    ap.add_argument("--processes", default="1,2", help="process counts for --compare-processes")
    ap.add_argument("--rounds", type=int, default=2, help="alternations for --compare-processes")
    args = ap.parse_args()

    from dhsdk.avatar import Avatar
    from dhsdk.pipeline.lipsync import LipSync

    avatar = Avatar.default() if args.avatar == "default" else Avatar.load(args.avatar)
    size = tuple(int(v) for v in args.size.lower().split("x"))

    def make():
        return LipSync(avatar, mouth=args.mouth, device="cpu", size=size)

    if args.compare_processes:
        for row in case_processes(make, args.compare_processes, args.seconds,
                                  [int(v) for v in args.processes.split(",")], args.rounds):
            emit({**row, "mouth": args.mouth, "size": list(size)})
        return 0

    lat = case_latency(make, args.seconds)
    samples = lat.pop("latency_samples_ms")
    lat.pop("frame_samples_ms")
    emit({**lat, "mouth": args.mouth, "target_p95_ms": 200, "meets_target": lat["latency_p95_ms"] <= 200})
    cap = case_capacity(make, 100)
    emit({**cap, "mouth": args.mouth})
    conc = []
    for n in range(1, args.max_streams + 1):
        row = case_concurrent(make, n, args.seconds)
        row["scaling"] = row["rendered_fps"] / max(conc[0]["rendered_fps"] if conc else row["rendered_fps"], 1e-9)
        conc.append(row)
        emit({**row, "mouth": args.mouth}, with_machine=False)
        if not row["ok"]:
            break
    ok = [c["streams"] for c in conc if c["ok"]]
    emit({"case": "max_streams", "mouth": args.mouth, "max_streams": max(ok) if ok else 0,
          "single_stream_capacity_fps": cap["fps"]}, with_machine=False)
    soak = case_soak(make, args.soak, max(5.0, args.soak / 12)) if args.soak > 0 else None
    if soak:
        emit({**soak, "mouth": args.mouth}, with_machine=False)
    plot(args.plot, samples, conc, soak)
    print(f"plot: {args.plot}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
