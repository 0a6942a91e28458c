"""``dhsdk doctor --gpu``: prove the GPU path on the user's GPU against the CPU reference.

Every CUDA kernel binding in ``dhsdk._C`` (``cuda_*``) is run through its facade
(:mod:`dhsdk.kernels`, :class:`dhsdk.render.warp.WarpRenderer`) with CuPy inputs and compared
with the same call on numpy (the CPU path, which the test suite checks against float64
references); every engine recipe whose ONNX exists is built (or taken from the cache) and
compared with ONNX Runtime; NVENC encodes a second of video that is decoded back. Each line
says PASS/FAIL with the max error and the tolerance. Where there is no GPU it says which pieces
are missing and how to install them, and fails (the user asked for the GPU).
"""
from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any, Callable

import numpy as np

Print = Callable[[str], None]


@dataclass(frozen=True)
class Outcome:
    """One self-test line.

    Attributes:
        name: what was checked (``cuda_composite``, ``engine a2k``).
        passed: True/False, or None when it could not run (then ``detail`` says why).
        max_error: largest absolute difference from the CPU reference.
        tolerance: allowed max error (and why, in the check that sets it).
        detail: extra information or the error.
    """

    name: str
    passed: bool | None
    max_error: float | None = None
    tolerance: float | None = None
    detail: str = ""

    def line(self) -> str:
        """``PASS  cuda_crop  max |error| 3e-07 (tolerance 1e-04)``."""
        mark = {True: "PASS", False: "FAIL", None: "SKIP"}[self.passed]
        err = f"  max |error| {self.max_error:.3g} (tolerance {self.tolerance:.1g})" if self.max_error is not None else ""
        return f"{mark}  {self.name}{err}{'  ' + self.detail if self.detail else ''}"


def _frame(rng: np.random.Generator, h: int = 270, w: int = 480) -> np.ndarray:
    """A smooth RGB test frame (gradients + noise), uint8 (h, w, 3)."""
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([xx * 255 / w, yy * 255 / h, (xx + yy) * 127 / (w + h)], -1)
    return np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)


def _affine(scale: float, angle: float, tx: float, ty: float) -> np.ndarray:
    c, s = np.cos(angle) * scale, np.sin(angle) * scale
    return np.array([[c, -s, tx], [s, c, ty]], np.float32)


# A case: (cpu result, gpu result as numpy, tolerance). Each check runs one facade function on
# numpy and on CuPy inputs (the crop and mask uploaded, affines and polygons as host values) in a
# few configurations. Tolerances: uint8 outputs may differ by one level (the device contracts
# a*b+c into FMAs, which can move a value across a .5 rounding boundary); float32 by a few ulp of
# values in [-3, 3]; float16 by one half-precision ulp at |v| < 1 (2^-11, doubled).
Case = tuple[np.ndarray, np.ndarray, float]
Check = Callable[[ModuleType, ModuleType], dict[str, Case]]


def _check_composite(cp: ModuleType, k: ModuleType) -> dict[str, Case]:
    rng = np.random.default_rng(1)
    frame, rgba = _frame(rng), np.concatenate([_frame(rng), np.full((270, 480, 1), 200, np.uint8)], -1)
    crop = _frame(rng, 64, 64)
    polygon = np.array([[4, 10], [60, 6], [52, 58], [30, 40], [8, 54]], np.float32)
    cases = {
        "mask/u8": (frame, crop, {"mask": np.ones((64, 64), np.float32)}),
        "ellipse/f16/rgba": (rgba, (crop / 255.0).astype(np.float16), {"ellipse": (32, 34, 24, 16, 0.3), "feather": 6}),
        "polygon/f32": (frame, (crop / 255.0).astype(np.float32), {"polygon": polygon, "feather": 3}),
    }
    affine = _affine(1.6, 0.2, 150.0, 60.0)
    out = {}
    for name, (f, c, kw) in cases.items():
        cpu = f.copy()
        _, cpu_yuv = k.composite(cpu, c, affine, out_yuv="nv12", **kw)
        gpu = cp.asarray(f)
        kw = {key: cp.asarray(v) if key == "mask" else v for key, v in kw.items()}
        _, gpu_yuv = k.composite(gpu, cp.asarray(c), affine, out_yuv="nv12", **kw)
        out[name] = (cpu, cp.asnumpy(gpu), 1.0)
        out[name + "+nv12"] = (cpu_yuv, cp.asnumpy(gpu_yuv), 1.0)
    return out


