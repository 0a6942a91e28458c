"""The frame path on the GPU: CUDA kernels and a UNet (TensorRT, else PyTorch) on device frames.

A batch of B frames runs on one CUDA stream (the calling thread's current CuPy stream when one
was made current, e.g. by a :class:`~dhsdk.pipeline.scheduler.Scheduler` worker, else the
path's own), each stage one call for the whole batch::

    B base frames (uploaded once) -stack-> (B, H, W, 3) frames      one copy kernel
    B mouth sources -crop_batch-> (B, S, S, 3) crops                one launch per parameter table
    crops -mouth-> (B, S, S, 3)                                     warp: targets once, a launch per frame;
                                                                    UNet: one inference of batch B
    mouths -composite_batch (mask)-> frames [-rgb_to_nv12_batch-> (B, H*3/2, W) NV12]

The mouth stage is the warp renderer (``cuda_warp``; each base frame's colour match comes from
its host crop, taken once) or the inpainting UNet on TensorRT (an engine built from the
avatar's ONNX by :mod:`dhsdk.engines`, cached per GPU arch), or without TensorRT on PyTorch
(fp16, CUDA graphs). :meth:`DeviceFramePath.render_device` leaves the frames on the device
(:class:`DeviceFrame`: RGB and NV12 with the event after which they are ready), for device
consumers such as :class:`dhsdk.sinks.nvenc.NvencEncoder`; a host copy of one is made when a
consumer asks for it (:meth:`DeviceFrame.host`: once, into pinned memory).
:meth:`DeviceFramePath.render` copies the whole batch to the host at once (one wait per batch).
"""
from __future__ import annotations

import threading
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Sequence

import numpy as np

from dhsdk.cuda.streams import Event, Stream, cupy_for, is_default_stream
from dhsdk.errors import DeviceError, InputError
from dhsdk.render.path import STAGES, FramePath, mouth_model_path
from dhsdk.render.unet import unet_blend, unet_feeds

_copy_streams = threading.local()   # per host thread: the stream its DeviceFrame.host() copies run on


class DeviceFrame:
    """One output frame on the device.

    Attributes:
        rgb: (H, W, 3) uint8 RGB CuPy array.
        nv12: (H * 3 / 2, W) uint8 NV12 CuPy array (BT.601 limited range), or None.
        ready: recorded after the frame's last write, on ``stream``: make another stream wait
            for it (or synchronise it) before reading the arrays there (or on the host).
        stream: the ``cudaStream_t`` it was rendered on.
    """

    def __init__(self, rgb: Any, nv12: Any, ready: Event, stream: int):
        self.rgb, self.nv12, self.ready, self.stream = rgb, nv12, ready, stream
        self._host: np.ndarray | None = None
        self._lock = threading.Lock()

    @property
    def shape(self) -> tuple[int, ...]:
        """(H, W, 3), without touching the device."""
        return tuple(self.rgb.shape)

    def host(self) -> np.ndarray:
        """The frame in pinned host memory: copied once, on first call (on a stream of the
        calling thread's own that waits for ``ready``, so the copy never queues behind later
        batches), then the same array. Blocks until the copy is done."""
        with self._lock:
            if self._host is None:
                import cupyx

                stream = getattr(_copy_streams, "stream", None)
                if stream is None:
                    stream = _copy_streams.stream = Stream()
                stream.wait(self.ready)
                out = cupyx.empty_pinned(self.rgb.shape, np.uint8)
                self.rgb.get(stream=stream.raw, out=out, blocking=False)
                stream.record().synchronize()
                self._host = out
            return self._host


