"""``dhsdk doctor --gpu``: prove the GPU path on the user's GPU against the CPU reference.

Every CUDA kernel binding in ``dhsdk._C`` (``cuda_*``) is run through the
:mod:`dhsdk.kernels` facade with CuPy inputs and compared with the same call on numpy (the
CPU path, which the test suite checks against float64 references); every engine recipe whose
ONNX exists is built (or taken from the cache) and compared with ONNX Runtime. Each line says
PASS/FAIL with the max error and the tolerance. Where there is no GPU it says which pieces are
missing and how to install them, and fails (the user asked for the GPU).
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


# Each check runs one facade function on numpy and on CuPy inputs and returns
# (cpu result, gpu result as numpy, tolerance). Tolerances: uint8 outputs may differ by one
# level (the device contracts a*b+c into FMAs, which moves a .5 rounding); float32 outputs by
# a few ulp of values in [-3, 3].
def _check_composite(cp: ModuleType, k: ModuleType) -> tuple[np.ndarray, np.ndarray, float]:
    rng = np.random.default_rng(1)
    frame, crop = _frame(rng), _frame(rng, 64, 64)
    mask = np.ones((64, 64), np.float32)
    affine = _affine(1.6, 0.2, 150.0, 60.0)
    cpu = frame.copy()
    k.composite(cpu, crop, affine, mask)
    gpu = cp.asarray(frame)
    k.composite(gpu, cp.asarray(crop), affine, cp.asarray(mask))
    return cpu, cp.asnumpy(gpu), 1.0


def _check_crop(cp: ModuleType, k: ModuleType) -> tuple[np.ndarray, np.ndarray, float]:
    frame = _frame(np.random.default_rng(2))
    affines = np.stack([_affine(1.5, a, 120.0 + 40 * i, 50.0) for i, a in enumerate((0.0, 0.3, -0.4))])
    cpu = np.asarray(k.crop(frame, affines, 64, out="f32"))
    gpu = cp.asnumpy(k.crop(cp.asarray(frame), affines, 64, out="f32"))
    return cpu, gpu, 1e-4


def _check_color(fn: str) -> Callable[[ModuleType, ModuleType], tuple[np.ndarray, np.ndarray, float]]:
    def check(cp: ModuleType, k: ModuleType) -> tuple[np.ndarray, np.ndarray, float]:
        frame = _frame(np.random.default_rng(3))
        return np.asarray(getattr(k, fn)(frame)), cp.asnumpy(getattr(k, fn)(cp.asarray(frame))), 1.0

    return check


# binding name without "cuda_" -> check
KERNEL_CHECKS: dict[str, Callable[[ModuleType, ModuleType], tuple[np.ndarray, np.ndarray, float]]] = {
    "composite": _check_composite,
    "crop": _check_crop,
    "rgb_to_i420": _check_color("rgb_to_i420"),
    "rgb_to_nv12": _check_color("rgb_to_nv12"),
}


def kernel_bindings(ext: Any) -> list[str]:
    """The CUDA kernel launchers compiled into ``ext`` (``cuda_*`` functions, not queries)."""
    return sorted(n for n in dir(ext) if n.startswith("cuda_") and n != "cuda_query" and callable(getattr(ext, n)))


def check_kernels(ext: Any, kernels: ModuleType, cp: ModuleType) -> list[Outcome]:
    """Run every ``cuda_*`` binding's check; a binding without a check is reported, not hidden."""
    out = []
    for binding in kernel_bindings(ext):
        check = KERNEL_CHECKS.get(binding[len("cuda_"):])
        if check is None:
            out.append(Outcome(binding, None, detail="no self-test registered for this launcher"))
            continue
        try:
            cpu, gpu, tol = check(cp, kernels)
            if cpu.shape != gpu.shape:
                out.append(Outcome(binding, False, detail=f"shape {gpu.shape} on the GPU vs {cpu.shape} on the CPU"))
                continue
            err = float(np.max(np.abs(cpu.astype(np.float64) - gpu.astype(np.float64)), initial=0.0))
            out.append(Outcome(binding, err <= tol, err, tol))
        except Exception as e:  # noqa: BLE001 - a crashing launcher is a failed check, reported
            out.append(Outcome(binding, False, detail=f"{type(e).__name__}: {e}"))
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
    for o in outcomes:
        log(o.line())
    failed = [o.name for o in outcomes if o.passed is False]
    log(f"GPU self-test: {sum(o.passed is True for o in outcomes)} passed, {len(failed)} failed, "
        f"{sum(o.passed is None for o in outcomes)} not run")
    return 1 if failed or not outcomes else 0
