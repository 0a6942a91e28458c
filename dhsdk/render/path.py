"""The frame path: the render stage from (base frame, target lips) to finished output frames.

A :class:`FramePath` belongs to one avatar and one mouth renderer and renders *batches*:
``render(bases, lips)`` takes B base frame indices and B target lip shapes (canonical units)
and returns B new RGB frames. Per frame it is the same work in any batch (DESIGN.md, stages
"mouth" and "composite")::

    base frame -copy-> frame;  base frame -crop (S x S, fixed per base frame)-> crop
    crop + (base lips -> target lips) -mouth-> new lower face -composite (mask)-> frame

so a frame rendered in a batch of 16 equals the same frame rendered alone, bit for bit. Two
implementations sit side by side: :class:`~dhsdk.render.host_path.HostFramePath` (the C++
extension on numpy frames, the batch spread over the CPU cores) and
:class:`~dhsdk.render.device_path.DeviceFramePath` (CUDA kernels and a TensorRT UNet on
device frames). :func:`make_frame_path` picks one, once. A path holds no per-stream state:
any number of streams of its avatar share it (their lip smoothing lives in each stream's
:class:`~dhsdk.render.state.MouthState`).
"""
from __future__ import annotations

import abc
import logging
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from dhsdk.errors import DeviceError, InputError
from dhsdk.render.geometry import MouthGeometry

log = logging.getLogger(__name__)

STAGES = ("copy", "crop", "mouth", "composite")   # per-frame stages timed in FramePath.stage_ms
STAGE_WINDOW = 4096                                # recent samples kept per stage


class FramePath(abc.ABC):
    """Renders batches of output frames of one avatar through one mouth renderer.

    Lifecycle: built once per (avatar, renderer); :meth:`render` may then be called from any
    thread, any number of times; :meth:`close` releases what the path holds (idempotent).

    Args:
        avatar: the avatar (its base frames).
        geometry: the avatar's :class:`MouthGeometry` at the renderer's crop size.
        renderer: the mouth renderer (:mod:`dhsdk.render`).

    Attributes:
        device: ``"cpu"`` or ``"cuda"``: where the frames are rendered.
        stage_ms: stage name (:data:`STAGES`) -> recent per-frame times in ms.
        spec: how :func:`make_frame_path` made it (a :class:`PathSpec`), None for a path
            built directly.
    """

    device: str = "cpu"
    spec: "PathSpec | None" = None

    def __init__(self, avatar: Any, geometry: MouthGeometry, renderer: Any):
        self.avatar = avatar
        self.geometry = geometry
        self.renderer = renderer
        self.stage_ms: dict[str, deque] = {name: deque(maxlen=STAGE_WINDOW) for name in STAGES}

    @abc.abstractmethod
    def render(self, bases: Sequence[int], lips: np.ndarray, out: Sequence[np.ndarray] | None = None
               ) -> list[np.ndarray]:
        """Render B frames.

        Args:
            bases: (B,) base frame indices.
            lips: (B, 40, 2) float32 target lips in the canonical face frame.
            out: B host arrays to render into ((H, W, 3) uint8, C-contiguous, writable: e.g.
                shared memory); new arrays when None.

        Returns:
            B (H, W, 3) uint8 RGB host arrays (``out`` itself when given).
        """

    def render_frames(self, bases: Sequence[int], lips: np.ndarray) -> list[Any]:
        """Render B frames and leave them where this path makes them: host arrays here (the
        :meth:`render` result); a device path returns frames on the GPU (with NV12), which a
        :class:`~dhsdk.frames.VideoFrame` carries to its sinks without a host copy."""
        return self.render(bases, lips)

    def close(self) -> None:
        """Release what the path holds (idempotent)."""

    def check(self, bases: Sequence[int], lips: np.ndarray) -> tuple[list[int], np.ndarray]:
        """Validate a batch; returns (base indices as ints, (B, 40, 2) float32 lips).

        Raises:
            InputError: a base index outside the avatar, lips of the wrong shape or not finite.
        """
        lips = np.asarray(lips, np.float32)
        bases = [int(b) for b in bases]
        n = self.geometry.num_frames
        if lips.ndim != 3 or lips.shape[1:] != (40, 2) or len(lips) != len(bases):
            raise InputError(f"a batch of {len(bases)} frames needs ({len(bases)}, 40, 2) target lips, got "
                             f"shape {lips.shape}")
        if not np.isfinite(lips).all():
            raise InputError("target lips contain NaN or inf: check the a2k deltas and the openness gain")
        bad = [b for b in bases if not 0 <= b < n]
        if bad:
            raise InputError(f"base frame {bad[0]} is outside the avatar's {n} frames")
        return bases, lips

    def outputs(self, n: int, out: Sequence[np.ndarray] | None) -> list[np.ndarray]:
        """``out`` checked as the destination of ``n`` frames, or ``n`` new frames when None.

        Raises:
            InputError: ``out`` is not ``n`` writable C-contiguous (H, W, 3) uint8 arrays.
        """
        w, h = self.geometry.frame_size
        if out is None:
            return [np.empty((h, w, 3), np.uint8) for _ in range(n)]
        out = list(out)
        ok = len(out) == n and all(isinstance(o, np.ndarray) and o.shape == (h, w, 3) and o.dtype == np.uint8
                                   and o.flags.c_contiguous and o.flags.writeable for o in out)
        if not ok:
            got = [f"{getattr(o, 'dtype', type(o).__name__)} {getattr(o, 'shape', '')}" for o in out[:2]]
            raise InputError(f"out must be {n} writable C-contiguous ({h}, {w}, 3) uint8 arrays, got {len(out)}: "
                             f"{', '.join(got)}{' ...' if len(out) > 2 else ''}")
        return out

    def __enter__(self) -> "FramePath":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def mouth_model_path(avatar: Any, model: str) -> Path:
    """A mouth model's path (a manifest's ``mouth_model``: relative to the avatar's bundle)."""
    path = Path(model)
    return path if path.is_absolute() else Path(avatar.path) / path


