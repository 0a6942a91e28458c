"""The per-frame path on the GPU: what :class:`~dhsdk.pipeline.lipsync.LipSync` renders through
with ``device="cuda"`` (DESIGN.md "Stages", "Real time").

LipSync picks its frame path once, at construction (:func:`frame_path`): a :data:`FramePath`
is ``(base_index, lips) -> (H, W, 3) uint8 RGB`` (a new host array). On the CPU it is
LipSync's own host kernels and nothing here touches CUDA; on a GPU it is a
:class:`DevicePath`. Per speech frame, everything runs on one CUDA stream::

    base frame (uploaded once) -copy-> frame -crop-> (S, S, 3) crop -mouth-> crop
        -composite (mask)-> frame [-> NV12]  -> one device-to-host copy (pinned) -> RGB

The mouth stage is the warp renderer (``cuda_warp``, colour statistics of each base frame's
crop taken once from its host copy) or the inpainting UNet on TensorRT (an engine built from
the avatar's ONNX by :mod:`dhsdk.engines`, cached per GPU arch). Stages follow each other on
the stream; the host waits once per frame, for the copy of the finished RGB frame a CPU
encoder needs. Idle frames (no lips) are the host copy the CPU path makes, with no GPU work.
:meth:`DevicePath.render` keeps a frame on the device (RGB and NV12, with the event after
which it is ready) for device consumers such as :class:`dhsdk.sinks.nvenc.NvencEncoder`.
"""
from __future__ import annotations

import functools
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Optional

import numpy as np

from dhsdk.cuda.streams import Event, Stream, cupy_for, is_default_stream
from dhsdk.errors import DeviceError, InputError
from dhsdk.pipeline.lipsync import STAGES
from dhsdk.render.unet import unet_blend, unet_feeds

log = logging.getLogger(__name__)

FramePath = Callable[[int, Optional[np.ndarray]], np.ndarray]
"""``(base_index, lips) -> (H, W, 3) uint8 RGB``, a new host array: base frame ``base_index``
with its mouth re-rendered to ``lips`` ((40, 2) canonical target lips), or untouched for None."""


def frame_path(lipsync: Any, device: str) -> tuple[str, FramePath]:
    """The frame path of ``lipsync`` and the device it runs on, chosen once.

    Args:
        lipsync: a LipSync whose ``device`` is already resolved (``"cpu"`` or ``"cuda"``).
        device: what its caller asked for; ``"cuda"`` makes a missing piece of the GPU path an
            error, ``"auto"`` falls back to the host path and logs why.

    Returns:
        ``("cpu", lipsync._host_frame)`` or ``("cuda", DevicePath(lipsync))``.

    Raises:
        DeviceError: ``device="cuda"`` and the GPU path cannot run: CuPy missing, or TensorRT
            missing for a UNet mouth (the message names it and how to install it).
    """
    if lipsync.device != "cuda":
        return "cpu", lipsync._host_frame
    try:
        return "cuda", DevicePath(lipsync)
    except (DeviceError, ImportError) as e:
        if device == "cuda":
            raise DeviceError(f"device='cuda': the GPU frame path cannot run here: {e}") from e
        log.warning("device='auto': rendering frames on the CPU, the GPU frame path cannot run here: %s", e)
        return "cpu", lipsync._host_frame


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