class DeviceFramePath(FramePath):
    """A :class:`~dhsdk.render.path.FramePath` on the GPU (see the module docstring).

    Lifecycle: built once per (avatar, renderer): uploads the idle loop's base frames and their
    mouth sources (H x W x 3 bytes each: a 10 s loop of 720 x 1280 frames at 25 fps is ~0.7 GB)
    and the mask, and prepares the mouth stage (for a UNet: builds or loads its TensorRT engine,
    or its PyTorch runner). Batches may then come from any thread; each is ordered on the device
    after the previous one, wherever that ran. Device memory goes back to CuPy's pool when the
    path is garbage-collected.

    Args:
        avatar, geometry, renderer: see :class:`FramePath`; ``stage_ms`` gets GPU times from
            CUDA events (per batch, divided among its frames), in ms.

    Raises:
        ImportError: CuPy is missing (with the install command).
        DeviceError: no usable GPU, or a UNet mouth with neither TensorRT nor PyTorch (says how to install them).
        InputError: a renderer with no device stage.
    """

    device = "cuda"

    def __init__(self, avatar: Any, geometry: Any, renderer: Any):
        super().__init__(avatar, geometry, renderer)
        self._cp = cupy_for("the GPU frame path (device='cuda')")
        self.stream = Stream()
        with self.stream:
            self._mask = self._cp.asarray(geometry.mask)
            loop = [int(i) for i in avatar.idle_loop.frames()]
            keep = sorted(set(loop) | {int(geometry.mouth_source[i]) for i in loop})  # and their mouth sources
            self._bases = {i: self._cp.asarray(avatar.frame(i)) for i in keep}
            self._mouth = _mouth_stage(self, self._cp)
        self.stream.synchronize()  # the uploads are done: any stream may read them from now on
        self._done: Event | None = None
        self._pending_marks: tuple[list[Event], int] | None = None
        w, h = geometry.frame_size
        self._nv12 = w % 2 == 0 and h % 2 == 0   # 4:2:0 needs even sides

    def render(self, bases: Sequence[int], lips: np.ndarray, out: Sequence[np.ndarray] | None = None
               ) -> list[np.ndarray]:
        """See :meth:`FramePath.render`: the batch is copied to the host at once, with one host
        wait (into pinned memory, or into ``out``)."""
        import cupyx

        bases, lips = self.check(bases, lips)
        if not bases:
            return []
        dest = self.outputs(len(bases), out) if out is not None else None
        marks: list[Event] = []
        frames, _, s = self._launch_batch(bases, lips, False, marks)
        host = cupyx.empty_pinned(frames.shape, np.uint8)
        frames.get(stream=s.raw, out=host, blocking=False)
        s.record().synchronize()
        self._record_stages(marks, len(bases))
        if dest is None:
            return list(host)   # views of one pinned buffer, held while any of them is
        for d, h in zip(dest, host):
            np.copyto(d, h)
        return dest

    def render_device(self, bases: Sequence[int], lips: np.ndarray, nv12: bool = False) -> list[DeviceFrame]:
        """Render B frames and leave them on the device (nothing waits on the host, but the first
        warp of the path, which uploads the teeth bank once).

        Args:
            bases, lips: see :meth:`FramePath.render`.
            nv12: also convert the frames to NV12 (for a GPU encoder; skipped for odd sides).

        Returns:
            B :class:`DeviceFrame`; their arrays are new and ready once ``ready`` has passed.
            ``stage_ms`` is updated when a later batch finds this one's events complete.
        """
        bases, lips = self.check(bases, lips)
        if not bases:
            return []
        marks: list[Event] = []
        frames, yuv, s = self._launch_batch(bases, lips, nv12, marks)
        self._pending_marks = (marks, len(bases))
        return [DeviceFrame(frames[i], None if yuv is None else yuv[i], self._done, s.ptr) for i in range(len(bases))]

    def render_frames(self, bases: Sequence[int], lips: np.ndarray) -> list[DeviceFrame]:
        """See :meth:`FramePath.render_frames`: :meth:`render_device` with NV12."""
        return self.render_device(bases, lips, nv12=True)

    def _launch_batch(self, bases: list[int], lips: np.ndarray, nv12: bool, marks: list[Event]
                      ) -> tuple[Any, Any, Stream]:
        """Queue the batch's stages on the call's stream (see the module docstring); ``marks``
        gets a timing event before the first stage and after each one.

        Returns:
            (B, H, W, 3) RGB frames, (B, H*3/2, W) NV12 frames or None, and the stream; both
            ready at ``self._done``.
        """
        from dhsdk import kernels

        self._flush_marks()
        g, s = self.geometry, self._call_stream()
        js = [int(g.mouth_source[b]) for b in bases]
        dst = g.to_crop_px(lips)

        def mark() -> None:
            marks.append(Event(timing=True).record(s))

        # Inside `with s` CuPy names s as every array's stream, and every array this path reads
        # was made on s (or before the construction-time synchronize): the launches need no waits.
        with s:
            if self._done is not None:
                s.wait(self._done)
            mark()
            frames = self._cp.stack([self._base(b) for b in bases])
            mark()
            crops = kernels.crop_batch([self._base(j) for j in js], g.crop_affine[js], g.crop_size, stream=s)
            mark()
            mouths = self._mouth(crops, js, dst, s)
            mark()
            kernels.composite_batch(frames, mouths, g.crop_affine[bases], self._mask, stream=s)
            mark()
            yuv = kernels.rgb_to_nv12_batch(frames, stream=s) if nv12 and self._nv12 else None
            self._done = Event().record(s)
        return frames, yuv, s

    def _record_stages(self, marks: list[Event], n: int) -> None:
        """Per-frame stage times from a finished batch's events (each stage's GPU time / n)."""
        for name, a, b in zip(STAGES, marks, marks[1:]):
            self.stage_ms[name].extend([a.elapsed_ms(b) / n] * n)

    def _flush_marks(self) -> None:
        """Record the stage times of the last :meth:`render_device` batch once its work is done."""
        pending = self._pending_marks
        if pending is not None and pending[0][-1].done():
            self._pending_marks = None
            self._record_stages(*pending)

    def _call_stream(self) -> Stream:
        current = int(self._cp.cuda.get_current_stream().ptr)
        return self.stream if is_default_stream(current) else Stream(current)

    def _base(self, index: int) -> Any:
        """Base frame ``index`` on the device: cached for the idle loop, else uploaded (on the
        current stream) for this call only."""
        base = self._bases.get(int(index))
        return base if base is not None else self._cp.asarray(self.avatar.frame(index))