CROP_STEP, CROP_MIN, CROP_MAX = 32, 128, 256   # auto_crop_size: a multiple of 32 in [128, 256]


def auto_crop_size(avatar: Any) -> int:
    """The warp renderer's crop side for ``avatar`` as shown: its mouth crop's side in frame
    pixels (the median over the base frames), rounded up to a multiple of :data:`CROP_STEP`,
    within [:data:`CROP_MIN`, :data:`CROP_MAX`].

    A crop rendered larger than it is shown is thrown away by the composite, which samples it
    at the frame's pixels: the default avatar fitted to 720 x 1280 shows its 256 px crop on 185
    frame pixels, and a 192 px crop halves the warp's and the composite's work (3.2 -> 1.8 ms of
    CPU a frame at 160 px) for the same output resolution. A face larger on screen than 256 px
    keeps 256 (the renderer's cost is bounded).
    """
    a = np.asarray(avatar.crop_affine(CROP_MAX), np.float64)
    shown = float(np.median(np.hypot(a[:, 0, 0], a[:, 1, 0]))) * CROP_MAX
    return int(np.clip(np.ceil(shown / CROP_STEP) * CROP_STEP, CROP_MIN, CROP_MAX))


def make_renderer(avatar: Any, mouth: str = "auto", crop_size: int = 256) -> Any:
    """The mouth renderer for ``avatar`` (stateless: per-stream smoothing is not its job).

    Args:
        mouth: ``"warp"`` (weights-free), ``"unet"`` (the avatar's trained model), or
            ``"auto"`` (the model the avatar's manifest names).
        crop_size: S for the warp renderer (the UNet's size is fixed by its model).

    A trained model runs as its int8 twin where the manifest names one (``mouth_model_int8``:
    about two thirds of the CPU time, kept by the trainer only within 0.5 dB of the float32
    model's held-out PSNR); the GPU path builds its engine from the float32 model.
    """
    choice = avatar.mouth_model if mouth == "auto" else mouth
    if choice == "warp":
        from dhsdk.render.warp import WarpRenderer

        return WarpRenderer.from_avatar(avatar, size=crop_size)
    if choice == "unet":
        if avatar.mouth_model == "warp":
            raise InputError(f"avatar {avatar.path} has no trained mouth model: train one with "
                             f"'dhsdk train mouth --avatar {avatar.path}' or use --mouth warp")
        choice = avatar.mouth_model
    from dhsdk.render.unet import UNetRenderer

    int8 = getattr(avatar, "mouth_model_int8", None) if choice == avatar.mouth_model else None
    # One thread per inference: the host frame path runs a batch's parts side by side, one per
    # core (ORT's own threads on 2 cores: 2.3 ms of wall a lite int8 frame at batch 8; two
    # single-thread halves side by side: 1.7 ms).
    return UNetRenderer.from_avatar(avatar, mouth_model_path(avatar, int8 or choice), threads=1)


