"""The frame path on the CPU: the C++ extension (``dhsdk._C``) on numpy frames, a batch at a time.

Per batch of B frames (:meth:`HostFramePath.render`) the Python work is done once:

1. crop: the mouth crops of base frames not seen before, one :func:`~dhsdk.kernels.crop_batch`;
2. the warp renderer's targets for all B at once (vectorised);
3. per frame, the native work: the base frame copied into an output frame (recycled buffers,
   :mod:`dhsdk.render.buffers`) and the warp pass, the B frames cut into one part per core run
   side by side (:mod:`dhsdk.render.threads`; the calls release the GIL); with the UNet, one
   single-threaded inference per part instead (side by side they beat one inference of batch B
   on ONNX Runtime's own threads);
4. composite: one :func:`~dhsdk.kernels.composite_batch` blends the B new mouths into the B frames.

Apart from a few microseconds per frame (the copy and warp calls) Python's cost is per batch. What depends only on the base frame is computed once per
mouth source (the base frame itself, or its closed-mouth donor: :mod:`dhsdk.render.geometry`)
and kept (bounded, least recently used first out): its mouth crop, its lips in crop pixels and,
for the warp renderer, its mesh, column table and colour match. The idle loop of a typical
avatar (8 s at 25 fps, 256 px crops) keeps ~40 MB.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any, Sequence

import numpy as np

from dhsdk.render.buffers import FramePool
from dhsdk.render.path import FramePath
from dhsdk.render.threads import split

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
        w, h = geometry.frame_size
        self.frames = FramePool((h, w, 3))

    def render(self, bases: Sequence[int], lips: np.ndarray, out: Sequence[np.ndarray] | None = None
               ) -> list[np.ndarray]:
        """See :meth:`FramePath.render`; the frames are recycled buffers (:class:`FramePool`)
        unless ``out`` is given."""
        from dhsdk import kernels

        bases, lips = self.check(bases, lips)
        if not bases:
            return []
        g, n = self.geometry, len(bases)
        t0 = time.perf_counter()
        frames = self.outputs(n, out) if out is not None else [self.frames.take() for _ in range(n)]
        sources = self._sources_of(bases)
        crop_ms = (time.perf_counter() - t0) * 1e3 / n
        dst = g.to_crop_px(lips)
        targets = self.renderer.targets(dst) if self._warp else None
        mouths: list[Any] = [None] * n
        ms = np.zeros((2, n))   # per frame: copy, mouth (each on the core that ran it)

        def part(idx: range) -> None:
            for i in idx:
                t = time.perf_counter()
                np.copyto(frames[i], self.avatar.frame(bases[i]))
                ms[0, i] = time.perf_counter() - t
                if targets is not None:
                    mouths[i] = self.renderer.warp(sources[i][2], targets, i)
                    ms[1, i] = time.perf_counter() - t - ms[0, i]
            if targets is None and len(idx):
                t = time.perf_counter()
                got = self.renderer.render_batch(np.stack([sources[i][0] for i in idx]),
                                                 np.stack([sources[i][1] for i in idx]), dst[idx.start:idx.stop])
                mouths[idx.start:idx.stop] = list(got)
                ms[1, idx.start:idx.stop] = (time.perf_counter() - t) / len(idx)

        split(n, part)
        t = time.perf_counter()
        kernels.composite_batch(frames, mouths, g.crop_affine[bases], g.mask)
        composite_ms = (time.perf_counter() - t) * 1e3 / n
        self.stage_ms["copy"].extend(ms[0] * 1e3)
        self.stage_ms["mouth"].extend(ms[1] * 1e3)
        self.stage_ms["crop"].extend([crop_ms] * n)
        self.stage_ms["composite"].extend([composite_ms] * n)
        return frames

    def _sources_of(self, bases: list[int]) -> list[tuple[np.ndarray, np.ndarray, Any]]:
        """(crop, crop-pixel lips, warp source or None) of each base frame's mouth source: kept
        ones from the cache, the others cropped in one batch (and kept)."""
        from dhsdk import kernels

        g = self.geometry
        js = [int(g.mouth_source[b]) for b in bases]
        with self._lock:
            found = {j: self._sources[j] for j in set(js) if j in self._sources}
            for j in found:
                self._sources.move_to_end(j)
        missing = sorted(set(js) - set(found))
        if missing:
            frames = [np.ascontiguousarray(self.avatar.frame(j)) for j in missing]
            crops = kernels.crop_batch(frames, g.crop_affine[missing], g.crop_size)
            for j, crop in zip(missing, crops):
                src = g.base_crop_lips(j)
                found[j] = (crop, src, self.renderer.source(crop, src) if self._warp else None)
            with self._lock:
                for j in missing:
                    self._sources[j] = found[j]
                while len(self._sources) > self._capacity:
                    self._sources.popitem(last=False)
        return [found[j] for j in js]

    def close(self) -> None:
        """Drop the kept per-base-frame data and the free frame buffers."""
        with self._lock:
            self._sources.clear()
        self.frames.close()
