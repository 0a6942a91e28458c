"""The one timing helper every benchmark uses (no copy-paste timing loops): the stage
scripts in ``benchmarks/`` and the ``dhsdk bench`` harness.

``measure(fn)`` warms up, then times repeated calls and returns median/min/max/p95/p99 in
milliseconds with the repeated-run dispersion (``spread_ms``); ``interleaved(cases)`` does the
same for several implementations in alternating rounds; ``machine()`` describes the machine; ``emit(record)`` prints one JSON line with the machine facts attached, so a
line can be compared across machines and versions.
"""
from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import time
from functools import lru_cache
from importlib import metadata
from typing import Any, Callable

# machine() key -> distribution whose version is recorded.
_LIBRARIES = {"numpy": "numpy", "onnxruntime": "onnxruntime", "cv2": "opencv-python-headless", "torch": "torch",
              "av": "av", "matplotlib": "matplotlib"}


def measure(fn: Callable[[], Any], repeat: int = 30, warmup: int = 3, min_time: float = 0.0,
            keep_samples: bool = False) -> dict[str, Any]:
    """Time ``fn()``.

    Args:
        repeat: timed calls (at least); each call is timed on its own.
        warmup: untimed calls first (caches, lazy initialisation, thread pools).
        min_time: keep calling until this many seconds have been timed in total.
        keep_samples: also return the samples (``samples_ms``, in call order).

    Returns:
        The fields of :func:`summarize`: ``median_ms``, ``min_ms``, ``max_ms``, ``p95_ms``,
        ``p99_ms``, ``n`` and ``spread_ms`` (the repeated-run dispersion).
    """
    for _ in range(warmup):
        fn()
    samples: list[float] = []
    total = 0.0
    while len(samples) < repeat or total < min_time:
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        samples.append(dt * 1e3)
        total += dt
    return summarize(samples, keep_samples=keep_samples)


def _percentile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def summarize(samples: list[float], rounds: int = 5, keep_samples: bool = False) -> dict[str, Any]:
    """Statistics of timing samples in ms (call order).

    Args:
        samples: one duration per call, in ms, in the order they were taken.
        rounds: the samples are cut into this many consecutive runs; the range of the run
            medians is the repeated-run dispersion used to tell a change from noise.
        keep_samples: include the samples themselves (``samples_ms``).

    Returns:
        ``median_ms``, ``min_ms``, ``max_ms``, ``p95_ms``, ``p99_ms``, ``n`` and
        ``spread_ms = [lowest, highest]`` run median.
    """
    ordered = sorted(samples)
    k = max(1, min(rounds, len(samples)))
    step = len(samples) / k
    runs = [statistics.median(samples[int(i * step):max(int((i + 1) * step), int(i * step) + 1)]) for i in range(k)]
    out: dict[str, Any] = {"median_ms": statistics.median(ordered), "min_ms": ordered[0], "max_ms": ordered[-1],
                           "p95_ms": _percentile(ordered, 0.95), "p99_ms": _percentile(ordered, 0.99),
                           "n": len(ordered), "spread_ms": [min(runs), max(runs)]}
    if keep_samples:
        out["samples_ms"] = list(samples)
    return out


def interleaved(cases: dict[str, Callable[[], Any]], rounds: int = 5, repeat: int = 10,
                warmup: int = 3) -> dict[str, dict[str, float]]:
    """Time several implementations in alternating rounds so machine noise hits all alike.

    Returns:
        case name -> the fields of :func:`summarize` over all rounds (``spread_ms`` is the
        range of the per-round medians).
    """
    for fn in cases.values():
        for _ in range(warmup):
            fn()
    samples: dict[str, list[float]] = {k: [] for k in cases}
    for _ in range(rounds):
        for name, fn in cases.items():
            for _ in range(repeat):
                t0 = time.perf_counter()
                fn()
                samples[name].append((time.perf_counter() - t0) * 1e3)
    return {name: summarize(s, rounds=rounds) for name, s in samples.items()}


@lru_cache(maxsize=1)
def machine() -> dict[str, Any]:
    """Facts recorded with every result: CPU, cores, SIMD, memory, GPU and driver, library
    versions, dhsdk git revision (``git_dirty``: uncommitted changes to tracked files)."""
    info: dict[str, Any] = {"python": platform.python_version(), "machine": platform.machine(),
                            "cores": os.cpu_count()}
    try:
        with open("/proc/cpuinfo") as f:
            info["cpu"] = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), "")
    except OSError:
        info["cpu"] = platform.processor()
    try:
        import dhsdk

        info["dhsdk"] = dhsdk.__version__
        b = dhsdk.build_info()
        info["simd"], info["openmp_threads"], info["cuda_launchers"] = b["simd"], b["openmp_max_threads"], b["cuda"]
    except ImportError:
        pass
    info.update(_gpu())
    try:
        info["memory_gb"] = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2 ** 30, 1)
    except (ValueError, OSError, AttributeError):
        pass
    info["os"] = platform.platform()
    for key, dist in _LIBRARIES.items():
        try:  # the installed version, without importing (no import cost, no RSS)
            info[key] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    here = os.path.dirname(os.path.abspath(__file__))
    info["git"] = _git(here, "rev-parse", "--short", "HEAD")
    info["git_dirty"] = bool(_git(here, "status", "--porcelain", "--untracked-files=no"))
    return info


def _git(cwd: str, *args: str) -> str:
    """Output of ``git args`` in ``cwd`` ("" outside a checkout or without git)."""
    try:
        return subprocess.run(["git", *args], capture_output=True, text=True, cwd=cwd, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def _gpu() -> dict[str, Any]:
    """GPU names, driver and CUDA runtime versions from the extension's CUDA query."""
    try:
        from dhsdk.device import cuda_problem, cuda_query

        q = cuda_query()
    except (ImportError, AttributeError, RuntimeError) as e:
        return {"gpu": [], "cuda_problem": f"CUDA query unavailable: {e}"}
    devices = q.get("devices") or []
    return {"gpu": [d.get("name", str(d)) if isinstance(d, dict) else str(d) for d in devices],
            "driver_version": q.get("driver_version", 0), "cuda_runtime": q.get("runtime_version", 0),
            "cuda_problem": cuda_problem() or ""}


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB (monotonic)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def emit(record: dict[str, Any], with_machine: bool = True) -> None:
    """Print ``record`` as one JSON line (with the machine facts under ``"machine"``)."""
    if with_machine:
        record = {**record, "machine": machine()}
    print(json.dumps(record, sort_keys=False, default=float), flush=True)
