"""Python facade over the native image kernels (``dhsdk._C``): composite, crop, YUV conversion,
each for one frame and as a batch of N frames in one call (``*_batch``: one threaded pass over
all frames' rows on the host, one launch per parameter table on a GPU; Python cost per call,
not per frame).

numpy arrays run on the CPU path (the kernels' own threads). CUDA arrays (CuPy, torch, Numba,
PyCUDA: anything with ``__cuda_array_interface__`` or DLPack) run the same kernel bodies through
the CUDA launchers, read in place and queued on ``stream`` (CuPy's current stream when None); device
outputs are CuPy arrays. A call's image arrays must all be on one side; affines, polygons and
ellipses are host values. Where the GPU path cannot run, a :class:`dhsdk.errors.DeviceError`
names what is missing and how to install it. Images are HWC, C-contiguous, ``uint8``; affines
are ``(2, 3)`` **crop -> frame** maps in pixel coordinates with pixel centres at integers (see
``dhsdk.geometry`` and DESIGN.md).
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from dhsdk.cuda.arrays import is_device_array
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
    args = _crop_args(size, out, layout, norm, border, border_value)
    a = np.asarray(affines, np.float32)
    if a.ndim == 2:
        a = a[None]
    if not on_device(frame=frame, mask=mask):
        return _native().crop(frame, a, *args, mask)
    gpu = Launch("cuda_crop", stream)
    result, out_arg = gpu.output(_crop_shape(a.shape[0] if a.ndim == 3 else 1, int(size), out, layout),
                                 _OUT_DTYPES[out])
    gpu(gpu.arg(frame, "frame"), a, args[0], out_arg, *args[1:], gpu.arg(mask, "mask"))
    return result


def _crop_args(size: int, out: str, layout: str, norm: str | tuple, border: str, border_value: float) -> tuple:
    """The binding's (size, out_type, nchw, mean, std, border, border_value) for crop options."""
    if out not in _OUT_TYPES or border not in _BORDERS or layout not in ("nchw", "nhwc"):
        raise InputError(f"out must be one of {list(_OUT_TYPES)}, layout nchw|nhwc, border one of "
                         f"{list(_BORDERS)}; got {out!r}, {layout!r}, {border!r}")
    if isinstance(norm, str):
        if norm not in _NORMS:
            raise InputError(f"norm must be one of {list(_NORMS)} or (mean, std), got {norm!r}")
        norm = _NORMS[norm]
    mean, std = (tuple(float(v) for v in t) for t in norm)
    return int(size), _OUT_TYPES[out], layout == "nchw", mean, std, _BORDERS[border], float(border_value)


def _crop_shape(batch: int, s: int, out: str, layout: str) -> tuple[int, ...]:
    return (batch, 3, s, s) if out != "u8" and layout == "nchw" else (batch, s, s, 3)


# ---- batches: N frames per call ----------------------------------------------------------
def _batch_list(objs: Any, name: str, item_ndim: int) -> list:
    """A host batch argument as the list the bindings take: a sequence, or a stacked array of
    ``item_ndim + 1`` dimensions (its first axis is the batch)."""
    if isinstance(objs, np.ndarray):
        if objs.ndim != item_ndim + 1:
            raise InputError(f"{name} must be a list of arrays or one array with a leading batch axis "
                             f"({item_ndim + 1} dimensions), got shape {objs.shape}")
        return list(objs)
    if not isinstance(objs, (list, tuple)):
        raise InputError(f"{name} must be a list of arrays or one stacked array, got {type(objs).__name__}")
    return list(objs)


def _batch_affines(affines: Any, n: int, dtype: Any) -> np.ndarray:
    a = np.ascontiguousarray(affines, dtype)
    if a.shape != (n, 2, 3):
        raise InputError(f"affines must be (N, 2, 3) = ({n}, 2, 3) crop -> frame maps, one per frame, "
                         f"got shape {a.shape}")
    return a


def composite_batch(frames: Any, crops: Any, affines: Any, masks: Any = None, *, stream: Any = None) -> np.ndarray:
    """:func:`composite` of N frames in one call: crop i is blended into frame i, in place.

    All rows of all N ROIs are shared out among the CPU threads or covered by one CUDA
    launch per table of up to ~28 items (the table travels in the kernel's parameters: nothing
    is uploaded, and the launch can be captured in a CUDA graph). Equal, bit for bit, to N
    :func:`composite` calls on the host; on the GPU within one level of them (FMA contraction).

    Args:
        frames: N frames ``(H_i, W_i, 3|4)`` uint8, C-contiguous, modified in place: a list (sizes
            may differ) or one stacked ``(N, H, W, C)`` array. Each frame at most once per batch.
        crops: N crops ``(S_i, S_i, 3)`` uint8, or float32/float16 in [0, 1]: a list or a stacked
            ``(N, S, S, 3)`` array, in the frames' channel order.
        affines: ``(N, 2, 3)`` crop pixel -> frame pixel maps (host values).
        masks: None (alpha 1 everywhere), one ``(S, S)`` float32 alpha shared by every item, or a
            list of N items each None or ``(S_i, S_i)`` float32 (a stacked ``(N, S, S)`` array
            also works). Masks live on the frames' side (host or GPU).
        stream: CUDA stream for device arrays (CuPy, torch or int handle); None: CuPy's current.

    Returns:
        ``(N, 4)`` int32 numpy array: each item's touched ROI ``(x0, y0, w, h)`` (computed on the
        host, returned at once also for device frames).

    Raises:
        ValueError: a bad shape/dtype/contiguity (the message names the item, e.g. ``crops[2]``),
            a frame given twice, arrays on both host and GPU, or an affine that maps no pixel of
            its crop onto its frame.
        DeviceError: CUDA arrays where the GPU path cannot run (says what is missing).
    """
    shared_mask = masks is not None and not isinstance(masks, (list, tuple)) and len(getattr(masks, "shape", ())) == 2
    if on_device(frames=_first(frames), crops=_first(crops), masks=_first(masks)):
        gpu = Launch("cuda_composite_batch", stream)
        f_args = gpu.items(frames, "frames")
        a = _batch_affines(affines, len(f_args), np.float64)
        if masks is None:
            m_args = None
        elif shared_mask:
            m_args = [gpu.arg(masks, "masks")] * len(f_args)
        elif is_device_array(masks):
            m_args = gpu.items(masks, "masks")
        else:
            m_args = [None if m is None else gpu.arg(m, f"masks[{i}]") for i, m in enumerate(masks)]
        return gpu(f_args, gpu.items(crops, "crops"), a, m_args)
    f_list = _batch_list(frames, "frames", 3)
    a = _batch_affines(affines, len(f_list), np.float64)
    if masks is not None:
        masks = [masks] * len(f_list) if shared_mask else _batch_list(masks, "masks", 2)
    return _native().composite_batch(f_list, _batch_list(crops, "crops", 3), a, masks)


