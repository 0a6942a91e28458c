"""The frame path on the GPU: CUDA kernels and a UNet (TensorRT, else PyTorch) on device frames.

Per frame of a batch, everything runs on one CUDA stream (the calling thread's current CuPy
stream when one was made current, e.g. by a :class:`~dhsdk.pipeline.scheduler.Scheduler`
worker, else the path's own)::

    base frame (uploaded once) -copy-> frame;  mouth source frame -crop-> (S, S, 3) crop
        -mouth-> crop -composite (mask)-> frame [-> NV12]

The mouth stage is the warp renderer (``cuda_warp``; each base frame's colour match comes from
its host crop, taken once) or the inpainting UNet on TensorRT (an engine built from the
avatar's ONNX by :mod:`dhsdk.engines`, cached per GPU arch), or without TensorRT on PyTorch
(fp16, CUDA graphs). :meth:`DeviceFramePath.render` the batch's finished frames to the host (pinned memory, one wait per batch) for a CPU
encoder; :meth:`DeviceFramePath.render_device` leaves them on the device (RGB and NV12, with the
event after which they are ready) for device consumers such as
:class:`dhsdk.sinks.nvenc.NvencEncoder`.

The kernels are launched per frame behind :meth:`DeviceFramePath._launch_batch`, the one place
to switch to batched launches (N frames per launch from a pointer table) once ``dhsdk._C``
has them.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Sequence

import numpy as np

from dhsdk.cuda.streams import Event, Stream, cupy_for, is_default_stream
from dhsdk.errors import DeviceError, InputError
from dhsdk.render.path import STAGES, FramePath, mouth_model_path
from dhsdk.render.unet import unet_blend, unet_feeds


@dataclass
class DeviceFrame:
    """One output frame on the device.

    Attributes:
        rgb: (H, W, 3) uint8 RGB CuPy array.
        nv12: (H * 3 / 2, W) uint8 NV12 CuPy array (BT.601 limited range), or None.
        ready: recorded after the frame's last write, on ``stream``: make another stream wait
            for it (or synchronise it) before reading the arrays there (or on the host).
        stream: the ``cudaStream_t`` it was rendered on.
    """

    rgb: Any
    nv12: Any
    ready: Event
    stream: int


class DeviceFramePath(FramePath):
    """A :class:`~dhsdk.render.path.FramePath` on the GPU (see the module docstring).

    Lifecycle: built once per (avatar, renderer): uploads the idle loop's base frames and their
    mouth sources (H x W x 3 bytes each: a 10 s loop of 720 x 1280 frames at 25 fps is ~0.7 GB)
    and the mask, and
    prepares the mouth stage (for a UNet: builds or loads its TensorRT engine, or its PyTorch runner). Batches may then
    come from any thread; each is ordered on the device after the previous one, wherever that
    ran. Device memory goes back to CuPy's pool when the path is garbage-collected.

    Args:
        avatar, geometry, renderer: see :class:`FramePath`; ``stage_ms`` gets GPU times from
            CUDA events, in ms.

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

    def render(self, bases: Sequence[int], lips: np.ndarray) -> list[np.ndarray]:
        """See :meth:`FramePath.render`: the frames are copied to pinned host memory, with one
        host wait for the whole batch."""
        import cupyx

        bases, lips = self.check(bases, lips)
        if not bases:
            return []
        marks: list[list[Event]] = []
        frames = self._launch_batch(bases, lips, False, marks)
        hosts = []
        for f in frames:
            host = cupyx.empty_pinned(f.rgb.shape, np.uint8)
            f.rgb.get(stream=Stream(f.stream).raw, out=host, blocking=False)
            hosts.append(host)
        Event().record(frames[-1].stream).synchronize()
        for frame_marks in marks:
            for name, a, b in zip(STAGES, frame_marks, frame_marks[1:]):
                self.stage_ms[name].append(a.elapsed_ms(b))
        return hosts

    def render_device(self, bases: Sequence[int], lips: np.ndarray, nv12: bool = False) -> list[DeviceFrame]:
        """Render B frames and leave them on the device (nothing waits on the host, but the first
        warp of the path, which uploads the teeth bank once).

        Args:
            bases, lips: see :meth:`FramePath.render`.
            nv12: also convert each frame to NV12 (for a GPU encoder).

        Returns:
            B :class:`DeviceFrame`; their arrays are new and ready once ``ready`` has passed.
        """
        bases, lips = self.check(bases, lips)
        return self._launch_batch(bases, lips, nv12, None)

    def _launch_batch(self, bases: list[int], lips: np.ndarray, nv12: bool, marks: list | None) -> list[DeviceFrame]:
        """Queue the batch's kernels on the call's stream (one frame after the other)."""
        dst = self.geometry.to_crop_px(lips)
        return [self._launch(b, d, nv12, marks) for b, d in zip(bases, dst)]

    def _launch(self, base: int, dst: np.ndarray, nv12: bool, marks: list | None) -> DeviceFrame:
        from dhsdk import kernels

        g, s = self.geometry, self._call_stream()
        frame_marks: list[Event] = []

        def mark() -> None:
            if marks is not None:
                frame_marks.append(Event(timing=True).record(s))

        # Inside `with s` CuPy names s as every array's stream, and every array this path reads
        # was made on s (or before the construction-time synchronize): the launches need no waits.
        with s:
            if self._done is not None:
                s.wait(self._done)
            mark()
            image = self._base(base).copy()
            mark()
            j, src = g.source_crop_lips(base)
            crop = kernels.crop(self._base(j), g.crop_affine[j][None], g.crop_size, stream=s)[0]
            mark()
            mouth = self._mouth(crop, src, dst, j, s)
            mark()
            kernels.composite(image, mouth, g.crop_affine[base], mask=self._mask, stream=s)
            mark()
            yuv = kernels.rgb_to_nv12(image, stream=s) if nv12 else None
            self._done = Event().record(s)
        if marks is not None:
            marks.append(frame_marks)
        return DeviceFrame(image, yuv, self._done, s.ptr)

    def _call_stream(self) -> Stream:
        current = int(self._cp.cuda.get_current_stream().ptr)
        return self.stream if is_default_stream(current) else Stream(current)

    def _base(self, index: int) -> Any:
        """Base frame ``index`` on the device: cached for the idle loop, else uploaded (on the
        current stream) for this call only."""
        base = self._bases.get(int(index))
        return base if base is not None else self._cp.asarray(self.avatar.frame(index))


