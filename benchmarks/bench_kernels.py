"""Native image kernels vs the code a user would otherwise write, on a 1080x1920 portrait frame.

Cases (one JSON line each, medians from ``timing.interleaved``, ratios against the baselines):
  composite/S: dhsdk._C composite (mask alpha) vs the OpenCV sequence (warpAffine of crop and
    mask into the ROI + float blend + paste) vs plain numpy (bilinear gather + blend) vs a
    memcpy of the ROI bytes the composite touches;
  crop/S: fused crop + normalise (float32 NCHW) vs cv2.warpAffine + astype/normalise/transpose;
  i420: rgb_to_i420 vs cv2.cvtColor(COLOR_RGB2YUV_I420);
  batch/*: the *_batch entry points on 8 frames vs 8 single calls.
With ``--device cuda`` (CuPy arrays on the GPU): per-call GPU time from CUDA events around each
call and host time per call (the Python dispatch), via ``cupyx.profiler.benchmark``, for
composite/crop at 256 and 160, RGB->NV12 of the 1080x1920 frame, and their batched launches.
Baselines come from :mod:`dhsdk.bench.baselines` (shared with ``dhsdk bench``).
Run: ``python benchmarks/bench_kernels.py [--device cuda]``.
"""
from __future__ import annotations

import argparse

import numpy as np
from timing import emit, interleaved

from dhsdk import kernels
from dhsdk.bench.baselines import mouth_affine, numpy_composite, opencv_composite, opencv_crop

H, W = 1920, 1080


def bench_composite(rng, frame, size):
    crop = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
    mask = kernels.feather_mask(size, ellipse=(size / 2, size / 2, size / 2.5, size / 3.5), feather=size / 16)
    aff = mouth_affine(size)
    inv = np.linalg.inv(np.vstack([aff, [0, 0, 1]]))[:2]
    roi = kernels.composite(frame.copy(), crop, aff, mask)
    x0, y0, w, h = roi
    f1, f2, f3, f4 = (frame.copy() for _ in range(4))
    src = frame[y0:y0 + h, x0:x0 + w].copy()
    res = interleaved({
        "dhsdk": lambda: kernels.composite(f1, crop, aff, mask),
        "opencv": lambda: opencv_composite(f2, crop, mask, aff, roi),
        "numpy": lambda: numpy_composite(f3, crop, mask, inv, roi),
        "memcpy_roi": lambda: np.copyto(f4[y0:y0 + h, x0:x0 + w], src),
    }, rounds=5, repeat=20)
    d = res["dhsdk"]["median_ms"]
    emit({"case": f"composite/{size}", "roi": [int(v) for v in roi], "median_ms": {k: v["median_ms"] for k, v in res.items()},
          "speedup_vs_opencv": res["opencv"]["median_ms"] / d, "speedup_vs_numpy": res["numpy"]["median_ms"] / d,
          "ratio_to_memcpy": d / res["memcpy_roi"]["median_ms"]})


def bench_crop(frame, size):
    aff = mouth_affine(size)
    res = interleaved({"dhsdk": lambda: kernels.crop(frame, aff, size, out="f32", norm="pm1"),
                       "opencv": lambda: opencv_crop(frame, aff, size)},
                      rounds=5, repeat=20)
    emit({"case": f"crop/{size}", "median_ms": {k: v["median_ms"] for k, v in res.items()},
          "speedup_vs_opencv": res["opencv"]["median_ms"] / res["dhsdk"]["median_ms"]})


def bench_i420(frame):
    import cv2

    res = interleaved({"dhsdk": lambda: kernels.rgb_to_i420(frame),
                       "opencv": lambda: cv2.cvtColor(frame, cv2.COLOR_RGB2YUV_I420)}, rounds=5, repeat=10)
    emit({"case": "i420/1080x1920", "median_ms": {k: v["median_ms"] for k, v in res.items()},
          "speedup_vs_opencv": res["opencv"]["median_ms"] / res["dhsdk"]["median_ms"]})


