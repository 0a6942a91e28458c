"""Native image kernels vs the code a user would otherwise write, on a 1080x1920 portrait frame.

Cases (one JSON line each, medians from ``timing.interleaved``, ratios against the baselines):
  composite/S: dhsdk._C composite (mask alpha) vs the OpenCV sequence (warpAffine of crop and
    mask into the ROI + float blend + paste) vs plain numpy (bilinear gather + blend) vs a
    memcpy of the ROI bytes the composite touches;
  crop/S: fused crop + normalise (float32 NCHW) vs cv2.warpAffine + astype/normalise/transpose;
  i420: rgb_to_i420 vs cv2.cvtColor(COLOR_RGB2YUV_I420).
Baselines come from :mod:`dhsdk.bench.baselines` (shared with ``dhsdk bench``).
Run: ``python benchmarks/bench_kernels.py``.
"""
from __future__ import annotations

import cv2
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
    res = interleaved({"dhsdk": lambda: kernels.rgb_to_i420(frame),
                       "opencv": lambda: cv2.cvtColor(frame, cv2.COLOR_RGB2YUV_I420)}, rounds=5, repeat=10)
    emit({"case": "i420/1080x1920", "median_ms": {k: v["median_ms"] for k, v in res.items()},
          "speedup_vs_opencv": res["opencv"]["median_ms"] / res["dhsdk"]["median_ms"]})


def main() -> None:
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    for size in (256, 160):
        bench_composite(rng, frame, size)
        bench_crop(frame, size)
    bench_i420(frame)


if __name__ == "__main__":
    main()