def _check_crop(cp: ModuleType, k: ModuleType) -> dict[str, Case]:
    frame = _frame(np.random.default_rng(2))
    # The first affine reaches past the frame's left edge: the constant border runs too.
    affines = np.stack([_affine(1.5, a, 120.0 + 160 * i - 150, 50.0) for i, a in enumerate((0.3, 0.0, -0.4))])
    mask = (np.random.default_rng(3).random((64, 64)) > 0.8).astype(np.float32)
    cases = {"f32/nchw": ({"out": "f32"}, 1e-4),
             "f16/nhwc/pm1/mask": ({"out": "f16", "layout": "nhwc", "norm": "pm1", "mask": mask}, 1e-3),
             "u8/replicate": ({"out": "u8", "border": "replicate"}, 1.0)}
    out = {}
    for name, (kw, tol) in cases.items():
        cpu = np.asarray(k.crop(frame, affines, 64, **kw))
        kw = {key: cp.asarray(v) if key == "mask" else v for key, v in kw.items()}
        out[name] = (cpu, cp.asnumpy(k.crop(cp.asarray(frame), affines, 64, **kw)), tol)
    return out


def _check_yuv(cp: ModuleType, k: ModuleType) -> dict[str, Case]:
    frame = _frame(np.random.default_rng(3))
    out = {}
    for fn in ("rgb_to_i420", "rgb_to_nv12"):
        for bgr, standard in ((False, 601), (True, 709)):
            convert = getattr(k, fn)
            out[f"{fn[7:]}/{'bgr' if bgr else 'rgb'}/{standard}"] = (
                np.asarray(convert(frame, bgr=bgr, standard=standard)),
                cp.asnumpy(convert(cp.asarray(frame), bgr=bgr, standard=standard)), 1.0)
    return out


def _batch_inputs(n: int = 5) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """n frames of two sizes, n crops, n crop -> frame affines (the last partly off the frame)."""
    rng = np.random.default_rng(5)
    frames = [_frame(rng, 270 - 30 * (i % 2), 480) for i in range(n)]
    crops = np.stack([_frame(rng, 64, 64) for _ in range(n)])
    affines = np.stack([_affine(1.2 + 0.1 * i, 0.2 * i - 0.4, 120.0 + 40 * i, 50.0) for i in range(n)])
    affines[-1, 0, 2] = 440.0
    return frames, crops, affines


def _check_composite_batch(cp: ModuleType, k: ModuleType) -> dict[str, Case]:
    frames, crops, affines = _batch_inputs()
    masks = np.random.default_rng(6).random((len(frames), 64, 64)).astype(np.float32)
    cpu = [f.copy() for f in frames]
    k.composite_batch(cpu, crops, affines, list(masks))
    gpu = [cp.asarray(f) for f in frames]
    k.composite_batch(gpu, [cp.asarray(c) for c in crops], affines, [cp.asarray(m) for m in masks])
    return {f"mask/u8/{i}": (c, cp.asnumpy(g), 1.0) for i, (c, g) in enumerate(zip(cpu, gpu))}


def _check_crop_batch(cp: ModuleType, k: ModuleType) -> dict[str, Case]:
    frames, _, affines = _batch_inputs()
    affines = affines.astype(np.float32)
    cpu = np.asarray(k.crop_batch(frames, affines, 64, out="f16", norm="pm1"))
    gpu = k.crop_batch([cp.asarray(f) for f in frames], affines, 64, out="f16", norm="pm1")
    return {"f16/nchw/pm1": (cpu, cp.asnumpy(gpu), 1e-3)}


def _check_yuv_batch(cp: ModuleType, k: ModuleType) -> dict[str, Case]:
    frames, _, _ = _batch_inputs()
    cpu = k.rgb_to_nv12_batch(frames)
    gpu = k.rgb_to_nv12_batch([cp.asarray(f) for f in frames])
    return {f"nv12/{i}": (np.asarray(c), cp.asnumpy(g), 1.0) for i, (c, g) in enumerate(zip(cpu, gpu))}