def _mouth_stage(path: DeviceFramePath, cp: ModuleType) -> Callable[..., Any]:
    """``(crops, source indices, dst, stream) -> (B, S, S, 3) uint8 CuPy`` for the renderer."""
    from dhsdk.render.unet import UNetRenderer
    from dhsdk.render.warp import WarpRenderer

    renderer = path.renderer
    if isinstance(renderer, WarpRenderer):
        return _WarpStage(path)
    if isinstance(renderer, UNetRenderer):
        return _UNetStage(renderer, mouth_model_path(path.avatar, path.avatar.mouth_model), cp)
    raise InputError(f"the GPU frame path has no device stage for {type(renderer).__name__} "
                     f"(use device='cpu', or a WarpRenderer / UNetRenderer)")


class _WarpStage:
    """The warp renderer on the device. Each mouth source's warp preparation (mesh, column
    table, colour match from its host crop: the crop is fixed per base frame) is made once, so
    no frame reads the device back."""

    def __init__(self, path: DeviceFramePath):
        self.path = path
        self.renderer = path.renderer
        self._sources: dict[int, Any] = {}

    def __call__(self, crops: Any, sources: list[int], dst: np.ndarray, stream: Stream) -> Any:
        targets = self.renderer.targets(dst)
        return self.renderer.warp_device(crops, [self._source(j) for j in sources], targets, stream=stream)

    def _source(self, j: int) -> Any:
        if j not in self._sources:
            from dhsdk import kernels

            g = self.path.geometry
            frame = np.ascontiguousarray(self.path.avatar.frame(j))
            host_crop = kernels.crop(frame, g.crop_affine[j][None], g.crop_size)[0]
            self._sources[j] = self.renderer.source(None, g.base_crop_lips(j), self.renderer.colours(host_crop))
        return self._sources[j]


class _UNetStage:
    """The inpainting UNet on TensorRT, or on PyTorch without it
    (:func:`dhsdk.runtime.unet.gpu_inpaint_runner`), with its pre- and post-processing on the
    device; one inference for the batch."""

    def __init__(self, renderer: Any, onnx: Path, cp: ModuleType):
        from dhsdk.cuda.requirements import missing_gpu_pieces

        missing = missing_gpu_pieces(("tensorrt", "torch"))
        if len(missing) == 2:
            raise DeviceError(f"a UNet mouth on the GPU runs on TensorRT or PyTorch, and neither is usable: "
                              f"{'; '.join(missing)}")
        from dhsdk.runtime.unet import gpu_inpaint_runner

        self.renderer, self._cp = renderer, cp
        self.runner = gpu_inpaint_runner(onnx)
        self._mask = cp.asarray(renderer.mask)
        self._reference = cp.asarray(renderer.reference.astype(np.float32).transpose(2, 0, 1)[None] / 255.0)
        band = np.flatnonzero(renderer.band)
        self._band = cp.asarray(band) if renderer.color_match and band.size else None
        self._size = renderer.crop_size

    def __call__(self, crops: Any, sources: list[int], dst: np.ndarray, stream: Stream) -> Any:
        from dhsdk.models.condition import check_lips, render_condition

        s, cp = self._size, self._cp
        condition = cp.asarray(np.stack([render_condition(check_lips(d, s, "dst_lips"), s) for d in dst])[:, None])
        feeds = unet_feeds(cp, crops, self._mask, self._reference, condition)
        feeds = {k: v.astype(self.runner.inputs[k].dtype, copy=False) for k, v in feeds.items()}
        rgb = cp.asarray(self.runner.infer_async(feeds, stream=stream, check=False)["rgb"])  # torch: in place
        return unet_blend(cp, crops, rgb, self._mask, self._band)
