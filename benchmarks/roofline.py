"""PROJECTION of GPU throughput per stage and per stream (roofline), next to CPU figures measured here.

Two projections, both labelled ``"kind": "PROJECTION"`` in the output:

1. ``stage`` / ``pipeline`` rows: each stage's roofline bound from the GPUs' spec sheets (below).
2. ``streams`` rows (``--streams-fps``): live streams one GPU could carry, from per-stage times
   *measured on the lent H200* (:data:`H200_MEASURED`, FACTS.md; or a ``dhsdk bench --device
   cuda`` result given with ``--measured``) scaled to each GPU by the resource that limits the
   stage (tensor FLOP/s for the UNet, memory bandwidth for the image kernels), at the batch the
   Scheduler forms from that many streams; the host's per-frame Python, measured on this
   machine's CPU path (``--host-ms``), is reported beside it, not hidden in it.

No GPU exists where this project is developed, so GPU numbers are *projections*, not
measurements: each stage's time is max(FLOPs / peak FLOP/s, bytes / memory bandwidth, launches x KERNEL_FLOOR_US) with
peaks from the vendors' spec sheets (GPUS below). That is an upper bound on speed: occupancy,
tactic choice, decode and the NVENC engine are ignored. Engines are given a
range: the low end uses the lower tensor peak and unfused activation traffic, the high end the
higher peak and perfectly fused traffic (see dhsdk/engines/cost.py). FLOPs and bytes come from
the ONNX graphs in dhsdk/assets/ (via the recipes in engines/) and, for the CUDA kernels, from
the bytes each kernel reads and writes per frame (KERNELS below). CPU figures are ONNX Runtime
medians measured in the same run on this machine.

    python benchmarks/roofline.py [--batch 8] [--frame 1080x1920] [--crop 256] [--png results/roofline.png]

One JSON line per (stage, device) and per pipeline, via benchmarks/timing.emit.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from timing import emit, measure

# Vendor spec-sheet peaks (dense, no sparsity).
GPUS = {
    "RTX 4070": {"tensor_tflops": (58.3, 116.6), "fp32_tflops": 29.1, "bandwidth_gbs": 504.2, "pcie_gbs": 31.5,
                 "source": "NVIDIA RTX 4070 spec / Ada whitepaper: FP16 tensor dense 58.3 (FP32 accumulate) - "
                           "116.6 (FP16 accumulate) TFLOPS, 504 GB/s GDDR6X, PCIe 4.0 x16"},
    "H100 SXM": {"tensor_tflops": (989.4, 989.4), "fp32_tflops": 66.9, "bandwidth_gbs": 3350.0, "pcie_gbs": 63.0,
                 "source": "NVIDIA H100 SXM5 datasheet: FP16 tensor dense 989 TFLOPS, 3.35 TB/s HBM3, PCIe 5.0 x16"},
}
AVATAR_FPS = 25.0
# The lent H200 (FACTS.md, 2026-12-04): dense fp16 tensor peak and HBM3e bandwidth from NVIDIA's
# H200 datasheet, and the mouth UNet measured there in PyTorch fp16 with CUDA-graph replay
# (ms per call at batch 1 and 32; interpolated linearly between).
H200 = {"tensor_tflops": 989.4, "bandwidth_gbs": 4800.0}
H200_MEASURED = {"inpaint_lite": {1: 0.116, 32: 0.50}, "inpaint_full": {1: 0.225, 32: 2.93}}
# ASSUMPTION, not a spec: the shortest time one CUDA kernel occupies the GPU end to end (launch
# from a CUDA graph, ramp-up, tail), ~2-5 us on current GPUs; 3 us is used. An engine runs about
# one kernel per Conv/MatMul (TensorRT fuses bias/activation/elementwise into them), its floor
# shared by the batch; the image kernels' launchers take one frame per call (crop: that frame's
# crops), so each frame pays its own launches.
KERNEL_FLOOR_US = 3.0


@dataclass(frozen=True)
class StageCost:
    """Per-frame cost of one stage."""

    name: str
    kind: str  # "engine" or "kernel"
    flops: float
    bytes_low: float  # optimistic traffic
    bytes_high: float  # conservative traffic
    floor_s: float  # launches per frame x KERNEL_FLOOR_US


# Kernels that are a mouth stage (an alternative to the inpainting engines), not post-processing.
MOUTH_KERNELS = ("warp",)


def kernel_costs(h: int, w: int, s: int) -> list[StageCost]:
    """Per-frame FLOPs/bytes of the CUDA kernels (``dhsdk._C.cuda_*``; mouth ROI about s x s
    frame pixels, RGB frames).

    crop (cuda_crop): reads the ROI (uint8 RGB), writes one fp16 NCHW crop; warp (cuda_warp, the
    default mouth): copies the uint8 crop to the output, then reads the crop and writes the
    mesh's box (half the crop .. all of it, plus the reference crop's mouth pixels); composite
    (cuda_composite): reads the fp16 crop, the float32 mask and the frame ROI, writes the ROI;
    rgb_to_nv12 (cuda_rgb_to_yuv): reads the RGB frame, writes 1.5 bytes per pixel. FLOPs: ~8
    per bilinear channel sample, ~10 per blended channel, ~12 per converted pixel, ~100 per
    warped pixel (triangle search + sample); all are memory-bound by two orders of magnitude.
    """
    roi, px, launch = s * s, h * w, KERNEL_FLOOR_US * 1e-6
    crop = StageCost("crop", "kernel", roi * 3 * 8, roi * 3 + roi * 3 * 2, roi * 3 + roi * 3 * 2, launch)
    warp = StageCost("warp", "kernel", roi * 100, roi * 3 * 2 + roi * 3, roi * 3 * 2 * 2 + roi * 3, 2 * launch)
    comp_bytes = roi * 3 * 2 + roi * 4 + roi * 3 * 2
    comp = StageCost("composite", "kernel", roi * 3 * 10, comp_bytes, comp_bytes, launch)
    nv12 = StageCost("rgb_to_nv12", "kernel", px * 12, px * 4.5, px * 4.5, launch)
    return [crop, warp, comp, nv12]


def engine_costs(batch: int, only: list[str] | None) -> tuple[list[StageCost], dict[str, Path]]:
    """Per-frame cost of every recipe's ONNX (cost at ``batch`` / batch); missing ONNX are skipped."""
    from dhsdk.engines.cost import onnx_cost
    from dhsdk.engines.recipes import all_recipes

    out, paths = [], {}
    for recipe in all_recipes():
        path = recipe.onnx_path()
        if only and recipe.name not in only:
            continue
        if not path.is_file():
            print(f"# {recipe.name}: {path} not found, stage skipped", file=sys.stderr)
            continue
        c = onnx_cost(path, batch=batch)
        out.append(StageCost(recipe.name, "engine", c.flops / batch, c.bytes_min / batch, c.bytes_unfused / batch,
                             c.heavy_nodes * KERNEL_FLOOR_US * 1e-6 / batch))
        paths[recipe.name] = path
    return out, paths