class DevicePath:
    """LipSync's frames rendered on the GPU (a :data:`FramePath`).

    Lifecycle: built once per LipSync: uploads the idle loop's base frames (H x W x 3 bytes
    each: a 10 s loop of 720 x 1280 frames at 25 fps is ~0.7 GB) and the mask, and prepares
    the mouth stage (for a UNet: builds or loads its TensorRT engine); then called once per
    frame, in frame order (the mouth stage smooths over time), from one thread at a time, like
    LipSync. Device memory goes back to CuPy's pool when the path is garbage-collected.

    Streams: a call runs on the calling thread's current CuPy stream when one was made current
    (a :class:`~dhsdk.pipeline.scheduler.Scheduler` worker makes its own current), else on the
    path's own :attr:`stream`; it first waits, on the device, for the previous call's work
    wherever that ran.

    Args:
        lipsync: the LipSync (its avatar, renderer, crop geometry and ``stage_ms``, which the
            path fills with GPU times from CUDA events, in ms).

    Raises:
        ImportError: CuPy is missing (with the install command).
        DeviceError: no usable GPU, or a UNet mouth without TensorRT (says how to install it).
    """

    def __init__(self, lipsync: Any):
        self._cp = cupy_for("the GPU frame path (LipSync device='cuda')")
        self.lipsync = lipsync
        self.stream = Stream()
        avatar = lipsync.avatar
        with self.stream:
            self._mask = self._cp.asarray(lipsync._mask)
            self._bases = {int(i): self._cp.asarray(avatar.frame(int(i))) for i in avatar.idle_loop.frames()}
            self._mouth = _mouth_stage(lipsync, self._cp)
        self.stream.synchronize()  # the uploads are done: any stream may read them from now on
        self._done: Event | None = None

    def __call__(self, base_index: int, lips: np.ndarray | None) -> np.ndarray:
        """Render one frame to the host (see :data:`FramePath`): one device-to-host copy into
        pinned memory, the call's only host wait."""
        stage_ms = self.lipsync.stage_ms
        if lips is None:  # the idle loop plays the footage: the CPU path's host copy, no GPU work
            t0 = time.perf_counter()
            image = np.array(self.lipsync.avatar.frame(base_index), copy=True)
            stage_ms["copy"].append((time.perf_counter() - t0) * 1e3)
            return image
        import cupyx

        marks: list[Event] = []
        f = self._render(base_index, lips, False, marks)
        host = cupyx.empty_pinned(f.rgb.shape, np.uint8)
        f.rgb.get(stream=Stream(f.stream).raw, out=host, blocking=False)
        Event().record(f.stream).synchronize()
        for name, a, b in zip(STAGES, marks, marks[1:]):
            stage_ms[name].append(a.elapsed_ms(b))
        return host

    def render(self, base_index: int, lips: np.ndarray | None, nv12: bool = False) -> DeviceFrame:
        """Render one frame and leave it on the device (nothing waits on the host, but the first
        warp of the path, which uploads the teeth bank once).

        Args:
            base_index: avatar base frame to start from.
            lips: (40, 2) canonical target lips; None keeps the base frame's mouth.
            nv12: also convert the frame to NV12 (for a GPU encoder).

        Returns:
            the :class:`DeviceFrame`; its arrays are new and ready once ``ready`` has passed.
        """
        return self._render(base_index, lips, nv12, None)

    def _render(self, base_index: int, lips: np.ndarray | None, nv12: bool, marks: list | None) -> DeviceFrame:
        from dhsdk import kernels

        ls, s = self.lipsync, self._call_stream()

        def mark() -> None:
            if marks is not None:
                marks.append(Event(timing=True).record(s))

        # Inside `with s` CuPy names s as every array's stream, and every array this path reads
        # was made on s (or before the construction-time synchronize): the launches need no waits.
        with s:
            if self._done is not None:
                s.wait(self._done)
            mark()
            image = self._base(base_index).copy()
            mark()
            if lips is not None:
                affine = ls._crop_affine[base_index]
                crop = kernels.crop(image, affine[None], ls.crop_size, stream=s)[0]
                mark()
                src, dst = ls._crop_lips(base_index, lips)
                mouth = self._mouth(crop, src, dst, base_index, s)
                mark()
                kernels.composite(image, mouth, affine, mask=self._mask, stream=s)
                mark()
            yuv = kernels.rgb_to_nv12(image, stream=s) if nv12 else None
            self._done = Event().record(s)
        return DeviceFrame(image, yuv, self._done, s.ptr)

    def _call_stream(self) -> Stream:
        current = int(self._cp.cuda.get_current_stream().ptr)
        return self.stream if is_default_stream(current) else Stream(current)

    def _base(self, index: int) -> Any:
        """Base frame ``index`` on the device: cached for the idle loop, else uploaded (on the
        current stream) for this call only."""
        base = self._bases.get(int(index))
        return base if base is not None else self._cp.asarray(self.lipsync.avatar.frame(index))