def _check_warp(cp: ModuleType, _kernels: ModuleType) -> dict[str, Case]:
    """The warp renderer on a synthetic face at S = 96: the jaw opened (mouth synthesis: teeth
    bank, cavity) and a pure lip warp; one renderer per side, so both see the same smoothing."""
    from dhsdk.bench.synthetic import SyntheticAvatar
    from dhsdk.geometry import apply_affine
    from dhsdk.render.warp import WarpRenderer

    size, avatar = 96, SyntheticAvatar(240, 320, frames=3)
    cpu_r, gpu_r = (WarpRenderer.from_avatar(avatar, size=size) for _ in range(2))
    src = apply_affine(avatar.canonical_to_crop(size), avatar.neutral_lips).astype(np.float32)
    opened, shifted = src.copy(), src + np.float32(1.7)
    opened[1:10, 1] += 0.12 * size
    opened[21:30, 1] += 0.12 * size
    crop = _frame(np.random.default_rng(4), size, size)
    return {name: (cpu_r.render(crop, src, dst), cp.asnumpy(gpu_r.render(cp.asarray(crop), src, dst)), 1.0)
            for name, dst in (("open/colour-match", opened), ("warp", shifted))}


# binding name without "cuda_" -> check
KERNEL_CHECKS: dict[str, Check] = {
    "composite": _check_composite,
    "composite_batch": _check_composite_batch,
    "crop": _check_crop,
    "crop_batch": _check_crop_batch,
    "rgb_to_yuv": _check_yuv,
    "rgb_to_yuv_batch": _check_yuv_batch,
    "warp": _check_warp,
}


def kernel_bindings(ext: Any) -> list[str]:
    """The CUDA kernel launchers compiled into ``ext`` (``cuda_*`` functions, not queries)."""
    return sorted(n for n in dir(ext) if n.startswith("cuda_") and n != "cuda_query" and callable(getattr(ext, n)))


def _compare(name: str, case: Case) -> Outcome:
    cpu, gpu, tol = case
    if cpu.shape != gpu.shape:
        return Outcome(name, False, detail=f"shape {gpu.shape} on the GPU vs {cpu.shape} on the CPU")
    err = float(np.max(np.abs(cpu.astype(np.float64) - gpu.astype(np.float64)), initial=0.0))
    return Outcome(name, err <= tol, err, tol)


def check_kernels(ext: Any, kernels: ModuleType, cp: ModuleType) -> list[Outcome]:
    """Run every ``cuda_*`` binding's check, one line per case (``cuda_crop f16/nhwc``); a
    binding without a check is reported, not hidden."""
    out = []
    for binding in kernel_bindings(ext):
        check = KERNEL_CHECKS.get(binding[len("cuda_"):])
        if check is None:
            out.append(Outcome(binding, None, detail="no self-test registered for this launcher"))
            continue
        try:
            cases = check(cp, kernels)
        except Exception as e:  # noqa: BLE001 - a crashing launcher is a failed check, reported
            out.append(Outcome(binding, False, detail=f"{type(e).__name__}: {e}"))
            continue
        out += [_compare(f"{binding} {case}", result) for case, result in cases.items()]
    return out


def check_engines(cp: ModuleType, log: Print) -> list[Outcome]:
    """Build or reuse every recipe's engine whose ONNX exists; compare with ONNX Runtime at opt shape."""
    from dhsdk.engines.build import build_engine, random_feeds
    from dhsdk.engines.recipes import all_recipes, onnx_inputs, profile_shapes
    from dhsdk.runtime.ort import OnnxrtRunner
    from dhsdk.runtime.trt import TrtRunner

    out = []
    for recipe in all_recipes():
        name, onnx = f"engine {recipe.name}", recipe.onnx_path()
        if not onnx.is_file():
            out.append(Outcome(name, None, detail=f"{onnx} not exported yet"))
            continue
        try:
            engine = build_engine(recipe, onnx, log=log)
            opt = {k: v[1] for k, v in profile_shapes(recipe, onnx_inputs(onnx)).items()}
            with OnnxrtRunner(onnx) as ref, TrtRunner(engine) as trt:
                feeds = random_feeds(opt, {k: v.dtype for k, v in ref.inputs.items()}, seed=7)
                want, got = ref.infer(feeds), trt.infer(feeds)
            err = max(float(np.max(np.abs(want[k].astype(np.float64) - cp.asnumpy(got[k]).astype(np.float64))))
                      for k in want)
            scale = max(float(np.max(np.abs(v))) for v in want.values())
            tol = recipe.atol + recipe.rtol * scale
            out.append(Outcome(name, err <= tol, err, tol))
        except Exception as e:  # noqa: BLE001 - reported as a failed check
            out.append(Outcome(name, False, detail=f"{type(e).__name__}: {e}"))
    return out