def project(stage: StageCost, gpu: dict) -> tuple[float, float]:
    """(slow, fast) seconds per frame on ``gpu``: roofline bounds."""
    bw = gpu["bandwidth_gbs"] * 1e9
    if stage.kind == "engine":
        lo_peak, hi_peak = (t * 1e12 for t in gpu["tensor_tflops"])
        return (max(stage.flops / lo_peak, stage.bytes_high / bw, stage.floor_s),
                max(stage.flops / hi_peak, stage.bytes_low / bw, stage.floor_s))
    t = max(stage.flops / (gpu["fp32_tflops"] * 1e12), stage.bytes_high / bw, stage.floor_s)
    return t, t


def bound(stage: StageCost, gpu: dict) -> str:
    """"compute", "memory" or "launch": which limit sets the conservative end."""
    peak = (gpu["tensor_tflops"][0] if stage.kind == "engine" else gpu["fp32_tflops"]) * 1e12
    times = {"compute": stage.flops / peak, "memory": stage.bytes_high / (gpu["bandwidth_gbs"] * 1e9),
             "launch": stage.floor_s}
    return max(times, key=times.get)


def unet_ms(measured: dict[int, float], batch: int) -> float:
    """ms per call at ``batch`` from per-call times measured at a few batches (linear between
    them, the nearest end's per-frame time beyond)."""
    pts = sorted(measured.items())
    if batch <= pts[0][0]:
        return pts[0][1]
    for (b0, t0), (b1, t1) in zip(pts, pts[1:]):
        if batch <= b1:
            return t0 + (t1 - t0) * (batch - b0) / (b1 - b0)
    return pts[-1][1] * batch / pts[-1][0]