def make_frame_path(avatar: Any, mouth: str = "auto", device: str = "auto", crop_size: int | str = 256
                    ) -> FramePath:
    """The frame path of ``avatar``, on the device asked for, chosen once.

    Args:
        avatar: a loaded :class:`dhsdk.avatar.Avatar`.
        mouth: ``"auto" | "warp" | "unet"`` (see :func:`make_renderer`).
        device: ``"cpu"``, ``"cuda"`` (a missing piece of the GPU path is an error) or
            ``"auto"`` (the GPU when it can run there, else the CPU, with a logged reason).
        crop_size: mouth crop side in pixels for the warp renderer, or ``"auto"``
            (:func:`auto_crop_size`).

    Raises:
        DeviceError: ``device="cuda"`` and the GPU path cannot run: no GPU, CuPy missing, or
            TensorRT missing for a UNet mouth (the message names it and how to install it).
    """
    from dhsdk.device import resolve_device
    from dhsdk.render.host_path import HostFramePath

    if crop_size == "auto":
        crop_size = auto_crop_size(avatar)
    renderer = make_renderer(avatar, mouth, int(crop_size))
    geometry = MouthGeometry.of(avatar, renderer.crop_size)
    path: FramePath
    if resolve_device(device) != "cuda":
        path = HostFramePath(avatar, geometry, renderer)
    else:
        try:
            from dhsdk.render.device_path import DeviceFramePath

            path = DeviceFramePath(avatar, geometry, renderer)
        except (DeviceError, ImportError) as e:
            if device == "cuda":
                raise DeviceError(f"device='cuda': the GPU frame path cannot run here: {e}") from e
            log.warning("device='auto': rendering frames on the CPU, the GPU frame path cannot run here: %s", e)
            path = HostFramePath(avatar, geometry, renderer)
    path.spec = PathSpec(avatar, mouth, path.device, int(crop_size))
    return path


@dataclass(frozen=True)
class PathSpec:
    """What :func:`make_frame_path` was given: enough to build the same path again elsewhere
    (a render worker process, :mod:`dhsdk.pipeline.workers`, unpickles it and calls
    :meth:`build`).

    Attributes:
        avatar: the avatar (pickled by the worker module: a bundle by its path).
        mouth: ``"auto" | "warp" | "unet"``.
        device: ``"cpu"`` or ``"cuda"``: where the original path renders.
        crop_size: the warp renderer's crop side.
    """

    avatar: Any
    mouth: str
    device: str
    crop_size: int

    def build(self) -> FramePath:
        """A new frame path from this spec."""
        return make_frame_path(self.avatar, self.mouth, self.device, self.crop_size)

