"""Python facade over the native image kernels (``dhsdk._C``): composite, crop, YUV conversion.

numpy arrays run on the CPU path (OpenMP). CUDA arrays (CuPy, torch, Numba, PyCUDA: anything
with ``__cuda_array_interface__`` or DLPack) run the same kernel bodies through the CUDA
launchers, read in place and queued on ``stream`` (CuPy's current stream when None); device
outputs are CuPy arrays. A call's image arrays must all be on one side; affines, polygons and
ellipses are host values. Where the GPU path cannot run, a :class:`dhsdk.errors.DeviceError`
names what is missing and how to install it. Images are HWC, C-contiguous, ``uint8``; affines
are ``(2, 3)`` **crop -> frame** maps in pixel coordinates with pixel centres at integers (see
``dhsdk.geometry`` and DESIGN.md).
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from dhsdk.cuda.launch import Launch, on_device
from dhsdk.errors import InputError

_SHAPE_NONE, _SHAPE_ARRAY, _SHAPE_ELLIPSE, _SHAPE_POLYGON = 0, 1, 2, 3
_OUT_TYPES = {"u8": 0, "f32": 1, "f16": 2}
_OUT_DTYPES = {"u8": np.uint8, "f32": np.float32, "f16": np.float16}
_BORDERS = {"constant": 0, "replicate": 1}
_NORMS = {"unit": ((0.0, 0.0, 0.0), (1.0, 1.0, 1.0)),
          "pm1": ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
          "imagenet": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))}
_YUV = ("i420", "nv12")


def _native():
    from dhsdk import _C

    return _C


def _shape_args(ellipse: Sequence[float] | None, polygon: Any) -> tuple[int, tuple, Any]:
    if ellipse is not None and polygon is not None:
        raise InputError("give either ellipse=(cx, cy, rx, ry, angle) or polygon=(N, 2), not both")
    if ellipse is not None:
        e = tuple(float(v) for v in ellipse)
        if len(e) == 4:
            e = e + (0.0,)
        return _SHAPE_ELLIPSE, e, None
    if polygon is not None:
        return _SHAPE_POLYGON, (), np.ascontiguousarray(polygon, dtype=np.float32)
    return _SHAPE_NONE, (), None


def feather_mask(size: int, *, ellipse: Sequence[float] | None = None, polygon: Any = None,
                 feather: float = 0.0) -> np.ndarray:
    """The analytic soft mask ``composite`` uses, sampled at the crop's pixel centres.

    Args:
        size: crop side S in pixels.
        ellipse: ``(cx, cy, rx, ry[, angle_rad])`` in crop pixels.
        polygon: ``(N, 2)`` vertices in crop pixels (N >= 3, even-odd rule).
        feather: width in px of the linear alpha ramp centred on the boundary (0: hard edge).

    Returns:
        ``(S, S)`` float32 alpha in [0, 1].
    """
    shape, e, p = _shape_args(ellipse, polygon)
    if shape == _SHAPE_NONE:
        raise InputError("feather_mask needs ellipse=... or polygon=...")
    return _native().shape_mask(int(size), shape, e, p, float(feather))


def composite(frame: Any, crop: Any, affine: np.ndarray, mask: Any = None, *,
              ellipse: Sequence[float] | None = None, polygon: Any = None, feather: float = 0.0,
              out_yuv: str | None = None, bgr: bool = False, standard: int = 601, stream: Any = None):
    """Blend ``crop`` into ``frame`` in place through the crop -> frame ``affine``.

    Only the bounding box of the crop's footprint is touched, in one pass. Alpha comes from
    ``mask`` (bilinearly sampled), else from the feathered ``ellipse``/``polygon``, else 1.
    On CUDA arrays the blend (and the conversion, with ``out_yuv``) is queued on ``stream``.

    Args:
        frame: ``(H, W, 3|4)`` uint8 RGB/BGR/BGRA, C-contiguous, modified in place.
        crop: ``(S, S, 3)`` uint8, or float32/float16 in [0, 1], same channel order as frame.
        affine: ``(2, 3)`` crop pixel -> frame pixel (host values).
        mask: optional ``(S, S)`` float32 alpha in [0, 1], on the frame's side.
        ellipse, polygon, feather: analytic mask (see :func:`feather_mask`; host values).
        out_yuv: ``"i420"`` or ``"nv12"`` to also return the composited frame in 4:2:0.
        bgr: frame is BGR(A) (only for ``out_yuv``).
        standard: 601 or 709 (only for ``out_yuv``).
        stream: CUDA stream for device arrays (CuPy, torch or int handle); None: CuPy's current.

    Returns:
        ``(x0, y0, w, h)`` the touched ROI, or ``(roi, yuv)`` with ``out_yuv`` (a CuPy array
        for device frames).

    Raises:
        ValueError: bad dtype/shape/contiguity, arrays on both host and GPU, or an affine that
            maps no crop pixel onto the frame.
        DeviceError: CUDA arrays where the GPU path cannot run (says what is missing).
    """
    shape, e, p = _shape_args(ellipse, polygon)
    if mask is not None:
        if shape != _SHAPE_NONE:
            raise InputError("give either mask=... or ellipse/polygon, not both")
        shape = _SHAPE_ARRAY
    affine = np.asarray(affine, np.float64)
    if on_device(frame=frame, crop=crop, mask=mask):
        gpu = Launch("cuda_composite", stream)
        roi = gpu(gpu.arg(frame, "frame"), gpu.arg(crop, "crop"), affine, gpu.arg(mask, "mask"), shape, e,
                  gpu.table(p, "polygon"), float(feather))
    else:
        roi = _native().composite(frame, crop, affine, mask, shape, e, p, float(feather))
    if out_yuv is None:
        return roi
    return roi, _to_yuv(frame, out_yuv, bgr, standard, stream)


def _to_yuv(frame: Any, kind: str, bgr: bool, standard: int, stream: Any) -> Any:
    if kind not in _YUV:
        raise InputError(f"out_yuv must be one of {_YUV}, got {kind!r}")
    nv12, bgr, standard = kind == "nv12", bool(bgr), int(standard)
    if not on_device(frame=frame):
        return _native().rgb_to_yuv(frame, nv12, bgr, standard)
    gpu = Launch("cuda_rgb_to_yuv", stream)
    arg = gpu.arg(frame, "frame")
    dims = arg[1]
    # A frame that is not (H, W, C) gets an empty output: the binding reports the frame first.
    out, out_arg = gpu.output((dims[0] * 3 // 2, dims[1]) if len(dims) == 3 else (0,), np.uint8)
    gpu(arg, out_arg, nv12, bgr, standard)
    return out


def rgb_to_i420(frame: Any, *, bgr: bool = False, standard: int = 601, stream: Any = None) -> Any:
    """``(H, W, 3|4)`` uint8 (H, W even) -> ``(H*3/2, W)`` uint8 I420, limited range BT.601/709.

    numpy in, numpy out; a CUDA array in, a CuPy array out, converted on ``stream``."""
    return _to_yuv(frame, "i420", bgr, standard, stream)


def rgb_to_nv12(frame: Any, *, bgr: bool = False, standard: int = 601, stream: Any = None) -> Any:
    """``(H, W, 3|4)`` uint8 (H, W even) -> ``(H*3/2, W)`` uint8 NV12, limited range BT.601/709.

    numpy in, numpy out; a CUDA array in, a CuPy array out, converted on ``stream``."""
    return _to_yuv(frame, "nv12", bgr, standard, stream)


def crop(frame: Any, affines: np.ndarray, size: int, *, out: str = "u8", layout: str = "nchw",
         norm: str | tuple = "unit", mask: Any = None, border: str = "constant",
         border_value: float = 0.0, stream: Any = None) -> Any:
    """Sample B ``size`` x ``size`` crops from one frame, fused with normalisation.

    Args:
        frame: ``(H, W, 3|4)`` uint8, C-contiguous (first 3 channels sampled).
        affines: ``(2, 3)`` or ``(B, 2, 3)`` crop pixel -> frame pixel (host values).
        size: crop side S.
        out: ``"u8"`` -> ``(B, S, S, 3)`` uint8; ``"f32"``/``"f16"`` -> normalised floats.
        layout: ``"nchw"`` -> ``(B, 3, S, S)`` or ``"nhwc"`` -> ``(B, S, S, 3)`` (floats only).
        norm: ``"unit"`` x/255, ``"pm1"`` to [-1, 1], ``"imagenet"``, or ``(mean3, std3)``
            applied as ``(x/255 - mean)/std``.
        mask: optional ``(S, S)`` float32 on the frame's side; output pixels where mask > 0.5 are 0.
        border: ``"constant"`` (``border_value`` in 0..255) or ``"replicate"``.
        stream: CUDA stream for a device frame (CuPy, torch or int handle); None: CuPy's current.

    Returns:
        The batch array (a leading batch axis even for one affine): numpy for a numpy frame, a
        CuPy array (written on ``stream``) for a CUDA frame.
    """
    if out not in _OUT_TYPES or border not in _BORDERS or layout not in ("nchw", "nhwc"):
        raise InputError(f"out must be one of {list(_OUT_TYPES)}, layout nchw|nhwc, border one of "
                         f"{list(_BORDERS)}; got {out!r}, {layout!r}, {border!r}")
    if isinstance(norm, str):
        if norm not in _NORMS:
            raise InputError(f"norm must be one of {list(_NORMS)} or (mean, std), got {norm!r}")
        norm = _NORMS[norm]
    mean, std = (tuple(float(v) for v in t) for t in norm)
    a = np.asarray(affines, np.float32)
    if a.ndim == 2:
        a = a[None]
    args = (int(size), _OUT_TYPES[out], layout == "nchw", mean, std, _BORDERS[border], float(border_value))
    if not on_device(frame=frame, mask=mask):
        return _native().crop(frame, a, *args, mask)
    gpu = Launch("cuda_crop", stream)
    s, batch = int(size), a.shape[0] if a.ndim else 1
    result, out_arg = gpu.output((batch, 3, s, s) if out != "u8" and layout == "nchw" else (batch, s, s, 3),
                                 _OUT_DTYPES[out])
    gpu(gpu.arg(frame, "frame"), gpu.table(a, "affines"), s, out_arg, *args[1:], gpu.arg(mask, "mask"))
    return result