def stream_projection(gpu: dict, mouth: str, streams: int, h: int, w: int, s: int,
                      measured: dict[str, dict[int, float]]) -> tuple[float, float]:
    """(slow, fast) GPU ms per frame of the whole frame path with ``streams`` streams batched per
    tick: the mouth UNet from its H200 time scaled by max(tensor, bandwidth) ratio (slow: the
    GPU's lower tensor peak; fast: its higher), plus the image kernels' roofline (base-frame
    copy, crop, composite, NV12: memory-bound) on ``gpu``."""
    per_frame_h200 = unet_ms(measured[mouth], streams) / streams
    ratio_bw = H200["bandwidth_gbs"] / gpu["bandwidth_gbs"]
    slow = per_frame_h200 * max(H200["tensor_tflops"] / gpu["tensor_tflops"][0], ratio_bw)
    fast = per_frame_h200 * max(H200["tensor_tflops"] / gpu["tensor_tflops"][1], ratio_bw)
    kernels = [k for k in kernel_costs(h, w, s) if k.name not in MOUTH_KERNELS]
    copy = 2 * h * w * 3 / (gpu["bandwidth_gbs"] * 1e9) * 1e3   # the base frame read and written
    post = copy + sum(project(k, gpu)[0] * 1e3 for k in kernels)
    return slow + post, fast + post


def streams_rows(fps: float, h: int, w: int, s: int, host_ms: float | None,
                 measured: dict[str, dict[int, float]]) -> list[dict]:
    """Per GPU and UNet mouth: the most streams whose frames the GPU renders at ``fps``."""
    rows = []
    for gpu_name, gpu in GPUS.items():
        for mouth in measured:
            held = {}
            for key, which in (("streams_low", 0), ("streams_high", 1)):
                n = 1
                while n < 4096 and (n + 1) * fps * stream_projection(gpu, mouth, n + 1, h, w, s, measured)[which] <= 1e3:
                    n += 1
                held[key] = n if fps * stream_projection(gpu, mouth, n, h, w, s, measured)[which] <= 1e3 else 0
            slow, fast = stream_projection(gpu, mouth, held["streams_low"] or 1, h, w, s, measured)
            rows.append({"bench": "roofline", "kind": "PROJECTION", "projection": "streams", "gpu": gpu_name,
                         "mouth": mouth, "fps": fps, "frame": f"{w}x{h}", **held,
                         "gpu_ms_per_frame": [slow, fast],
                         "host_ms_per_frame_one_core": host_ms,
                         "host_streams_per_core": int(1e3 / (host_ms * fps)) if host_ms else None,
                         "nvenc_sessions": 8 if gpu_name.startswith("RTX") else None,
                         "from": "UNet times measured on the lent H200 (FACTS.md) scaled by spec ratios; "
                                 "image kernels by roofline; not a measurement on this GPU"})
    return rows


def measure_cpu(paths: dict[str, Path]) -> dict[str, float]:
    """ONNX Runtime median ms per frame at batch 1 on this machine's CPU."""
    import numpy as np

    from dhsdk.engines.build import random_feeds
    from dhsdk.engines.recipes import load_recipe, onnx_inputs, profile_shapes
    from dhsdk.runtime.ort import OnnxrtRunner

    out = {}
    for name, path in paths.items():
        shapes = {k: v[0] for k, v in profile_shapes(load_recipe(name), onnx_inputs(path)).items()}
        with OnnxrtRunner(path) as runner:
            feeds = random_feeds(shapes, {k: np.dtype(v.dtype) for k, v in runner.inputs.items()})
            out[name] = measure(lambda: runner.infer(feeds), repeat=20, warmup=3)["median_ms"]
    return out


