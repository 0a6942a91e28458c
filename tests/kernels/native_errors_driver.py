"""Drive the error path of every function of a dhsdk._C build, in its own process.

Run as ``python native_errors_driver.py PATH_TO__C.so`` (or ``dhsdk`` for the installed
extension). torch is imported first when it is installed: torch loads a shared libstdc++ into the
process's global symbol scope, the condition under which a _C.so with a statically linked
libstdc++ got its ostream number formatting interposed (messages cut short, or a SIGSEGV with
the lent GPU machine's g++ 13.3). Prints one JSON line per case: the binding, the case, the
exception type and message; a crash shows as the process dying (the test reads the exit status).
"""
from __future__ import annotations

import importlib.util
import json
import sys

import numpy as np


def load(path: str):
    if path == "dhsdk":
        from dhsdk import _C

        return _C
    spec = importlib.util.spec_from_file_location("_C", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


U8 = np.zeros((6, 8, 3), np.uint8)
CROP = np.zeros((4, 4, 3), np.uint8)
AFF = np.array([[1.0, 0, 1], [0, 1, 1]])
MESH = dict(src_pts=np.zeros((3, 2), np.float32), dst_pts=np.zeros((3, 2), np.float32),
            tris=np.array([[0, 1, 2]], np.int32), n_mouth=0, lut=np.zeros((8, 2), np.float32),
            src_lut=np.zeros((8, 2), np.float32), ref_lut=np.zeros((8, 2), np.float32), dx_src=0.0, dx_ref=0.0,
            cx=4.0, half_w=2.0, gain=(1, 1, 1), offset=(0, 0, 0), cavity=(0, 0, 0), teeth=(1, 1, 1), key=(0, 0), teeth_h=1.0,
            soft=1.0)
IMG8 = np.zeros((8, 8, 3), np.uint8)


def warp_args(**change):
    kw = dict(MESH, **change)
    return [kw[k] for k in MESH]


def dev(shape, dtype=np.uint8, ptr=0x1000):
    """A device-array tuple over a fake pointer: the checks reject the shapes before any launch."""
    return (ptr, tuple(shape), np.dtype(dtype), False)


# binding -> [(case, call(m), expected exception type name, regex the message must match)]. The
# messages carry numbers (shapes, values): exactly what broken number formatting loses.
CASES = {
    "composite": [
        ("2-d frame", lambda m: m.composite(U8[..., 0], CROP, AFF), "ValueError",
         r"frame must be H x W x 3 or H x W x 4, got shape \(6, 8\)$"),
        ("float frame", lambda m: m.composite(U8.astype(np.float32), CROP, AFF), "ValueError",
         r"frame must be uint8, got dtype float32$"),
        ("strided frame", lambda m: m.composite(np.zeros((6, 16, 3), np.uint8)[:, ::2], CROP, AFF), "ValueError",
         r"frame must be C-contiguous .*shape \(6, 8, 3\)$"),
        ("non-square crop", lambda m: m.composite(U8, CROP[:3], AFF), "ValueError",
         r"crop must be S x S x 3 with S >= 1, got shape \(3, 4, 3\)$"),
        ("int32 crop", lambda m: m.composite(U8, CROP.astype(np.int32), AFF), "ValueError",
         r"crop must be uint8, float32 or float16, got dtype int32$"),
        ("singular affine", lambda m: m.composite(U8, CROP, np.zeros((2, 3))), "ValueError",
         r"affine is singular \(det 0\)$"),
        ("off frame", lambda m: m.composite(U8, CROP, AFF + [[0, 0, 100], [0, 0, 0]]), "ValueError",
         r"maps no pixel of the crop \(4, 4, 3\) onto the frame \(6, 8, 3\) \(crop spans x 100.5\.\.104\.5, "
         r"y 0\.5\.\.4\.5\)$"),
        ("bad mask", lambda m: m.composite(U8, CROP, AFF, np.zeros((3, 3), np.float32), 1), "ValueError",
         r"mask must be S x S = \(4, 4\) float32, got shape \(3, 3\) float32$"),
        ("ellipse radii", lambda m: m.composite(U8, CROP, AFF, None, 2, (1.0, 1.0, -2.5, 1.0, 0.0)), "ValueError",
         r"ellipse radii must be > 0, got -2\.5, 1$"),
        ("wrong type", lambda m: m.composite("frame", CROP, AFF), "TypeError", r"incompatible function arguments"),
    ],
    "composite_batch": [
        ("count", lambda m: m.composite_batch([U8.copy(), U8.copy()], [CROP], np.stack([AFF, AFF])), "ValueError",
         r"crops must hold 2 items, got 1$"),
        ("item shape", lambda m: m.composite_batch([U8.copy(), U8[:, :, :2].copy()], [CROP, CROP],
                                                   np.stack([AFF, AFF])), "ValueError",
         r"frames\[1\] must be H x W x 3 or H x W x 4, got shape \(6, 8, 2\)$"),
        ("affines", lambda m: m.composite_batch([U8.copy()], [CROP], AFF[None, :1]), "ValueError",
         r"affines must be \(N, 2, 3\) = \(1, 2, 3\) crop -> frame, got shape \(1, 1, 3\)$"),
    ],
    "crop": [
        ("affines", lambda m: m.crop(U8, np.zeros((2, 3, 3), np.float32), 4), "ValueError",
         r"affines must be \(B, 2, 3\) float32 crop -> frame with B >= 1, got shape \(2, 3, 3\)$"),
        ("size", lambda m: m.crop(U8, AFF[None], -3), "ValueError", r"size must be >= 1, got -3$"),
        ("std", lambda m: m.crop(U8, AFF[None], 4, 1, True, (0, 0, 0), (1.0, 0.0, 1.0)), "ValueError",
         r"std must be non-zero, got 0 for channel 1$"),
        ("out_type", lambda m: m.crop(U8, AFF[None], 4, 7), "ValueError", r"out_type must be .*, got 7$"),
    ],
    "crop_batch": [
        ("affines", lambda m: m.crop_batch([U8, U8], np.zeros((3, 2, 3), np.float32), 4), "ValueError",
         r"affines must be \(N, 2, 3\) float32 crop -> frame, one per frame, got shape \(3, 2, 3\)$"),
        ("not a list", lambda m: m.crop_batch(U8, np.zeros((1, 2, 3), np.float32), 4), "ValueError",
         r"frames must be a list of per-frame arrays, got numpy.ndarray$"),
    ],
    "rgb_to_yuv": [
        ("odd", lambda m: m.rgb_to_yuv(np.zeros((3, 4, 3), np.uint8)), "ValueError",
         r"frame height and width must be even for 4:2:0, got shape \(3, 4, 3\)$"),
        ("standard", lambda m: m.rgb_to_yuv(U8, False, False, 2020), "ValueError",
         r"standard must be 601 or 709, got 2020$"),
    ],
    "rgb_to_yuv_batch": [
        ("empty", lambda m: m.rgb_to_yuv_batch([]), "ValueError", r"frames must hold at least 1 items, got 0$"),
        ("item", lambda m: m.rgb_to_yuv_batch([U8, np.zeros((5, 4, 3), np.uint8)]), "ValueError",
         r"frames\[1\] height and width must be even for 4:2:0, got shape \(5, 4, 3\)$"),
    ],
    "shape_mask": [
        ("size", lambda m: m.shape_mask(0, 2, (1.0, 1.0, 1.0, 1.0, 0.0)), "ValueError", r"size must be >= 1, got 0$"),
        ("polygon", lambda m: m.shape_mask(8, 3, (), np.zeros((2, 2), np.float32)), "ValueError",
         r"polygon must be \(N, 2\) float32 with N >= 3, got \(2, 2\) float32$"),
    ],
    "warp": [
        ("src", lambda m: m.warp(IMG8[:, :7], IMG8, *warp_args()), "ValueError",
         r"src must be S x S x 3 = \(8, 8, 3\), got shape \(8, 7, 3\)$"),
        ("tris", lambda m: m.warp(IMG8, IMG8, *warp_args(tris=np.array([[0, 1, 9]], np.int32))), "ValueError",
         r"tris: vertex id 9 outside \[0, 3\)$"),
        ("nan", lambda m: m.warp(IMG8, IMG8, *warp_args(lut=np.full((8, 2), np.nan, np.float32))), "ValueError",
         r"lut contains NaN or inf \(element 0\)$"),
        ("soft", lambda m: m.warp(IMG8, IMG8, *warp_args(soft=-0.5)), "ValueError",
         r"half_w and soft must be > 0 and teeth_h >= 0, got 2, -0\.5, 1$"),
    ],
    # CUDA launchers (when compiled in): shapes are checked before anything touches a device.
    "cuda_composite": [
        ("crop", lambda m: m.cuda_composite(dev(U8.shape), dev((3, 4, 3)), AFF, None, 0, (), None, 0.0, 0),
         "ValueError", r"crop must be S x S x 3 with S >= 1, got shape \(3, 4, 3\)$"),
    ],
    "cuda_composite_batch": [
        ("frame", lambda m: m.cuda_composite_batch([dev((6, 8, 5))], [dev((4, 4, 3))], AFF[None], None, 0),
         "ValueError", r"frames\[0\] must be H x W x 3 or H x W x 4, got shape \(6, 8, 5\)$"),
    ],
    "cuda_crop": [
        ("out", lambda m: m.cuda_crop(dev(U8.shape), np.zeros((1, 2, 3), np.float32), 4, dev((1, 4, 4, 3)), 1, True,
                                      (0, 0, 0), (1, 1, 1), 0, 0.0, None, 0), "ValueError",
         r"out must be \(1, 3, 4, 4\) float32, got \(1, 4, 4, 3\) uint8$"),
    ],
    "cuda_crop_batch": [
        ("affines", lambda m: m.cuda_crop_batch([dev(U8.shape)], np.zeros((2, 2, 3), np.float32), 4,
                                                dev((1, 4, 4, 3)), 0, True, (0, 0, 0), (1, 1, 1), 0, 0.0, None, 0),
         "ValueError", r"affines must be \(N, 2, 3\) float32 crop -> frame, one per frame, got shape \(2, 2, 3\)$"),
    ],
    "cuda_rgb_to_yuv": [
        ("null", lambda m: m.cuda_rgb_to_yuv(dev(U8.shape, ptr=0), dev((9, 8)), False, False, 601, 0), "ValueError",
         r"frame is a null device pointer \(shape \(6, 8, 3\)\)$"),
    ],
    "cuda_rgb_to_yuv_batch": [
        ("outs", lambda m: m.cuda_rgb_to_yuv_batch([dev(U8.shape)], [dev((8, 8))], False, False, 601, 0),
         "ValueError", r"out must be \(9, 8\) uint8, got \(8, 8\) uint8$"),
    ],
    "cuda_warp": [
        ("scratch", lambda m: m.cuda_warp(1, 1, 1, 8, *warp_args(), 1, 3, 0), "ValueError",
         r"scratch must hold at least \d+ bytes for this mesh, got 3$"),
    ],
}
# Functions with no error path to drive.
NO_ERRORS = {"build_info", "cuda_query"}


def main() -> None:
    try:
        import torch  # noqa: F401 - puts a shared libstdc++ into the global symbol scope
    except ImportError:
        pass
    m = load(sys.argv[1])
    targets = [("", m), ("emulated.", getattr(m, "emulated", None))]
    names = sorted(f"{p}{n}" for p, mod in targets if mod for n in dir(mod)
                   if not n.startswith("_") and callable(getattr(mod, n)) and n not in NO_ERRORS)
    print(json.dumps({"functions": names}), flush=True)
    for prefix, mod in targets:
        for name, cases in CASES.items():
            if mod is None or not hasattr(mod, name):
                continue
            for case, call, _, _ in cases:
                try:
                    call(mod)
                    raised, message = None, ""
                except Exception as e:  # noqa: BLE001 - every outcome is reported to the test
                    raised, message = type(e).__name__, str(e)
                print(json.dumps({"function": prefix + name, "case": case, "raised": raised, "message": message}),
                      flush=True)


if __name__ == "__main__":
    main()
