"""Device discovery and selection. Nothing here touches a GPU at import time.

``cuda_available()`` answers at run time from the extension's CUDA query (compiled-in
launchers + a driver + a device). ``resolve_device("cuda")`` raises a DeviceError that says
which piece is missing and how to get it.
"""
from __future__ import annotations

import functools
from typing import Any

from dhsdk.errors import DeviceError


@functools.lru_cache(maxsize=1)
def cuda_query() -> dict[str, Any]:
    """The extension's CUDA query (see ``dhsdk._C.cuda_query``), cached for the process."""
    from dhsdk import _C

    return dict(_C.cuda_query())


def cuda_problem() -> str | None:
    """Why CUDA cannot be used here, as a sentence with the fix; None when it can."""
    q = cuda_query()
    if not q["compiled"]:
        return ("dhsdk was built without its CUDA launchers: install the CUDA toolkit (nvcc) and "
                "reinstall dhsdk (pip install --force-reinstall --no-deps .)")
    if q["driver_version"] == 0:
        return ("no NVIDIA driver was found (" + (q["error"] or "driver missing") +
                "): install the NVIDIA driver for your GPU, then check with 'nvidia-smi'")
    if q["error"]:
        return f"CUDA is not usable: {q['error']}"
    if not q["devices"]:
        return "the NVIDIA driver reports no CUDA device"
    return None


def cuda_available() -> bool:
    """True when the CUDA launchers were compiled in and a driver and a device exist."""
    return cuda_problem() is None


def resolve_device(device: str = "auto") -> str:
    """Map ``"auto" | "cpu" | "cuda"`` to the device to use.

    Raises:
        DeviceError: ``"cuda"`` was asked for and is not usable (the message says why).
    """
    if device not in ("auto", "cpu", "cuda"):
        raise DeviceError(f"unknown device {device!r}: use 'auto', 'cpu' or 'cuda'")
    if device == "cpu":
        return "cpu"
    problem = cuda_problem()
    if device == "cuda" and problem:
        raise DeviceError(f"device='cuda' requested but {problem}")
    return "cpu" if problem else "cuda"