def _mouth_stage(lipsync: Any, cp: ModuleType) -> Callable[..., Any]:
    """``(crop, src, dst, base_index, stream) -> (S, S, 3) uint8 CuPy crop`` for the renderer."""
    from dhsdk.render.unet import UNetRenderer
    from dhsdk.render.warp import WarpRenderer

    renderer = lipsync.renderer
    if isinstance(renderer, WarpRenderer):
        return _WarpStage(lipsync)
    if isinstance(renderer, UNetRenderer):
        from dhsdk.pipeline.lipsync import mouth_model_path

        return _UNetStage(renderer, mouth_model_path(lipsync.avatar, lipsync.avatar.mouth_model), cp)
    raise InputError(f"the GPU frame path has no device stage for {type(renderer).__name__} "
                     f"(use device='cpu', or a WarpRenderer / UNetRenderer)")


class _WarpStage:
    """The warp renderer on the device; each base frame's colour match comes from its host crop
    (the crop is fixed per base frame), computed once, so no frame reads the device back."""

    def __init__(self, lipsync: Any):
        self.lipsync = lipsync
        self.renderer = lipsync.renderer
        self._colours: dict[int, Any] = {}

    def __call__(self, crop: Any, src: np.ndarray, dst: np.ndarray, base_index: int, stream: Stream) -> Any:
        return self.renderer.render(crop, src, dst, stream=stream, colours=self._colours_of(base_index))

    def _colours_of(self, base_index: int) -> Any:
        if base_index not in self._colours:
            from dhsdk import kernels

            ls = self.lipsync
            frame = np.ascontiguousarray(ls.avatar.frame(base_index))
            host_crop = kernels.crop(frame, ls._crop_affine[base_index][None], ls.crop_size)[0]
            self._colours[base_index] = self.renderer.colours(host_crop)
        return self._colours[base_index]


class _UNetStage:
    """The inpainting UNet on TensorRT, with its pre- and post-processing on the device."""

    def __init__(self, renderer: Any, onnx: Path, cp: ModuleType):
        from dhsdk.cuda.requirements import missing_gpu_pieces

        missing = missing_gpu_pieces(("tensorrt",))
        if missing:
            raise DeviceError(f"a UNet mouth on the GPU runs on TensorRT: {'; '.join(missing)}")
        from dhsdk.engines import build_engine, load_recipe
        from dhsdk.runtime.trt import TrtRunner

        recipe = load_recipe(f"inpaint_{onnx.stem.removeprefix('mouth_')}")
        self.renderer, self._cp = renderer, cp
        self.runner = TrtRunner(functools.partial(build_engine, recipe, onnx), name="inpaint-unet").activate()
        size = renderer.crop_size
        self._mask = cp.asarray(renderer.mask)
        self._reference = cp.asarray(renderer.reference.astype(np.float32).transpose(2, 0, 1)[None] / 255.0)
        band = np.flatnonzero(renderer.band)
        self._band = cp.asarray(band) if renderer.color_match and band.size else None
        self._size = size

    def __call__(self, crop: Any, src: np.ndarray, dst: np.ndarray, base_index: int, stream: Stream) -> Any:
        from dhsdk.models.condition import check_lips, render_condition

        s, cp, r = self._size, self._cp, self.renderer
        check_lips(src, s, "src_lips")
        lips = r._smooth(check_lips(dst, s, "dst_lips"))  # the renderer's own temporal state
        condition = cp.asarray(render_condition(lips, s)[None, None])
        feeds = unet_feeds(cp, crop[None], self._mask, self._reference, condition)
        feeds = {k: v.astype(self.runner.inputs[k].dtype, copy=False) for k, v in feeds.items()}
        rgb = self.runner.infer_async(feeds, stream=stream, check=False)["rgb"]
        return unet_blend(cp, crop[None], rgb, self._mask, self._band)[0]
