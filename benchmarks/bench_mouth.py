"""Mouth-stage speed: median ms per frame on the CPU for each renderer, against the baseline a
user would otherwise pick, in the same run.

Case groups (a list; each group brings its own baseline):

* ``warp``: the weights-free warp renderer (``WarpRenderer.render``: controls, mesh, inner
  mouth, colour match, one native pass) and its bare kernel (``dhsdk._C.warp``) at 256 x 256
  and 160 x 160, vs the piecewise-affine warp a user would write: OpenCV, one
  ``cv2.warpAffine`` + masked copy per triangle of the same mesh, and scikit-image's
  ``PiecewiseAffineTransform`` + ``warp`` (both geometry only: no inner mouth, no colour
  match). Target: renderer <= 2 ms at 256 x 256 on 2 cores.
* ``unet``: lite and full inpainting UNets through ``UNetRenderer`` and bare (ONNX Runtime,
  eager torch), vs a Wav2Lip-sized generator (~7.9 GFLOPs at 96 x 96, random weights, same
  runtime), built by :func:`dhsdk.bench.mouth.unet_cases` (shared with ``dhsdk bench``).
  Target: lite <= 5 ms/frame. Needs torch.

``python benchmarks/bench_mouth.py [--only warp|unet]``
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from timing import emit, interleaved  # noqa: E402

# cases, GFLOPs per case (may be empty), the baseline case each case is compared with
Group = tuple[dict[str, Callable[[], Any]], dict[str, float], dict[str, str]]


def _opencv_piecewise(img: np.ndarray, src: np.ndarray, dst: np.ndarray, tris: np.ndarray) -> np.ndarray:
    """The usual OpenCV piecewise-affine warp: per triangle, warp its bounding box with the
    triangle's affine and copy the pixels inside the destination triangle."""
    import cv2

    out = img.copy()
    for t in tris:
        d, s = dst[t].astype(np.float32), src[t].astype(np.float32)
        x, y, w, h = cv2.boundingRect(d)
        if w == 0 or h == 0:
            continue
        local = (d - np.float32([x, y])).astype(np.float32)
        m = cv2.getAffineTransform(local, s)               # destination box pixel -> source
        patch = cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                               borderMode=cv2.BORDER_REPLICATE)
        mask = np.zeros((h, w), np.uint8)
        cv2.fillConvexPoly(mask, np.rint(local).astype(np.int32), 1)
        roi = out[y:y + h, x:x + w]
        np.copyto(roi, patch[: roi.shape[0], : roi.shape[1]], where=mask[: roi.shape[0], : roi.shape[1], None] > 0)
    return out


def warp_group(workdir: Path) -> Group:
    """Warp renderer and kernel at 256 and 160 vs OpenCV / scikit-image piecewise-affine warps."""
    from skimage.transform import PiecewiseAffineTransform, warp

    from dhsdk import _C, kernels
    from dhsdk.bench.synthetic import SyntheticAvatar
    from dhsdk.geometry import apply_affine
    from dhsdk.render.warp import WarpRenderer

    avatar = SyntheticAvatar(720, 1280, frames=4)
    cases: dict[str, Callable[[], Any]] = {}
    for size in (256, 160):
        renderer = WarpRenderer.from_avatar(avatar, size=size)
        crop = kernels.crop(np.ascontiguousarray(avatar.frame(0)), avatar.crop_affine(size)[:1], size)[0]
        src = apply_affine(avatar.canonical_to_crop(size), avatar.neutral_lips).astype(np.float32)
        dst = src.copy()
        dst[1:10, 1] += 0.06 * size                      # jaw open: lower lip down
        dst[21:30, 1] += 0.08 * size
        args = renderer.kernel_args(crop, src, dst)
        vs, vd, tris = args[2], args[3], args[4]
        pwa = PiecewiseAffineTransform.from_estimate(vd.astype(np.float64), vs.astype(np.float64))  # out -> in
        cases[f"warp renderer {size}"] = lambda r=renderer, c=crop, s=src, d=dst: r.render(c, s, d)
        cases[f"warp kernel {size}"] = lambda a=args: _C.warp(*a)
        cases[f"opencv per-triangle {size}"] = lambda c=crop, s=vs, d=vd, t=tris: _opencv_piecewise(c, s, d, t)
        cases[f"skimage piecewise {size}"] = lambda c=crop, p=pwa: warp(c, p, order=1, preserve_range=True)
    return cases, {}, {name: f"opencv per-triangle {name.rsplit(' ', 1)[1]}" for name in cases}


def unet_group(workdir: Path) -> Group:
    """Lite/full UNets vs the Wav2Lip-sized generator (needs torch)."""
    import torch

    from dhsdk.bench.mouth import unet_cases

    torch.set_num_threads(2)
    cases, gflops = unet_cases(workdir)
    return cases, gflops, {name: "wav2lip-sized ort" for name in cases}


CASES: list[Callable[[Path], Group]] = [warp_group, unet_group]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["warp", "unet"], help="run one case group")
    args = parser.parse_args()
    first = True
    with tempfile.TemporaryDirectory() as tmp:
        for build in CASES:
            group = build.__name__.removesuffix("_group")
            if args.only and group != args.only:
                continue
            cases, gflops, baselines = build(Path(tmp))
            results = interleaved(cases, rounds=3, repeat=8, warmup=2)
            for name, res in results.items():
                base = baselines[name]
                emit({"bench": "mouth", "group": group, "case": name, **res,
                      **({"gflops": round(gflops[name], 3)} if name in gflops else {}),
                      "baseline": base, "speedup_vs_baseline": results[base]["median_ms"] / res["median_ms"]},
                     with_machine=first)
                first = False

if __name__ == "__main__":
    main()