def _first(objs: Any) -> Any:
    """The first item of a batch argument (for deciding the side), or the stacked array itself."""
    if isinstance(objs, (list, tuple)):
        return next((o for o in objs if o is not None), None)
    return objs


def crop_batch(frames: Any, affines: Any, size: int, *, out: str = "u8", layout: str = "nchw",
               norm: str | tuple = "unit", mask: Any = None, border: str = "constant",
               border_value: float = 0.0, stream: Any = None) -> Any:
    """:func:`crop` of N frames in one call: crop i is sampled from frame i through affine i.

    Args:
        frames: N frames ``(H_i, W_i, 3|4)`` uint8, C-contiguous: a list (sizes may differ) or one
            stacked ``(N, H, W, C)`` array.
        affines: ``(N, 2, 3)`` crop pixel -> frame pixel maps (host values).
        size: crop side S, shared by the batch.
        out, layout, norm, mask, border, border_value: as for :func:`crop` (one mask for all).
        stream: CUDA stream for device frames; None: CuPy's current.

    Returns:
        ``(N, S, S, 3)`` uint8, or float32/float16 ``(N, 3, S, S)`` (nchw) / ``(N, S, S, 3)``:
        numpy for host frames, a CuPy array (written on ``stream``) for device frames. Item i
        equals ``crop(frames[i], affines[i], size, ...)[0]`` bit for bit on the host.
    """
    args = _crop_args(size, out, layout, norm, border, border_value)
    if not on_device(frames=_first(frames), mask=mask):
        f_list = _batch_list(frames, "frames", 3)
        return _native().crop_batch(f_list, _batch_affines(affines, len(f_list), np.float32), *args, mask)
    gpu = Launch("cuda_crop_batch", stream)
    f_args = gpu.items(frames, "frames")
    a = _batch_affines(affines, len(f_args), np.float32)
    result, out_arg = gpu.output(_crop_shape(len(f_args), int(size), out, layout), _OUT_DTYPES[out])
    gpu(f_args, a, args[0], out_arg, *args[1:], gpu.arg(mask, "mask"))
    return result


def _yuv_batch(frames: Any, kind: str, bgr: bool, standard: int, stream: Any) -> Any:
    nv12, bgr, standard = kind == "nv12", bool(bgr), int(standard)
    if not on_device(frames=_first(frames)):
        outs = _native().rgb_to_yuv_batch(_batch_list(frames, "frames", 3), nv12, bgr, standard)
        return np.stack(outs) if isinstance(frames, np.ndarray) else outs
    gpu = Launch("cuda_rgb_to_yuv_batch", stream)
    f_args = gpu.items(frames, "frames")
    shapes = [(a[1][0] * 3 // 2, a[1][1]) if len(a[1]) == 3 else (0,) for a in f_args]
    outs, out_args = gpu.outputs(shapes, np.uint8, stacked=is_device_array(frames))
    gpu(f_args, out_args, nv12, bgr, standard)
    return outs


def rgb_to_nv12_batch(frames: Any, *, bgr: bool = False, standard: int = 601, stream: Any = None) -> Any:
    """:func:`rgb_to_nv12` of N frames in one call.

    Args:
        frames: a list of N ``(H_i, W_i, 3|4)`` uint8 frames (H_i, W_i even; sizes may differ), or
            one stacked ``(N, H, W, C)`` array; numpy or CUDA arrays.
        bgr, standard: as for :func:`rgb_to_nv12`.
        stream: CUDA stream for device frames; None: CuPy's current.

    Returns:
        For a list: a list of N ``(H_i*3/2, W_i)`` uint8 arrays; for a stacked array: one
        ``(N, H*3/2, W)`` array. numpy for host frames, CuPy (written on ``stream``) for device ones.
    """
    return _yuv_batch(frames, "nv12", bgr, standard, stream)


def rgb_to_i420_batch(frames: Any, *, bgr: bool = False, standard: int = 601, stream: Any = None) -> Any:
    """:func:`rgb_to_i420` of N frames in one call; arguments and results as :func:`rgb_to_nv12_batch`."""
    return _yuv_batch(frames, "i420", bgr, standard, stream)
