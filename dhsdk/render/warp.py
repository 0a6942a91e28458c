"""The weights-free warp renderer: the SDK's default mouth stage (DESIGN.md, "mouth").

Per frame: the target lips pass through the user controls (openness gain, temporal
smoothing, :mod:`dhsdk.render.smoothing`), the lower-face mesh (:mod:`dhsdk.render.mesh`) is
placed on the crop's own lips (source) and on the target lips (destination), both at the
mouth's *visible* inner edge (:func:`~dhsdk.render.mesh.visible_lips`), and one native pass
(``dhsdk._C.warp``, csrc/kernels/warp.h) warps the crop piecewise-affinely and fills the inner
mouth like a real one: a shaded cavity, the avatar's own teeth from its teeth bank
(:mod:`dhsdk.render.mouth_fill`), colour-matched to the frame, the lip edges blurred into the
aperture as much as the footage is blurred (:data:`BLUR_FRAME_PX`), and the crop's own open
mouth where the target is not more open. Pixels outside the mesh's fixed contour (inside the
mask support) are returned unchanged; the compositor blends the result with the mask.

Why it reads back right: the face mesh's reading of a mouth's opening follows what it sees
at the inner lip edge. Painting the aperture flat, or with the lips' own dark shadows in it,
makes small openings vanish; warping the lips to the tracked (not the visible) inner edge
makes large ones read ~0.8x. With the visible edge, a cavity keyed free of lip shadows and
the footage's blur, re-rendered real lip motion reads back linearly (measured by
``tests/render/test_warp_tracking.py`` and the lip-sync benchmark).

A CUDA crop (CuPy, torch, ...: see :mod:`dhsdk.cuda.launch`) runs the same pass through
``dhsdk._C.cuda_warp`` on the caller's stream; the mesh and lookup tables are built on the host
per frame as on the CPU (a few kB, uploaded by the launcher). :meth:`WarpRenderer.warp_device`
warps a batch: the targets prepared once for all, one output allocation, one launch per frame.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from dhsdk.cuda.launch import Launch, on_device
from dhsdk.errors import InputError
from dhsdk.models.condition import check_lips
from dhsdk.render.base import MouthRenderer
from dhsdk.render.mesh import LowerFaceMesh, inner_lut, mouth_span, visible_lips
from dhsdk.render.mouth_fill import MouthBank, MouthColours
from dhsdk.render.smoothing import LipControls

SOFT_PX = 1.0  # blur of synthesised edges without a known footage scale, crop pixels at S = 256
# Blur of real footage, in the footage's own pixels (camera, codec): the synthesised mouth's
# edges are blurred as much, scaled to crop pixels. Fitted on GRID s1 (re-rendered real lip
# motion reads back with the opening it was given, and the aperture's darkest tenth matches
# the real frames'): 0.8 frame px, i.e. 2.5 crop px at 3.2 crop px per frame px.
BLUR_FRAME_PX = 0.8
WARP_TILE = 16  # side of the kernel's triangle-binning tiles (WarpMesh::tile_shift = 4 in csrc)


def scratch_bytes(size: int, n_tris: int) -> int:
    """Device scratch ``cuda_warp`` needs at most for a mesh of ``n_tris`` triangles on S x S
    crops: the binding's bound ``4 * (13 T + 6 S + n + 1 + T n)`` bytes with n = ceil(S/16)^2
    tiles (13 floats per triangle, three (S, 2) float LUTs, the tile offsets and lists)."""
    tiles = (-(-int(size) // WARP_TILE)) ** 2
    return 4 * (13 * n_tris + 6 * size + tiles + 1 + n_tris * tiles)


class WarpRenderer(MouthRenderer):
    """Piecewise-affine mouth renderer with a synthesised inner mouth.

    Args:
        mask: (S, S) float32 lower-face mask in [0, 1] (1 = re-rendered); fixes S and the
            mesh's outer contour.
        neutral_lips: (40, 2) crop-pixel lips of the avatar's resting mouth (mesh rays).
        reference: (S, S, 3) uint8 RGB reference crop for the teeth bank and the synthetic
            colours, ideally the avatar's most open mouth (any frame of it works).
        reference_lips: (40, 2) crop-pixel lips of ``reference``.
        smoothing: temporal smoothing strength of the target lips in [0, 1] (0 = off).
        openness_gain: scales the target mouth opening (1 = as given).
        color_match: match the teeth bank and synthetic colours to each crop.
        fps: frame rate of the render calls (for the smoothing's time constants).
        blur_px: blur of the footage in crop pixels (the synthesised edges get as much);
            None: SOFT_PX at S = 256, scaled with S (:meth:`from_avatar` measures it).
    """

    def __init__(self, mask: np.ndarray, neutral_lips: np.ndarray, reference: np.ndarray,
                 reference_lips: np.ndarray, *, smoothing: float = 0.0,
                 openness_gain: float = 1.0, color_match: bool = True, fps: float = 25.0,
                 blur_px: float | None = None):
        mask = np.asarray(mask, np.float32)
        if mask.ndim != 2 or mask.shape[0] != mask.shape[1] or mask.shape[0] < 16:
            raise InputError(f"mask must be a square (S, S) float32 array with S >= 16, got shape {mask.shape}")
        self.crop_size = size = mask.shape[0]
        self.mask = np.clip(mask, 0.0, 1.0)
        neutral = check_lips(neutral_lips, size, "neutral_lips")
        self.mesh = LowerFaceMesh(self.mask, neutral)
        self.bank = MouthBank(self._check_crop(np.asarray(reference), "reference"),
                              check_lips(reference_lips, size, "reference_lips"), self.mask)
        self.controls = LipControls(smoothing, openness_gain, fps)
        self.color_match = bool(color_match)
        if blur_px is not None and not (np.isfinite(blur_px) and blur_px > 0):
            raise InputError(f"blur_px must be a positive number of crop pixels, got {blur_px}")
        self.soft = float(blur_px) if blur_px is not None else SOFT_PX * size / 256.0
        self._native = _native_warp()
        self._device_refs: dict[int, Any] = {}  # CUDA device -> the teeth bank uploaded there

    @classmethod
    def from_avatar(cls, avatar: Any, size: int = 256, **kwargs: Any) -> "WarpRenderer":
        """Build from an avatar: its mouth mask, neutral lips, its reference crop (its most
        open mouth) as the teeth bank, and the footage's blur from its crop scale.

        Args:
            avatar: has ``neutral_lips`` (40, 2) canonical, ``canonical_to_crop(size)``,
                ``mouth_mask(size)``, ``reference_crop(size)`` -> (crop, lips), ``fps`` and,
                optionally, ``crop_affine(size)`` (N, 2, 3) crop -> frame maps.
            size: crop side S.
            **kwargs: renderer options (``smoothing``, ``openness_gain``, ``color_match``, ``fps``,
                ``blur_px``).
        """
        from dhsdk.geometry import apply_affine

        crop, ref_lips = avatar.reference_crop(size)
        neutral = apply_affine(avatar.canonical_to_crop(size), avatar.neutral_lips)
        kwargs.setdefault("fps", float(getattr(avatar, "fps", 25.0)))
        if hasattr(avatar, "crop_affine"):
            kwargs.setdefault("blur_px", footage_blur(avatar.crop_affine(size)))
        return cls(avatar.mouth_mask(size), neutral, crop, ref_lips, **kwargs)

    def reset(self) -> None:
        """Forget the smoothing state (call at a cut or a new utterance)."""
        self.controls.reset()

    def _check_crop(self, crop: np.ndarray, what: str) -> np.ndarray:
        self._check_crop_layout(crop.shape, crop.dtype, what)
        return np.ascontiguousarray(crop)

    def _check_crop_layout(self, shape: tuple, dtype: Any, what: str) -> None:
        s = self.crop_size
        if tuple(shape) != (s, s, 3) or np.dtype(dtype) != np.uint8:
            raise InputError(f"{what}: expected a uint8 ({s}, {s}, 3) RGB crop for this renderer, got "
                             f"{np.dtype(dtype)} {tuple(shape)}; crop the frame at size {s}")

    def colours(self, crop: np.ndarray) -> MouthColours:
        """The colour match of a host crop (what :meth:`render` computes per call): pass it as
        ``colours=`` with the device copy of the same crop to save that call a host read-back."""
        return self.bank.colours(self._check_crop(np.asarray(crop), "crop"), self.color_match)

    def render(self, crop: Any, src_lips: np.ndarray, dst_lips: np.ndarray, *, stream: Any = None,
               colours: MouthColours | None = None) -> Any:
        """Warp the crop's lips (``src_lips``) to the target (``dst_lips``); see the base class.

        The target first goes through the openness gain and the temporal smoothing, so calls
        must come in frame order (``reset()`` at a cut).

        Args:
            crop: (S, S, 3) uint8 RGB, C-contiguous: numpy (CPU path, returns numpy) or a CUDA
                array (``cuda_warp`` queued on ``stream``, returns a new CuPy array; the crop must
                stay alive until the stream has run it).
            src_lips, dst_lips: (40, 2) float32 crop pixels (host values).
            stream: CUDA stream for a device crop (CuPy, torch or int handle); None: CuPy's current.
            colours: the crop's colour match when already known (:meth:`colours` of a host copy
                of the same crop); without it a device crop is read back once (S x S x 3 bytes,
                a host sync of ``stream``) for the statistics.

        Raises:
            InputError: wrong crop shape/dtype, or lips that are not (40, 2), contain NaN/inf or
                lie far outside the crop.
            DeviceError: a CUDA crop where ``cuda_warp`` cannot run (says what is missing).
        """
        if not on_device(crop=crop):
            return self.warp(self.source(crop, src_lips, colours), self.targets(np.asarray(dst_lips)[None]), 0)
        gpu = Launch("cuda_warp", stream, caller="WarpRenderer.render")
        crop_arg = gpu.arg(crop, "crop")
        self._check_crop_layout(crop_arg[1], crop_arg[2], "crop")
        if colours is None:
            colours = self.colours(gpu.download(crop))
        source = self.source(None, src_lips, colours)
        return self._warp_device(gpu, [crop_arg], [source], self.targets(np.asarray(dst_lips)[None]))[0]

    def warp_device(self, crops: Any, sources: Sequence[WarpSource], targets: WarpTargets, stream: Any = None) -> Any:
        """Warp B device crops to B prepared targets on ``stream`` (the device side of
        :meth:`warp`, for a batch): one allocation for the B outputs and one scratch buffer
        shared by the B launches (in stream order), ``cuda_warp`` once per frame.

        Args:
            crops: (B, S, S, 3) uint8 CUDA array, or a list of B (S, S, 3) ones, C-contiguous.
            sources: B :class:`WarpSource` of those crops (``crop`` None, colours known).
            targets: :meth:`targets` of B target shapes.
            stream: CUDA stream (CuPy, torch or int handle); None: CuPy's current.

        Returns:
            (B, S, S, 3) uint8 CuPy array, written on ``stream``.
        """
        gpu = Launch("cuda_warp", stream, caller="WarpRenderer.warp_device")
        items = gpu.items(crops, "crops")
        for i, item in enumerate(items):
            self._check_crop_layout(item[1], item[2], f"crops[{i}]")
        return self._warp_device(gpu, items, sources, targets)

    def _warp_device(self, gpu: Launch, items: list[tuple], sources: Sequence[WarpSource], targets: WarpTargets
                     ) -> Any:
        s = self.crop_size
        out, out_args = gpu.outputs([(s, s, 3)] * len(items), np.uint8, stacked=True)
        nbytes = scratch_bytes(s, len(self.mesh.triangles))
        _, scratch = gpu.output((nbytes,), np.uint8)
        ref = self._device_ref(gpu)[0]
        for i, (item, out_arg) in enumerate(zip(items, out_args)):
            gpu(item[0], ref, out_arg[0], s, *self._args(sources[i], targets, i), scratch[0], nbytes)
        return out

    def render_batch(self, crops: np.ndarray, src_lips: np.ndarray, dst_lips: np.ndarray) -> np.ndarray:
        """Batched :meth:`render` of host crops: (B, S, S, 3), (B, 40, 2), (B, 40, 2) -> (B, S, S, 3)."""
        targets = self.targets(dst_lips)
        return np.stack([self.warp(self.source(c, s), targets, i) for i, (c, s) in enumerate(zip(crops, src_lips))])

    def _device_ref(self, gpu: Launch) -> tuple:
        """The teeth bank on the launch's device (uploaded and waited for once per device), as an
        :meth:`Launch.arg` tuple."""
        if gpu.device not in self._device_refs:
            ref, _ = gpu.upload(self.bank.image, "reference")
            gpu.synchronize()  # the upload is done: any stream may read it from now on
            self._device_refs[gpu.device] = ref
        return gpu.arg(self._device_refs[gpu.device], "reference")

    def source(self, crop: np.ndarray | None, src_lips: np.ndarray, colours: MouthColours | None = None) -> WarpSource:
        """What the warp needs of one source crop, computed once per crop (a frame path keeps it
        per base frame, whose crop never changes).

        Args:
            crop: (S, S, 3) uint8 host crop, or None with ``colours`` given (a device crop).
            src_lips: (40, 2) crop-pixel lips as they are in the crop.
            colours: the crop's colour match (computed from ``crop`` when None).
        """
        s = self.crop_size
        src = check_lips(src_lips, s, "src_lips")
        if crop is not None:
            crop = self._check_crop(np.asarray(crop), "crop")
            if colours is None:
                colours = self.bank.colours(crop, self.color_match)
        cx, _ = mouth_span(src)
        shown = visible_lips(src)
        return WarpSource(crop, self.mesh.vertices(shown), inner_lut(shown, s), float(cx), colours)

    def targets(self, dst_lips: np.ndarray) -> WarpTargets:
        """What the warp needs of B target shapes, for all of them at once (advances the
        smoothing by B frames, in order).

        Args:
            dst_lips: (B, 40, 2) float32 crop-pixel target lips.
        """
        s = self.crop_size
        dst = np.asarray(dst_lips, np.float32)
        if dst.ndim != 3 or dst.shape[1:] != (40, 2):
            raise InputError(f"dst_lips: expected (B, 40, 2) lip keypoints in crop pixels, got shape {dst.shape}")
        dst = self.mesh.limit(np.stack([self.controls(check_lips(d, s, "dst_lips")) for d in dst]))
        cx, half_w = mouth_span(dst)
        shown = visible_lips(dst)
        return WarpTargets(self.mesh.vertices(shown), inner_lut(shown, s), cx, half_w)

    def warp(self, source: WarpSource, targets: WarpTargets, i: int) -> np.ndarray:
        """Render target ``i`` of ``targets`` from the host ``source``: (S, S, 3) uint8, a new
        array (the native pass releases the GIL)."""
        return self._native(source.crop, self.bank.image, *self._args(source, targets, i))

    def kernel_args(self, crop: np.ndarray, src_lips: np.ndarray, dst_lips: np.ndarray,
                    colours: MouthColours | None = None) -> tuple:
        """The positional arguments of ``dhsdk._C.warp`` for one frame (advances the smoothing).

        Exposed so tests can run the same call through ``dhsdk._C.emulated.warp``.
        """
        source = self.source(crop, src_lips, colours)
        return (source.crop, self.bank.image, *self._args(source, self.targets(np.asarray(dst_lips)[None]), 0))

    def _args(self, source: WarpSource, targets: WarpTargets, i: int) -> tuple:
        """The warp arguments after the two images for target ``i``."""
        bank, mesh, c = self.bank, self.mesh, source.colours
        cx, half_w = float(targets.cx[i]), float(targets.half_w[i])
        return (source.vertices, targets.vertices[i], mesh.triangles, mesh.n_mouth, targets.lut[i], source.lut,
                bank.lut, source.cx - cx, bank.centre - cx, cx, half_w,
                c.gain, c.offset, c.cavity, c.teeth, bank.key, bank.teeth_h, self.soft)


@dataclass(frozen=True)
class WarpSource:
    """One source crop prepared for the warp (see :meth:`WarpRenderer.source`).

    Attributes:
        crop: (S, S, 3) uint8 host crop, or None for a device crop.
        vertices: (100, 2) float32 mesh on the crop's own (visible) lips.
        lut: (S, 2) float32 inner-lip column table of the crop's visible lips.
        cx: centre column of the crop's inner mouth, px.
        colours: the crop's colour match.
    """

    crop: np.ndarray | None
    vertices: np.ndarray
    lut: np.ndarray
    cx: float
    colours: MouthColours


@dataclass(frozen=True)
class WarpTargets:
    """B target shapes prepared for the warp (see :meth:`WarpRenderer.targets`).

    Attributes:
        vertices: (B, 100, 2) float32 mesh on the target's visible lips.
        lut: (B, S, 2) float32 inner-lip column tables of the visible lips.
        cx, half_w: (B,) float64 centre column and half width of each target's inner mouth, px.
    """

    vertices: np.ndarray
    lut: np.ndarray
    cx: np.ndarray
    half_w: np.ndarray


def footage_blur(crop_affine: np.ndarray) -> float:
    """Blur of an avatar's footage in crop pixels: BLUR_FRAME_PX frame pixels times the crops'
    median scale (crop pixels per frame pixel), at least SOFT_PX.

    Args:
        crop_affine: (N, 2, 3) crop -> frame affines of the base frames.
    """
    linear = np.asarray(crop_affine, np.float64)[..., :2]
    frame_per_crop = np.sqrt(np.abs(np.linalg.det(linear)))
    return float(max(SOFT_PX, BLUR_FRAME_PX / max(float(np.median(frame_per_crop)), 1e-6)))


def _native_warp() -> Any:
    try:
        from dhsdk import _C
    except ImportError as e:  # pragma: no cover - the extension is part of the install
        raise ImportError("dhsdk._C (the native kernels) is not built: run 'make build' or "
                          "'pip install .' in the dhsdk checkout") from e
    return _C.warp
