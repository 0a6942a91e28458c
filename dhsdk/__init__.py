"""dhsdk: real-time lip-synced digital humans.

``import dhsdk`` needs numpy alone and never touches a GPU; the classes below are loaded on
first use::

    import dhsdk
    avatar = dhsdk.Avatar.default()
    avatar.render("speech.wav", "out.mp4")
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

_LAZY = {
    "Avatar": "dhsdk.avatar",
    "cuda_available": "dhsdk.device",
    "resolve_device": "dhsdk.device",
    "DhsdkError": "dhsdk.errors",
    "InputError": "dhsdk.errors",
    "BundleError": "dhsdk.errors",
    "DeviceError": "dhsdk.errors",
}

__all__ = ["__version__", "build_info", *_LAZY]


def build_info() -> dict:
    """How the native extension was compiled (compiler, SIMD, OpenMP, CUDA archs)."""
    from dhsdk import _C

    return dict(_C.build_info())


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'dhsdk' has no attribute {name!r}")