def plot(rows: list[dict], cpu_ms: dict[str, float], path: Path) -> None:
    """Bars of projected fps ranges per stage and GPU, with the CPU's measured fps."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from dhsdk.figures import save_png

    stages = sorted({r["stage"] for r in rows}, key=[r["stage"] for r in rows].index)
    fig, ax = plt.subplots(figsize=(10, 4.5))
    width = 0.8 / (len(GPUS) + 1)
    for g, gpu in enumerate(GPUS):
        lo = [next(r["fps_low"] for r in rows if r["stage"] == s and r["gpu"] == gpu) for s in stages]
        hi = [next(r["fps_high"] for r in rows if r["stage"] == s and r["gpu"] == gpu) for s in stages]
        xs = [i + g * width for i in range(len(stages))]
        ax.bar(xs, hi, width, alpha=0.35, color=f"C{g}")
        ax.bar(xs, lo, width, color=f"C{g}", label=f"{gpu} (projection: low-high)")
    cpu = [1e3 / cpu_ms[s] if s in cpu_ms else 0 for s in stages]
    ax.bar([i + len(GPUS) * width for i in range(len(stages))], cpu, width, color="grey", label="this CPU (measured)")
    ax.set_xticks([i + width for i in range(len(stages))], stages)
    ax.set_yscale("log")
    ax.set_ylabel("frames / s (one stage alone)")
    ax.set_title("PROJECTION: roofline upper bounds from spec sheets, not measurements")
    ax.legend(fontsize=8)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_png(fig, path, dpi=120)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=8, help="engine batch (streams served per tick)")
    p.add_argument("--frame", default="1080x1920", help="output frame WxH (portrait by default)")
    p.add_argument("--crop", type=int, default=256, help="mouth crop side S (px)")
    p.add_argument("--engines", nargs="*", help="only these recipes")
    p.add_argument("--png", type=Path, default=Path("results/roofline.png"))
    p.add_argument("--no-cpu", action="store_true", help="skip the CPU measurement")
    p.add_argument("--streams-fps", type=float, default=30.0, help="frame rate of the streams projection")
    p.add_argument("--streams-frame", default="720x1280", help="output WxH of the streams projection")
    p.add_argument("--host-ms", type=float, default=None,
                   help="host CPU ms per frame outside the kernels (the Scheduler's per-stream Python, "
                        "measured: dhsdk bench's tick_host_ms_p50 / streams)")
    p.add_argument("--only-streams", action="store_true", help="print the streams projection only")
    args = p.parse_args(argv)
    sw, sh = (int(v) for v in args.streams_frame.split("x"))
    for row in streams_rows(args.streams_fps, sh, sw, args.crop, args.host_ms, H200_MEASURED):
        emit(row, with_machine=False)
    if args.only_streams:
        return 0
    w, h = (int(v) for v in args.frame.split("x"))

    engines, paths = engine_costs(args.batch, args.engines)
    kernels = kernel_costs(h, w, args.crop)
    stages = engines + kernels
    post = [k.name for k in kernels if k.name not in MOUTH_KERNELS]
    cpu_ms = {} if args.no_cpu else measure_cpu(paths)
    rows = []
    for gpu_name, gpu in GPUS.items():
        per_frame = {}
        for st in stages:
            slow, fast = project(st, gpu)
            per_frame[st.name] = (slow, fast)
            row = {"bench": "roofline", "kind": "PROJECTION", "gpu": gpu_name, "stage": st.name, "batch": args.batch,
                   "flops_per_frame": st.flops, "bytes_per_frame": [st.bytes_low, st.bytes_high],
                   "fps_low": 1 / slow, "fps_high": 1 / fast,
                   "bound": bound(st, gpu),
                   "cpu_measured_fps": 1e3 / cpu_ms[st.name] if st.name in cpu_ms else None, "spec": gpu["source"]}
            rows.append(row)
            emit(row, with_machine=False)
        mouths = [e.name for e in engines if e.name.startswith("inpaint")] + list(MOUTH_KERNELS)
        a2k = ["a2k"] if "a2k" in per_frame else []
        for mouth in mouths:
            names = a2k + [mouth] + post
            slow = sum(per_frame[n][0] for n in names)
            fast = sum(per_frame[n][1] for n in names)
            download = h * w * 1.5 / (gpu["pcie_gbs"] * 1e9)  # NV12 to host when NVENC is not used
            emit({"bench": "roofline", "kind": "PROJECTION", "gpu": gpu_name, "pipeline": "+".join(names),
                  "batch": args.batch, "fps_low": 1 / slow, "fps_high": 1 / fast,
                  "streams_at_25fps_low": int(1 / slow // AVATAR_FPS), "streams_at_25fps_high": int(1 / fast // AVATAR_FPS),
                  "fps_low_with_pcie_download": 1 / (slow + download),
                  "note": f"upper bound: roofline + {KERNEL_FLOOR_US} us/kernel floor; ignores NVENC, decode, scheduling"}, with_machine=False)
    for name, ms in cpu_ms.items():
        emit({"bench": "roofline", "kind": "measured_cpu", "stage": name, "batch": 1, "median_ms": ms, "fps": 1e3 / ms})
    if rows:
        plot(rows, cpu_ms, args.png)
        print(f"# plot: {args.png}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