def bench_batch(rng, frame, n: int = 8, size: int = 256):
    """composite_batch / crop_batch / rgb_to_nv12_batch on n frames vs n single calls."""
    frames = [frame.copy() for _ in range(n)]
    singles = [frame.copy() for _ in range(n)]
    crops = rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8)
    mask = kernels.feather_mask(size, ellipse=(size / 2, size / 2, size / 2.5, size / 3.5), feather=size / 16)
    affs = np.stack([mouth_affine(size)] * n)
    cases = {
        "composite": (lambda: kernels.composite_batch(frames, crops, affs, mask),
                      lambda: [kernels.composite(f, c, a, mask) for f, c, a in zip(singles, crops, affs)]),
        "crop": (lambda: kernels.crop_batch(frames, affs.astype(np.float32), size, out="f16"),
                 lambda: [kernels.crop(f, a, size, out="f16") for f, a in zip(singles, affs)]),
        "nv12": (lambda: kernels.rgb_to_nv12_batch(frames), lambda: [kernels.rgb_to_nv12(f) for f in singles]),
    }
    for name, (batch, single) in cases.items():
        res = interleaved({"batch": batch, "singles": single}, rounds=3, repeat=3)
        emit({"case": f"batch/{name}/{n}x{size if name != 'nv12' else '1080x1920'}",
              "median_ms": {k: v["median_ms"] for k, v in res.items()},
              "speedup_vs_singles": res["singles"]["median_ms"] / res["batch"]["median_ms"]})


def bench_cuda(rng, frame, n: int = 16) -> None:
    """GPU time per call (CUDA events around each call) and host time per call (dispatch)."""
    import cupy as cp
    from cupyx.profiler import benchmark

    d_frame = cp.asarray(frame)
    d_frames = cp.asarray(np.stack([frame] * n))

    def timed(case: str, fn, **extra):
        fn()
        r = benchmark(fn, n_repeat=200, n_warmup=20)
        emit({"case": case, "device": "cuda", "gpu_us": float(np.median(r.gpu_times[0]) * 1e6),
              "host_us": float(np.median(r.cpu_times) * 1e6), **extra})

    for size in (256, 160):
        crop = cp.asarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8))
        mask = cp.asarray(kernels.feather_mask(size, ellipse=(size / 2, size / 2, size / 2.5, size / 3.5),
                                               feather=size / 16))
        aff = mouth_affine(size)
        roi = kernels.composite(d_frame.copy(), crop, aff, mask)
        timed(f"cuda/composite/{size}", lambda: kernels.composite(d_frame, crop, aff, mask),
              roi=[int(v) for v in roi], roi_bytes=int(roi[2] * roi[3] * 3 * 2 + size * size * 7))
        timed(f"cuda/crop_f16/{size}", lambda: kernels.crop(d_frame, aff, size, out="f16", norm="pm1"),
              out_bytes=size * size * 3 * 2)
        crops = cp.asarray(rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8))
        affs = np.stack([aff] * n)
        timed(f"cuda/composite_batch/{n}x{size}", lambda: kernels.composite_batch(d_frames, crops, affs, mask))
        timed(f"cuda/crop_batch_f16/{n}x{size}",
              lambda: kernels.crop_batch(d_frames, affs.astype(np.float32), size, out="f16", norm="pm1"))
    timed("cuda/nv12/1080x1920", lambda: kernels.rgb_to_nv12(d_frame), bytes=H * W * 3 + H * W * 3 // 2)
    timed(f"cuda/nv12_batch/{n}x1080x1920", lambda: kernels.rgb_to_nv12_batch(d_frames))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    if args.device == "cuda":
        bench_cuda(rng, frame)
        return
    for size in (256, 160):
        bench_composite(rng, frame, size)
        bench_crop(frame, size)
    bench_i420(frame)
    bench_batch(rng, frame)


if __name__ == "__main__":
    main()
