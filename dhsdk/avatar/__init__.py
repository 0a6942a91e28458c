"""Avatars from a merchant's material: reading, face tracking, automated review, the bundle.

>>> from dhsdk.avatar import Avatar, create_avatar
>>> avatar, report = create_avatar("presenter.mp4", "avatars/anna")   # reviewed, atomic
>>> avatar = Avatar.load("avatars/anna")                              # or Avatar.default()

Modules: :mod:`~dhsdk.avatar.material` (decoding), :mod:`~dhsdk.avatar.face` (mesh, detector),
:mod:`~dhsdk.avatar.track` (smoothed tracks, geometry), :mod:`~dhsdk.avatar.analyze` (the one
decode pass), :mod:`~dhsdk.avatar.photo` (photo avatars), :mod:`~dhsdk.avatar.review` and
:mod:`~dhsdk.avatar.review_sheet` (checks, contact sheet), :mod:`~dhsdk.avatar.idle` (loop),
:mod:`~dhsdk.avatar.bundle` / :mod:`~dhsdk.avatar.framestore` (on disk),
:mod:`~dhsdk.avatar.avatar` (the facade), :mod:`~dhsdk.avatar.create`, :mod:`~dhsdk.avatar.default`.
Heavy modules (mediapipe, PyAV, OpenCV) load on first use.
"""
from __future__ import annotations

import importlib

_LAZY = {
    "Avatar": "dhsdk.avatar.avatar",
    "create_avatar": "dhsdk.avatar.create",
    "review_material": "dhsdk.avatar.create",
    "ReviewFailed": "dhsdk.avatar.create",
    "open_material": "dhsdk.avatar.material",
}

__all__ = list(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'dhsdk.avatar' has no attribute {name!r}")