def _mouth_stage(path: DeviceFramePath, cp: ModuleType) -> Callable[..., Any]:
    """``(crop, src, dst, base_index, stream) -> (S, S, 3) uint8 CuPy crop`` for the renderer."""
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
    """The warp renderer on the device; each base frame's colour match comes from its host crop
    (the crop is fixed per base frame), computed once, so no frame reads the device back."""

    def __init__(self, path: DeviceFramePath):
        self.path = path
        self.renderer = path.renderer
        self._colours: dict[int, Any] = {}

    def __call__(self, crop: Any, src: np.ndarray, dst: np.ndarray, base_index: int, stream: Stream) -> Any:
        return self.renderer.render(crop, src, dst, stream=stream, colours=self._colours_of(base_index))

    def _colours_of(self, base_index: int) -> Any:
        if base_index not in self._colours:
            from dhsdk import kernels

            g = self.path.geometry
            frame = np.ascontiguousarray(self.path.avatar.frame(base_index))
            host_crop = kernels.crop(frame, g.crop_affine[base_index][None], g.crop_size)[0]
            self._colours[base_index] = self.renderer.colours(host_crop)
        return self._colours[base_index]


class _UNetStage:
    """The inpainting UNet on TensorRT, or on PyTorch without it
    (:func:`dhsdk.runtime.unet.gpu_inpaint_runner`), with its pre- and post-processing on the device."""

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

    def __call__(self, crop: Any, src: np.ndarray, dst: np.ndarray, base_index: int, stream: Stream) -> Any:
        from dhsdk.models.condition import check_lips, render_condition

        s, cp = self._size, self._cp
        check_lips(src, s, "src_lips")
        condition = cp.asarray(render_condition(check_lips(dst, s, "dst_lips"), s)[None, None])
        feeds = unet_feeds(cp, crop[None], self._mask, self._reference, condition)
        feeds = {k: v.astype(self.runner.inputs[k].dtype, copy=False) for k, v in feeds.items()}
        rgb = cp.asarray(self.runner.infer_async(feeds, stream=stream, check=False)["rgb"])  # torch: in place
        return unet_blend(cp, crop[None], rgb, self._mask, self._band)[0]

