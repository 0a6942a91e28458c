"""The one timing helper every benchmark uses (no copy-paste timing loops): the stage
scripts in ``benchmarks/`` and the ``dhsdk bench`` harness.

``measure(fn)`` warms up, then times repeated calls and returns median/min/max/p95 in
milliseconds; ``emit(record)`` prints one JSON line with the machine facts attached, so a
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
from typing import Any, Callable


def measure(fn: Callable[[], Any], repeat: int = 30, warmup: int = 3, min_time: float = 0.0) -> dict[str, float]:
    """Time ``fn()``.

    Args:
        repeat: timed calls (at least); each call is timed on its own.
        warmup: untimed calls first (caches, lazy initialisation, thread pools).
        min_time: keep calling until this many seconds have been timed in total.

    Returns:
        dict with ``median_ms``, ``min_ms``, ``max_ms``, ``p95_ms``, ``n``.
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
    samples.sort()
    return {
        "median_ms": statistics.median(samples),
        "min_ms": samples[0],
        "max_ms": samples[-1],
        "p95_ms": samples[min(len(samples) - 1, int(round(0.95 * (len(samples) - 1))))],
        "n": len(samples),
    }


def interleaved(cases: dict[str, Callable[[], Any]], rounds: int = 5, repeat: int = 10,
                warmup: int = 3) -> dict[str, dict[str, float]]:
    """Time several implementations in alternating rounds so machine noise hits all alike.

    Returns:
        case name -> the same fields as :func:`measure`, over all rounds.
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
    out = {}
    for name, s in samples.items():
        s.sort()
        out[name] = {"median_ms": statistics.median(s), "min_ms": s[0], "max_ms": s[-1],
                     "p95_ms": s[min(len(s) - 1, int(round(0.95 * (len(s) - 1))))], "n": len(s)}
    return out


@lru_cache(maxsize=1)
def machine() -> dict[str, Any]:
    """Facts recorded with every result: CPU, cores, SIMD, library versions, git revision."""
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
    for mod in ("numpy", "onnxruntime", "cv2", "torch", "av"):
        try:
            info[mod] = __import__(mod).__version__
        except ImportError:
            pass
    try:
        info["git"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                     cwd=os.path.dirname(os.path.abspath(__file__)), timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        info["git"] = ""
    return info


def emit(record: dict[str, Any], with_machine: bool = True) -> None:
    """Print ``record`` as one JSON line (with the machine facts under ``"machine"``)."""
    if with_machine:
        record = {**record, "machine": machine()}
    print(json.dumps(record, sort_keys=False, default=float), flush=True)
