"""ONNX -> TensorRT engine builds: recipe profiles, timing cache, progress, cache, and a
Polygraphy comparison against ONNX Runtime after every build.

``build_engine(recipe)`` returns the cached engine when its key (ONNX sha256, GPU compute
capability, TensorRT version, recipe settings) already exists; otherwise it builds with the
TensorRT 10 builder API, runs TensorRT and ONNX Runtime side by side through Polygraphy's
``Comparator`` on random inputs at the profile's min/opt/max shapes, and caches the engine
only if every output is within the recipe's tolerances.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from dhsdk._optional import require
from dhsdk.engines.cache import EngineCache, EngineKey, file_sha256
from dhsdk.engines.recipes import Recipe, Shape, profile_shapes
from dhsdk.errors import DeviceError, InputError

Log = Callable[[str], None]


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class CheckResult:
    """Outcome of a TensorRT vs ONNX Runtime comparison.

    Attributes:
        passed: every output of every iteration within ``atol + rtol * |reference|``.
        max_abs_error: output name -> largest absolute difference over all iterations.
        atol, rtol: the tolerances used.
    """

    passed: bool
    max_abs_error: dict[str, float]
    atol: float
    rtol: float

    def summary(self) -> str:
        """One line: PASS/FAIL and the worst error per output."""
        errs = ", ".join(f"{k} {v:.3g}" for k, v in self.max_abs_error.items())
        return f"{'PASS' if self.passed else 'FAIL'} (max |error|: {errs}; atol {self.atol:g}, rtol {self.rtol:g})"


def device_compute_capability(device: int = 0) -> tuple[int, int]:
    """The (major, minor) compute capability of CUDA device ``device``.

    Raises:
        DeviceError: no usable GPU (the message says what is missing).
    """
    from dhsdk.device import cuda_problem, cuda_query

    problem = cuda_problem()
    if problem:
        raise DeviceError(f"building TensorRT engines needs a CUDA GPU, but {problem}")
    devices = cuda_query()["devices"]
    if not 0 <= device < len(devices):
        raise DeviceError(f"CUDA device {device} does not exist ({len(devices)} found)")
    major, minor = devices[device]["compute_capability"]
    return int(major), int(minor)


def random_feeds(shapes: Mapping[str, Shape], dtypes: Mapping[str, np.dtype], seed: int = 0) -> dict[str, np.ndarray]:
    """Seeded inputs for a comparison: floats uniform in [-1, 1], integers in [0, 8)."""
    rng = np.random.default_rng(seed)
    out = {}
    for name, shape in shapes.items():
        dt = np.dtype(dtypes.get(name, np.float32))
        out[name] = (rng.uniform(-1, 1, shape).astype(dt) if dt.kind == "f"
                     else rng.integers(0, 8, shape).astype(dt))
    return out


def compare_runners(runners: Sequence[Any], feeds: Iterable[Mapping[str, np.ndarray]], atol: float,
                    rtol: float) -> CheckResult:
    """Run Polygraphy runners on the same feeds and compare each with the last one (the reference).

    Args:
        runners: Polygraphy runners, e.g. ``[TrtRunner(...), OnnxrtRunner(...)]``.
        feeds: input dicts, one per iteration.
        atol, rtol: elementwise tolerances (Polygraphy ``CompareFunc.simple``).
    """
    comparator = require("polygraphy.comparator", "engine checks against ONNX Runtime")
    feeds = list(feeds)
    results = comparator.Comparator.run(list(runners), data_loader=feeds)
    # SimpleCompareFunc replaces CompareFunc.simple in newer Polygraphy; older ones have only the latter.
    make_compare = getattr(comparator, "SimpleCompareFunc", None) or comparator.CompareFunc.simple
    accuracy = comparator.Comparator.compare_accuracy(results, compare_func=make_compare(atol=atol, rtol=rtol))
    (_, ref_iters) = results[-1]
    worst: dict[str, float] = {}
    for _, iters in list(results)[:-1]:
        for it, ref in zip(iters, ref_iters):
            for name in ref.keys():
                err = float(np.max(np.abs(np.asarray(it[name], np.float64) - np.asarray(ref[name], np.float64)),
                                   initial=0.0))
                worst[name] = max(worst.get(name, 0.0), err)
    return CheckResult(bool(accuracy), worst, atol, rtol)


def _progress_monitor(trt: Any, log: Log) -> Any:
    """A ``trt.IProgressMonitor`` printing each builder phase with its duration."""

    class Monitor(trt.IProgressMonitor):  # type: ignore[misc, name-defined]
        def __init__(self) -> None:
            trt.IProgressMonitor.__init__(self)
            self.depth: dict[str, int] = {}
            self.started: dict[str, float] = {}

        def phase_start(self, phase_name: str, parent_phase: str | None, num_steps: int) -> None:
            self.depth[phase_name] = self.depth.get(parent_phase, -1) + 1 if parent_phase else 0
            self.started[phase_name] = time.perf_counter()
            if self.depth[phase_name] < 2:
                log(f"{'  ' * (self.depth[phase_name] + 1)}{phase_name} ({num_steps} steps)")

        def step_complete(self, phase_name: str, step: int) -> bool:
            return True  # never cancel

        def phase_finish(self, phase_name: str) -> None:
            if self.depth.get(phase_name, 0) < 2:
                took = time.perf_counter() - self.started.get(phase_name, time.perf_counter())
                log(f"{'  ' * (self.depth.get(phase_name, 0) + 1)}{phase_name} done in {took:.1f} s")

    return Monitor()


def _network_inputs(network: Any) -> dict[str, tuple[int, ...]]:
    return {network.get_input(i).name: tuple(network.get_input(i).shape) for i in range(network.num_inputs)}


def build_serialized(recipe: Recipe, onnx_path: Path, timing_cache: Path | None = None,
                     calibration: Iterable[Mapping[str, np.ndarray]] | None = None,
                     log: Log = _stderr) -> tuple[bytes, dict[str, tuple[Shape, Shape, Shape]]]:
    """Build one engine with the TensorRT 10 builder; returns (engine bytes, profile).

    Args:
        recipe: precision, workspace and dimension ranges.
        onnx_path: the model.
        timing_cache: tactic timing cache, read if present and rewritten after the build.
        calibration: input dicts from the avatar's own frames; required for ``int8``.
        log: progress sink (stderr by default).

    Raises:
        InputError: the ONNX does not parse, the recipe disagrees with it, or int8 lacks data.
        RuntimeError: TensorRT failed to build (its log says why).
    """
    trt = require("tensorrt")
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    # TensorRT 10 picks fp16 kernels under BuilderFlag.FP16; TensorRT 11 removed the flag and builds
    # strongly typed networks only, so the graph itself is converted to fp16 (dhsdk.engines.fp16).
    strongly_typed = not hasattr(trt.BuilderFlag, "FP16")
    if strongly_typed and recipe.precision == "int8":
        raise InputError(f"{recipe.name}: TensorRT {trt.__version__} has no int8 builder flag (strongly typed "
                         f"networks only): quantize the ONNX explicitly (Q/DQ nodes, e.g. with nvidia-modelopt) "
                         f"and build it with precision fp16, or install 'tensorrt>=10,<11' for calibrated int8")
    network = builder.create_network(0)  # explicit batch (TensorRT 10); strongly typed (TensorRT 11)
    parser = trt.OnnxParser(network, logger)
    if strongly_typed and recipe.precision == "fp16":
        from dhsdk.engines.fp16 import to_fp16

        onnx = require("onnx", "fp16 engines for TensorRT 11")
        log(f"  {recipe.name}: TensorRT {trt.__version__} is strongly typed: building from an fp16 copy of the ONNX")
        parsed = parser.parse(to_fp16(onnx.load(str(onnx_path))).SerializeToString(), str(onnx_path))
    else:
        parsed = parser.parse_from_file(str(onnx_path))
    if not parsed:
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise InputError(f"TensorRT cannot parse {onnx_path}: {errors}")
    profile_spec = profile_shapes(recipe, _network_inputs(network))

    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, recipe.workspace_mib << 20)
    if recipe.precision in ("fp16", "int8") and not strongly_typed:
        config.set_flag(trt.BuilderFlag.FP16)
    elif hasattr(trt.BuilderFlag, "TF32"):  # on by default; fp32 in a recipe means IEEE fp32
        config.clear_flag(trt.BuilderFlag.TF32)
    profile = builder.create_optimization_profile()
    for name, (lo, opt, hi) in profile_spec.items():
        profile.set_shape(name, lo, opt, hi)
    config.add_optimization_profile(profile)
    if recipe.precision == "int8":
        if calibration is None:
            raise InputError(f"{recipe.name}: int8 needs calibration data (frames of the avatar's own material); "
                             f"build fp16 instead or pass calibration inputs")
        from polygraphy.backend.trt import Calibrator

        config.set_flag(trt.BuilderFlag.INT8)
        config.int8_calibrator = Calibrator(list(calibration))
        config.set_calibration_profile(profile)
    if timing_cache is not None:
        cache = config.create_timing_cache(timing_cache.read_bytes() if timing_cache.is_file() else b"")
        config.set_timing_cache(cache, ignore_mismatch=False)
    if hasattr(trt, "IProgressMonitor"):
        config.progress_monitor = _progress_monitor(trt, log)

    start = time.perf_counter()
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise RuntimeError(f"TensorRT failed to build {recipe.name} from {onnx_path} (see the TensorRT log above)")
    log(f"  built {recipe.name} in {time.perf_counter() - start:.1f} s")
    if timing_cache is not None:
        from dhsdk.atomic import atomic_file

        timing_cache.parent.mkdir(parents=True, exist_ok=True)
        with atomic_file(timing_cache) as tmp:
            tmp.write_bytes(bytes(memoryview(config.get_timing_cache().serialize())))
    return bytes(memoryview(serialized)), profile_spec


def check_against_onnxruntime(engine: bytes, onnx_path: Path, profile: Mapping[str, tuple[Shape, Shape, Shape]],
                              atol: float, rtol: float, seed: int = 0) -> CheckResult:
    """Polygraphy comparison of an engine with ONNX Runtime at the min, opt and max shapes."""
    require("tensorrt")
    from polygraphy.backend.onnxrt import OnnxrtRunner, SessionFromOnnx
    from polygraphy.backend.trt import EngineFromBytes, TrtRunner

    from dhsdk.runtime.ort import OnnxrtRunner as DhOrt

    with DhOrt(onnx_path) as ref:
        dtypes = {k: v.dtype for k, v in ref.inputs.items()}
    feeds = [random_feeds({k: v[i] for k, v in profile.items()}, dtypes, seed + i) for i in range(3)]
    runners = [TrtRunner(EngineFromBytes(engine)), OnnxrtRunner(SessionFromOnnx(str(onnx_path)))]
    return compare_runners(runners, feeds, atol, rtol)


def engine_key(recipe: Recipe, onnx_path: Path, compute_capability: tuple[int, int], trt_version: str) -> EngineKey:
    """The cache key of ``recipe`` built from ``onnx_path`` on this GPU arch and TensorRT."""
    if not onnx_path.is_file():
        raise InputError(f"{recipe.name}: ONNX model {onnx_path} not found: export it first "
                         f"(python tools/export/{recipe.name.split('_')[0]}.py) or pass --onnx PATH")
    return EngineKey(recipe.name, file_sha256(onnx_path), compute_capability, trt_version, recipe.digest())


def build_engine(recipe: Recipe, onnx_path: Path | None = None, cache: EngineCache | None = None, device: int = 0,
                 force: bool = False, calibration: Iterable[Mapping[str, np.ndarray]] | None = None,
                 log: Log = _stderr) -> Path:
    """The engine for ``recipe`` on this GPU: from the cache, or built, checked and cached.

    Args:
        recipe: the recipe.
        onnx_path: override of the recipe's ONNX path.
        cache: engine cache (default location when None).
        device: CUDA device whose compute capability the engine targets.
        force: rebuild even when cached.
        calibration: int8 calibration inputs.
        log: progress sink.

    Raises:
        DeviceError: no GPU; ImportError: no TensorRT (with the install command);
        InputError: bad recipe/ONNX; RuntimeError: build failed or the engine disagrees with
        ONNX Runtime beyond the recipe's tolerances (nothing is cached then).
    """
    trt = require("tensorrt")
    cache = cache or EngineCache()
    onnx_path = Path(onnx_path) if onnx_path else recipe.onnx_path()
    cc = device_compute_capability(device)
    key = engine_key(recipe, onnx_path, cc, trt.__version__)
    hit = cache.lookup(key)
    if hit and not force:
        log(f"{recipe.name}: cached {hit}")
        return hit
    log(f"{recipe.name}: building {recipe.precision} engine for {key.arch} with TensorRT {trt.__version__} "
        f"from {onnx_path}")
    engine, profile = build_serialized(recipe, onnx_path, cache.timing_cache_path(cc, trt.__version__),
                                       calibration, log)
    log(f"{recipe.name}: comparing TensorRT with ONNX Runtime (Polygraphy) at min/opt/max shapes")
    check = check_against_onnxruntime(engine, onnx_path, profile, recipe.atol, recipe.rtol)
    log(f"{recipe.name}: {check.summary()}")
    if not check.passed:
        raise RuntimeError(f"{recipe.name}: the TensorRT engine disagrees with ONNX Runtime: {check.summary()}; "
                           f"not cached (try precision: fp32 in {recipe.source})")
    return cache.store(key, engine, {"onnx": str(onnx_path), "precision": recipe.precision,
                                     "profile": {k: [list(s) for s in v] for k, v in profile.items()},
                                     "check": {"passed": check.passed, "max_abs_error": check.max_abs_error},
                                     "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
