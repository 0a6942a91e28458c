"""Image-driven avatars, weights-free: one face photo put onto a stock presenter (a head swap),
and any avatar driven by a source video's head pose, brows, blinks and gaze.

>>> from dhsdk.swap import create_swap_avatar, Driver
>>> avatar, report = create_swap_avatar("face.jpg", "stock.mp4", "avatars/swapped")
>>> Driver(avatar).render("driver.mp4", "driven.mp4")       # the driver's audio lip-syncs it

Both run on the CPU with the face mesh from the mediapipe wheel and its own triangulation.
Modules: :mod:`~dhsdk.swap.topology` (the warp mesh), :mod:`~dhsdk.swap.raster` (the per-pixel
part), :mod:`~dhsdk.swap.retarget` (pose and expression transfer), :mod:`~dhsdk.swap.colour`,
:mod:`~dhsdk.swap.blend`, :mod:`~dhsdk.swap.compose` (one swapped frame),
:mod:`~dhsdk.swap.source` (the photo), :mod:`~dhsdk.swap.video` (a whole clip),
:mod:`~dhsdk.swap.create` (the avatar), :mod:`~dhsdk.swap.drive` (driving),
:mod:`~dhsdk.swap.metrics`, :mod:`~dhsdk.swap.quality` (review checks), :mod:`~dhsdk.swap.sheet`.
Heavy modules (mediapipe, OpenCV, PyAV) load on first use.
"""
from __future__ import annotations

import importlib

_LAZY = {
    "create_swap_avatar": "dhsdk.swap.create",
    "face_from_photo": "dhsdk.swap.source",
    "FaceSwapper": "dhsdk.swap.compose",
    "SwapFace": "dhsdk.swap.compose",
    "Driver": "dhsdk.swap.drive",
}

__all__ = list(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'dhsdk.swap' has no attribute {name!r}")
