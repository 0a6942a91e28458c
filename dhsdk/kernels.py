"""Python facade over the native image kernels (``dhsdk._C``): composite, crop, YUV conversion.

numpy arrays run on the CPU path (OpenMP). Images are HWC, C-contiguous, ``uint8``; affines are
``(2, 3)`` **crop -> frame** maps in pixel coordinates with pixel centres at integers (see
``dhsdk.geometry`` and DESIGN.md). CUDA arrays (``__cuda_array_interface__``/``__dlpack__``) are
rejected with a :class:`dhsdk.errors.DeviceError` until the CUDA launchers land.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from dhsdk.errors import DeviceError, InputError

_SHAPE_NONE, _SHAPE_ARRAY, _SHAPE_ELLIPSE, _SHAPE_POLYGON = 0, 1, 2, 3
_OUT_TYPES = {"u8": 0, "f32": 1, "f16": 2}
_BORDERS = {"constant": 0, "replicate": 1}
_NORMS = {"unit": ((0.0, 0.0, 0.0), (1.0, 1.0, 1.0)),
          "pm1": ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
          "imagenet": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))}
_YUV = ("i420", "nv12")


def _native():
    from dhsdk import _C

    return _C


def _host(*arrays: Any) -> None:
    """Raise DeviceError for device arrays (no CUDA launchers yet)."""
    for a in arrays:
        if a is not None and not isinstance(a, np.ndarray) and (
                hasattr(a, "__cuda_array_interface__") or hasattr(a, "__dlpack__")):
            raise DeviceError("dhsdk.kernels: CUDA arrays are not supported yet (CUDA launchers "
                              "not built); pass numpy arrays (e.g. tensor.cpu().numpy()).")


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


def composite(frame: np.ndarray, crop: np.ndarray, affine: np.ndarray, mask: np.ndarray | None = None,
              *, ellipse: Sequence[float] | None = None, polygon: Any = None, feather: float = 0.0,
              out_yuv: str | None = None, bgr: bool = False, standard: int = 601):
    """Blend ``crop`` into ``frame`` in place through the crop -> frame ``affine``.

    Only the bounding box of the crop's footprint is touched, in one pass. Alpha comes from
    ``mask`` (bilinearly sampled), else from the feathered ``ellipse``/``polygon``, else 1.

    Args:
        frame: ``(H, W, 3|4)`` uint8 RGB/BGR/BGRA, C-contiguous, modified in place.
        crop: ``(S, S, 3)`` uint8, or float32/float16 in [0, 1], same channel order as frame.
        affine: ``(2, 3)`` crop pixel -> frame pixel.
        mask: optional ``(S, S)`` float32 alpha in [0, 1].
        ellipse, polygon, feather: analytic mask (see :func:`feather_mask`).
        out_yuv: ``"i420"`` or ``"nv12"`` to also return the composited frame in 4:2:0.
        bgr: frame is BGR(A) (only for ``out_yuv``).
        standard: 601 or 709 (only for ``out_yuv``).

    Returns:
        ``(x0, y0, w, h)`` the touched ROI, or ``(roi, yuv)`` with ``out_yuv``.

    Raises:
        ValueError: bad dtype/shape/contiguity, or an affine that maps no crop pixel onto the frame.
    """
    _host(frame, crop, mask)
    shape, e, p = _shape_args(ellipse, polygon)
    if mask is not None:
        if shape != _SHAPE_NONE:
            raise InputError("give either mask=... or ellipse/polygon, not both")
        shape = _SHAPE_ARRAY
    roi = _native().composite(frame, crop, np.asarray(affine, np.float64), mask, shape, e, p, float(feather))
    if out_yuv is None:
        return roi
    return roi, _to_yuv(frame, out_yuv, bgr, standard)


def _to_yuv(frame: np.ndarray, kind: str, bgr: bool, standard: int) -> np.ndarray:
    if kind not in _YUV:
        raise InputError(f"out_yuv must be one of {_YUV}, got {kind!r}")
    _host(frame)
    return _native().rgb_to_yuv(frame, kind == "nv12", bool(bgr), int(standard))


def rgb_to_i420(frame: np.ndarray, *, bgr: bool = False, standard: int = 601) -> np.ndarray:
    """``(H, W, 3|4)`` uint8 (H, W even) -> ``(H*3/2, W)`` uint8 I420, limited range BT.601/709."""
    return _to_yuv(frame, "i420", bgr, standard)


def rgb_to_nv12(frame: np.ndarray, *, bgr: bool = False, standard: int = 601) -> np.ndarray:
    """``(H, W, 3|4)`` uint8 (H, W even) -> ``(H*3/2, W)`` uint8 NV12, limited range BT.601/709."""
    return _to_yuv(frame, "nv12", bgr, standard)


def crop(frame: np.ndarray, affines: np.ndarray, size: int, *, out: str = "u8", layout: str = "nchw",
         norm: str | tuple = "unit", mask: np.ndarray | None = None, border: str = "constant",
         border_value: float = 0.0) -> np.ndarray:
    """Sample B ``size`` x ``size`` crops from one frame, fused with normalisation.

    Args:
        frame: ``(H, W, 3|4)`` uint8, C-contiguous (first 3 channels sampled).
        affines: ``(2, 3)`` or ``(B, 2, 3)`` crop pixel -> frame pixel.
        size: crop side S.
        out: ``"u8"`` -> ``(B, S, S, 3)`` uint8; ``"f32"``/``"f16"`` -> normalised floats.
        layout: ``"nchw"`` -> ``(B, 3, S, S)`` or ``"nhwc"`` -> ``(B, S, S, 3)`` (floats only).
        norm: ``"unit"`` x/255, ``"pm1"`` to [-1, 1], ``"imagenet"``, or ``(mean3, std3)``
            applied as ``(x/255 - mean)/std``.
        mask: optional ``(S, S)`` float32; output pixels where mask > 0.5 are 0.
        border: ``"constant"`` (``border_value`` in 0..255) or ``"replicate"``.

    Returns:
        The batch array (a leading batch axis even for one affine).
    """
    _host(frame, mask)
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
    return _native().crop(frame, a, int(size), _OUT_TYPES[out], layout == "nchw", mean, std,
                          _BORDERS[border], float(border_value), mask)
