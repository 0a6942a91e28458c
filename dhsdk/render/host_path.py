"""The frame path on the CPU: the C++ extension (``dhsdk._C``) on numpy frames.

Per batch (:meth:`HostFramePath.render`), the Python work is done once for all B frames: lips
to crop pixels, the mouth renderer's per-target tables (vectorised), a batched UNet call. The
per-frame native work (copy of the base frame, warp, composite; each releases the GIL) is
spread over the process's kernel pool (:mod:`dhsdk.render.pool`), one frame per core at a time.

What depends only on the base frame is computed once per mouth source (the base frame itself,
or its closed-mouth donor: :mod:`dhsdk.render.geometry`) and kept (bounded, least recently used
first out): its mouth crop, its lips in crop pixels and, for the warp renderer, its mesh,
column table and colour match. The idle loop of a typical avatar (8 s at 25 fps, 256 px crops)
keeps ~40 MB.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any, Callable, Sequence

import numpy as np

from dhsdk.render.path import FramePath
from dhsdk.render.pool import map_frames

CROP_CACHE_MB = 256.0   # per path: crops (and their warp preparation) of base frames


class HostFramePath(FramePath):
    """A :class:`~dhsdk.render.path.FramePath` on the CPU (see the module docstring).

    Args:
        avatar: the avatar (``frame(i)`` gives base frame i).
        geometry: its :class:`~dhsdk.render.geometry.MouthGeometry` at the renderer's size.
        renderer: a :class:`~dhsdk.render.warp.WarpRenderer` (prepared per base frame) or any
            :class:`~dhsdk.render.base.MouthRenderer` (called once per batch).
        cache_mb: bound on the per-base-frame data kept.
    """

    device = "cpu"

    def __init__(self, avatar: Any, geometry: Any, renderer: Any, cache_mb: float = CROP_CACHE_MB):
        from dhsdk.render.warp import WarpRenderer

        super().__init__(avatar, geometry, renderer)
        self._warp = isinstance(renderer, WarpRenderer)
        s = geometry.crop_size
        self._capacity = max(1, int(cache_mb * 2 ** 20 // (s * s * 3)))
        self._sources: OrderedDict[int, tuple[np.ndarray, np.ndarray, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def render(self, bases: Sequence[int], lips: np.ndarray) -> list[np.ndarray]:
        """See :meth:`FramePath.render`."""
        from dhsdk import kernels

        bases, lips = self.check(bases, lips)
        if not bases:
            return []
        g = self.geometry
        mouth = self._mouth_stage(bases, g.to_crop_px(lips))

        def compose(i: int) -> np.ndarray:
            t0 = time.perf_counter()
            image = np.array(self.avatar.frame(bases[i]), copy=True)
            t1 = time.perf_counter()
            crop = mouth(i)
            t2 = time.perf_counter()
            kernels.composite(image, crop, g.crop_affine[bases[i]], mask=g.mask)
            t3 = time.perf_counter()
            self.stage_ms["copy"].append((t1 - t0) * 1e3)
            if self._warp:
                self.stage_ms["mouth"].append((t2 - t1) * 1e3)
            self.stage_ms["composite"].append((t3 - t2) * 1e3)
            return image

        return map_frames(compose, range(len(bases)))

    def _mouth_stage(self, bases: list[int], dst: np.ndarray) -> Callable[[int], np.ndarray]:
        """``i -> (S, S, 3) uint8`` new lower face of frame i of the batch (a base frame seen for
        the first time is cropped and prepared there, on the pool's thread)."""
        if self._warp:
            targets = self.renderer.targets(dst)
            return lambda i: self.renderer.warp(self._source(bases[i])[2], targets, i)
        sources = map_frames(self._source, bases)
        t = time.perf_counter()
        crops = np.stack([s[0] for s in sources])
        mouths = self.renderer.render_batch(crops, np.stack([s[1] for s in sources]), dst)
        per_frame = (time.perf_counter() - t) * 1e3 / len(sources)
        self.stage_ms["mouth"].extend([per_frame] * len(sources))
        return lambda i: mouths[i]

    def _source(self, base: int) -> tuple[np.ndarray, np.ndarray, Any]:
        """(crop, crop-pixel lips, warp source or None) of base frame ``base``'s mouth source, kept."""
        g = self.geometry
        j, src = g.source_crop_lips(base)
        with self._lock:
            hit = self._sources.get(j)
            if hit is not None:
                self._sources.move_to_end(j)
                return hit
        from dhsdk import kernels

        t = time.perf_counter()
        frame = np.ascontiguousarray(self.avatar.frame(j))
        crop = kernels.crop(frame, g.crop_affine[j][None], g.crop_size)[0]
        entry = (crop, src, self.renderer.source(crop, src) if self._warp else None)
        self.stage_ms["crop"].append((time.perf_counter() - t) * 1e3)
        with self._lock:
            self._sources[j] = entry
            while len(self._sources) > self._capacity:
                self._sources.popitem(last=False)
        return entry

    def close(self) -> None:
        """Drop the kept per-base-frame data."""
        with self._lock:
            self._sources.clear()