def nvenc_session_problem() -> str | None:
    """Why this machine cannot open an NVENC session, None when it can: the packages and driver
    (:func:`dhsdk.sinks.nvenc.nvenc_problem`), then a real 64 x 64 H.264 session opened and
    closed, which is what tells a GPU without an encoder (H100, H200, A100: no NVENC;
    ``nvEncOpenEncodeSessionEx`` answers 2, no encode device) from one whose encoder works."""
    from dhsdk.sinks.encoder import FILE
    from dhsdk.sinks.nvenc import nvenc_options, nvenc_problem

    problem = nvenc_problem()
    if problem:
        return problem
    import PyNvVideoCodec as nvc

    from dhsdk.cuda.streams import cupy_for

    context, opts = cupy_for("NVENC encoding").cuda.driver.ctxGetCurrent(), nvenc_options(FILE, 64, 64, 25.0)
    try:
        nvc.CreateEncoder(64, 64, "NV12", False, cudacontext=context, cudastream=0, **opts).EndEncode()
    except Exception as e:  # noqa: BLE001 - any refusal means no usable encoder here
        return (f"this GPU cannot open an NVENC session ({type(e).__name__}: {e}); data-centre GPUs such as "
                f"the H100/H200/A100 have no NVENC: frames are encoded with libx264")
    return None


NVENC_TOLERANCE = 4.0  # mean |error| in grey levels: QP 18 and 4:2:0 chroma on a smooth moving gradient


def check_nvenc(frames: int = 25) -> list[Outcome]:
    """Encode a second of a moving gradient (480 x 270, 25 fps) through NVENC into an mp4, decode
    it with PyAV and compare it with what went in (mean |error|, every frame present)."""
    import tempfile
    from pathlib import Path

    from dhsdk.frames import VideoFrame
    from dhsdk.sinks.encoder import FILE
    from dhsdk.sinks.nvenc import NvencEncoder

    problem = nvenc_session_problem()
    if problem:
        return [Outcome("nvenc", None, detail=problem)]
    ys, xs = np.mgrid[0:270, 0:480]
    sent = [np.stack([(xs // 2 + 4 * k) % 256, ys, np.full_like(xs, 96)], -1).astype(np.uint8) for k in range(frames)]
    try:
        import av

        with tempfile.TemporaryDirectory() as tmp:
            path = str(Path(tmp) / "nvenc.mp4")
            enc = NvencEncoder(path, "mp4", FILE, fps=25)
            for k, image in enumerate(sent):
                enc.encode(VideoFrame(image, np.zeros(640, np.float32), 16000, k / 25, k))
            backend = enc.backend
            enc.close()
            with av.open(path) as c:
                got = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    except Exception as e:  # noqa: BLE001 - a failing encoder is a failed check
        return [Outcome("nvenc", False, detail=f"{type(e).__name__}: {e}")]
    if backend != "nvenc" or len(got) != frames:
        return [Outcome("nvenc", False, detail=f"encoded by {backend}, {len(got)} of {frames} frames decoded")]
    err = float(np.mean([np.abs(a.astype(np.float64) - b).mean() for a, b in zip(sent, got)]))
    return [Outcome("nvenc", err <= NVENC_TOLERANCE,
                    detail=f"mean |error| {err:.2f} grey levels (tolerance {NVENC_TOLERANCE:g}), {frames} frames")]


def run_selftest(log: Print = print) -> int:
    """Run every check and print one line each; 0 when all ran and passed, 1 otherwise."""
    from dhsdk.cuda.requirements import missing_gpu_pieces

    if missing_gpu_pieces(("cuda", "cupy")):
        log("GPU self-test cannot run here:")
        for line in missing_gpu_pieces(("cuda", "cupy", "tensorrt", "polygraphy")):
            log(f"  {line}")
        return 1
    import cupy

    from dhsdk import _C, kernels

    outcomes = check_kernels(_C, kernels, cupy)
    trt_missing = missing_gpu_pieces(("tensorrt", "polygraphy"))
    if trt_missing:
        outcomes.append(Outcome("engines", None, detail="; ".join(trt_missing)))
    else:
        outcomes += check_engines(cupy, log)
    outcomes += check_nvenc()
    for o in outcomes:
        log(o.line())
    failed = [o.name for o in outcomes if o.passed is False]
    log(f"GPU self-test: {sum(o.passed is True for o in outcomes)} passed, {len(failed)} failed, "
        f"{sum(o.passed is None for o in outcomes)} not run")
    return 1 if failed or not outcomes else 0
