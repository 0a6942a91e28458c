"""Zero-copy views of CUDA device arrays from any library (DESIGN.md "Arrays").

:func:`device_view` reads the two exchange protocols GPU libraries speak and returns one
plain :class:`DeviceView` (pointer, shape, byte strides, dtype, device, stream), without
copying or touching the GPU:

* ``__cuda_array_interface__`` (versions 0-3; CuPy, Numba, PyCUDA, torch), a dict
  ``{"shape", "typestr", "data": (ptr, read_only), "strides", "version", "stream", "mask"}``;
* DLPack (``__dlpack__`` / ``__dlpack_device__``; CuPy, torch, JAX, ...): a PyCapsule named
  ``"dltensor_versioned"`` (DLPack >= 1.0, ``DLManagedTensorVersioned``) or ``"dltensor"``
  (``DLManagedTensor``), read with ctypes. The view takes ownership as the protocol requires:
  the capsule is renamed ``"used_..."`` and the producer's deleter runs when the view's
  ``owner`` is garbage-collected.

CPU arrays, non-contiguous arrays (when contiguity is required) and dtypes the engines
cannot take raise :class:`~dhsdk.errors.InputError` saying what to do instead.
"""
from __future__ import annotations

import ctypes
from typing import Any, NamedTuple

import numpy as np

from dhsdk.errors import InputError

# ---- DLPack ABI (dlpack.h, v1.1) ------------------------------------------------------
KDL_CPU, KDL_CUDA, KDL_CUDA_HOST, KDL_CUDA_MANAGED = 1, 2, 3, 13
_DL_DEVICE_NAMES = {1: "CPU", 2: "CUDA", 3: "CUDA pinned host", 4: "OpenCL", 7: "Vulkan", 8: "Metal",
                    10: "ROCm", 11: "ROCm pinned host", 13: "CUDA managed", 14: "oneAPI"}
DLPACK_FLAG_READ_ONLY = 1 << 0
# DLDataTypeCode -> numpy kind letter; bfloat16 (4) and float8 (7+) have no numpy dtype.
_DL_CODES = {0: "i", 1: "u", 2: "f", 5: "c", 6: "b"}


class DLDevice(ctypes.Structure):
    """``DLDevice``: device type (int32 enum) and ordinal."""

    _fields_ = [("device_type", ctypes.c_int32), ("device_id", ctypes.c_int32)]


class DLDataType(ctypes.Structure):
    """``DLDataType``: type code, bits per lane, lanes."""

    _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8), ("lanes", ctypes.c_uint16)]


class DLTensor(ctypes.Structure):
    """``DLTensor``: strides are in elements and may be NULL (compact row-major)."""

    _fields_ = [("data", ctypes.c_void_p), ("device", DLDevice), ("ndim", ctypes.c_int32),
                ("dtype", DLDataType), ("shape", ctypes.POINTER(ctypes.c_int64)),
                ("strides", ctypes.POINTER(ctypes.c_int64)), ("byte_offset", ctypes.c_uint64)]


class DLManagedTensor(ctypes.Structure):
    """Legacy (unversioned) managed tensor, capsule name ``"dltensor"``."""

    _fields_ = [("dl_tensor", DLTensor), ("manager_ctx", ctypes.c_void_p), ("deleter", ctypes.c_void_p)]


class DLPackVersion(ctypes.Structure):
    """``DLPackVersion``: a major mismatch means the layout is unknown."""

    _fields_ = [("major", ctypes.c_uint32), ("minor", ctypes.c_uint32)]


class DLManagedTensorVersioned(ctypes.Structure):
    """DLPack >= 1.0 managed tensor, capsule name ``"dltensor_versioned"``."""

    _fields_ = [("version", DLPackVersion), ("manager_ctx", ctypes.c_void_p), ("deleter", ctypes.c_void_p),
                ("flags", ctypes.c_uint64), ("dl_tensor", DLTensor)]


DLPACK_MAJOR = 1
_DELETER = ctypes.CFUNCTYPE(None, ctypes.c_void_p)
# Capsule names must outlive the capsule: module-level bytes constants do.
_NAME_V, _NAME, _USED_V, _USED = b"dltensor_versioned", b"dltensor", b"used_dltensor_versioned", b"used_dltensor"

_api = ctypes.pythonapi
_api.PyCapsule_IsValid.restype, _api.PyCapsule_IsValid.argtypes = ctypes.c_int, [ctypes.py_object, ctypes.c_char_p]
_api.PyCapsule_GetPointer.restype = ctypes.c_void_p
_api.PyCapsule_GetPointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
_api.PyCapsule_SetName.restype, _api.PyCapsule_SetName.argtypes = ctypes.c_int, [ctypes.py_object, ctypes.c_char_p]

# dtypes a device view may carry (what TensorRT engines and the CUDA kernels take).
SUPPORTED_DTYPES = frozenset(np.dtype(t) for t in (
    np.float16, np.float32, np.float64, np.int8, np.int16, np.int32, np.int64,
    np.uint8, np.uint16, np.uint32, np.uint64, np.bool_))


class DeviceView(NamedTuple):
    """A borrowed CUDA array: everything a kernel launcher or ``set_tensor_address`` needs.

    Immutable (a named tuple: made once per array and call, so it costs no more than a tuple).

    Attributes:
        ptr: device address of element [0, ..., 0] (DLPack ``byte_offset`` already added).
        shape: dimensions.
        strides_bytes: byte step per dimension (filled in for compact arrays).
        dtype: element type.
        device_id: CUDA ordinal; -1 when the producer does not say (``__cuda_array_interface__``
            carries no device: the pointer belongs to the device current when it was made).
        stream: the stream the data is ordered on: for ``__cuda_array_interface__`` the
            producer's stream (None: no synchronisation needed; 1 legacy default, 2 per-thread
            default, else a ``cudaStream_t``); for DLPack the stream that was requested
            (the producer has already made the data ready on it).
        readonly: the producer marked the memory read-only (do not use it as an output).
        owner: keeps the memory alive (the source object, or the DLPack deleter guard).
    """

    ptr: int
    shape: tuple[int, ...]
    strides_bytes: tuple[int, ...]
    dtype: np.dtype
    device_id: int
    stream: int | None
    readonly: bool
    owner: Any

    @property
    def size(self) -> int:
        """Number of elements."""
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def nbytes(self) -> int:
        """Bytes covered by a compact array of this shape."""
        return self.size * self.dtype.itemsize

    @property
    def is_c_contiguous(self) -> bool:
        """True when the elements are compact and row-major (size-1 axes ignored)."""
        return _is_c_contiguous(self.shape, self.strides_bytes, self.dtype.itemsize)

    @property
    def __cuda_array_interface__(self) -> dict:
        """Version-3 interface, so ``cupy.asarray(view)`` wraps the memory without a copy."""
        return {"shape": self.shape, "typestr": self.dtype.str, "data": (self.ptr, self.readonly),
                "strides": None if self.is_c_contiguous else self.strides_bytes,
                "version": 3, "stream": self.stream}


class _DLPackOwner:
    """Calls the producer's deleter exactly once, when the last view of it goes away."""

    def __init__(self, managed: int, deleter: int | None):
        self.managed = managed
        self.deleter = deleter

    def release(self) -> None:
        """Run the deleter now (idempotent)."""
        if self.deleter:
            deleter, self.deleter = self.deleter, None
            _DELETER(deleter)(self.managed)

    def __del__(self) -> None:
        self.release()


def _compact_strides(shape: tuple[int, ...], itemsize: int) -> tuple[int, ...]:
    strides, step = [], itemsize
    for dim in reversed(shape):
        strides.append(step)
        step *= max(dim, 1)
    return tuple(reversed(strides))


def _is_c_contiguous(shape: tuple[int, ...], strides: tuple[int, ...], itemsize: int) -> bool:
    if 0 in shape:
        return True
    expected = _compact_strides(shape, itemsize)
    return all(d == 1 or s == e for d, s, e in zip(shape, strides, expected))


def _type_name(obj: Any) -> str:
    t = type(obj)
    return f"{t.__module__}.{t.__qualname__}"


def _cpu_error(obj: Any, where: str) -> InputError:
    return InputError(f"got {where} ({_type_name(obj)}), but the GPU path needs a CUDA device array "
                      f"(CuPy, torch.cuda, PyCUDA or Numba): move it first, e.g. cupy.asarray(x) "
                      f"or x.cuda()")


# typestr -> dtype of the supported native dtypes ("<f4", "|u1", ...): the common case, no checks.
_NATIVE = {d.str: d for d in SUPPORTED_DTYPES if d.isnative}


def _check_dtype(dtype: np.dtype, obj: Any) -> np.dtype:
    if not dtype.isnative:
        raise InputError(f"{_type_name(obj)} has big-endian dtype {dtype.str}: convert it to native byte order")
    native = dtype.newbyteorder("=")
    if native not in SUPPORTED_DTYPES:
        raise InputError(f"{_type_name(obj)} has dtype {dtype.str!r}, which the GPU path does not take: "
                         f"use one of {sorted(d.name for d in SUPPORTED_DTYPES)} (e.g. x.astype('float32'))")
    return native


def _finish(obj: Any, ptr: int, shape: tuple[int, ...], strides: tuple[int, ...] | None, dtype: np.dtype,
            device_id: int, stream: int | None, readonly: bool, owner: Any, contiguous: bool) -> DeviceView:
    compact = strides is None  # the protocols' way of saying C-contiguous: nothing to check
    strides = _compact_strides(shape, dtype.itemsize) if compact else tuple(int(s) for s in strides)
    if len(strides) != len(shape):
        raise InputError(f"{_type_name(obj)}: {len(strides)} strides for a {len(shape)}-d shape {shape}")
    view = DeviceView(int(ptr), shape, strides, dtype, int(device_id), stream, bool(readonly), owner)
    if contiguous and not compact and not view.is_c_contiguous:
        raise InputError(f"{_type_name(obj)} of shape {shape} is not C-contiguous (byte strides {strides}): "
                         f"make a compact copy first (cupy.ascontiguousarray(x) or x.contiguous())")
    return view


def _from_cai(obj: Any, cai: dict, contiguous: bool) -> DeviceView:
    if cai.get("mask") is not None:
        raise InputError(f"{_type_name(obj)} is a masked device array: fill the masked values first")
    stream = cai.get("stream")
    if stream == 0:
        raise InputError(f"{_type_name(obj)} reports stream 0, which __cuda_array_interface__ v3 forbids "
                         f"(ambiguous): the producer must use 1 (legacy default) or 2 (per-thread default)")
    typestr = cai["typestr"]
    dtype = _NATIVE.get(typestr) or _check_dtype(np.dtype(typestr), obj)
    ptr, readonly = cai["data"]
    shape = tuple(int(d) for d in cai["shape"])
    return _finish(obj, ptr or 0, shape, cai.get("strides"), dtype, -1,
                   None if stream is None else int(stream), readonly, obj, contiguous)


def _dl_dtype(dt: DLDataType, obj: Any) -> np.dtype:
    kind = _DL_CODES.get(dt.code)
    if kind is None or dt.lanes != 1 or dt.bits % 8:
        what = {3: "an opaque handle", 4: "bfloat16"}.get(dt.code, f"code {dt.code}")
        raise InputError(f"{_type_name(obj)} has DLPack dtype {what} ({dt.bits} bits, {dt.lanes} lanes), which "
                         f"the GPU path does not take: cast it, e.g. x.float() / x.astype('float32')")
    if kind == "b":
        return _check_dtype(np.dtype(np.bool_), obj)
    return _check_dtype(np.dtype(f"{kind}{dt.bits // 8}"), obj)


def _dlpack_capsule(obj: Any, stream: int | None) -> Any:
    if stream == 0:  # DLPack forbids 0 (ambiguous) for CUDA: the default stream is 1 (legacy)
        stream = 1
    try:
        return obj.__dlpack__(stream=stream, max_version=(DLPACK_MAJOR, 0))
    except TypeError:  # producers older than DLPack 1.0 take no max_version
        return obj.__dlpack__(stream=stream)


def view_from_capsule(capsule: Any, source: Any = None, stream: int | None = None,
                      contiguous: bool = True) -> DeviceView:
    """Consume a DLPack capsule (versioned or not) and return the view that now owns it.

    Args:
        capsule: PyCapsule named ``"dltensor_versioned"`` or ``"dltensor"``, not yet used.
        source: the object it came from (kept alive by the view, named in errors).
        stream: the stream the capsule was requested for (recorded in the view).
        contiguous: require a C-contiguous array.

    Raises:
        InputError: used/invalid capsule, non-CUDA memory, unknown major version, dtype or layout.
    """
    who = source if source is not None else capsule
    if _api.PyCapsule_IsValid(capsule, _NAME_V):
        managed = _api.PyCapsule_GetPointer(capsule, _NAME_V)
        mt = DLManagedTensorVersioned.from_address(managed)
        owner = _DLPackOwner(managed, mt.deleter)
        if mt.version.major != DLPACK_MAJOR:
            _api.PyCapsule_SetName(capsule, _USED_V)
            owner.release()  # the spec allows only the deleter on an unknown major version
            raise InputError(f"{_type_name(who)} exported DLPack {mt.version.major}.{mt.version.minor}; this "
                             f"dhsdk reads DLPack {DLPACK_MAJOR}.x: upgrade dhsdk or the array library")
        tensor, readonly, used = mt.dl_tensor, bool(mt.flags & DLPACK_FLAG_READ_ONLY), _USED_V
    elif _api.PyCapsule_IsValid(capsule, _NAME):
        managed = _api.PyCapsule_GetPointer(capsule, _NAME)
        mt = DLManagedTensor.from_address(managed)
        owner = _DLPackOwner(managed, mt.deleter)
        tensor, readonly, used = mt.dl_tensor, False, _USED
    else:
        raise InputError(f"{_type_name(who)}.__dlpack__() did not return an unused DLPack capsule "
                         f"(a capsule can be consumed only once)")
    _api.PyCapsule_SetName(capsule, used)  # from here on the deleter is ours to call
    device = tensor.device
    if device.device_type not in (KDL_CUDA, KDL_CUDA_MANAGED):
        owner.release()
        if device.device_type == KDL_CPU:
            raise _cpu_error(who, "a CPU array (DLPack)")
        name = _DL_DEVICE_NAMES.get(device.device_type, "unknown")
        raise InputError(f"{_type_name(who)} lives on DLPack device {device.device_type} ({name}), not in "
                         f"CUDA device memory: copy it to the GPU first, e.g. cupy.asarray(x)")
    try:
        dtype = _dl_dtype(tensor.dtype, who)
        shape = tuple(int(tensor.shape[i]) for i in range(tensor.ndim))
        strides = (tuple(int(tensor.strides[i]) * dtype.itemsize for i in range(tensor.ndim))
                   if tensor.strides else None)
        return _finish(who, (tensor.data or 0) + int(tensor.byte_offset), shape, strides, dtype,
                       device.device_id, stream, readonly, (owner, source), contiguous)
    except InputError:
        owner.release()
        raise


def _cai_of(obj: Any) -> dict | None:
    try:
        return obj.__cuda_array_interface__
    except AttributeError:  # torch raises AttributeError on CPU tensors
        return None


def is_device_array(obj: Any) -> bool:
    """True when ``obj`` is a device array :func:`device_view` should read: a DeviceView, anything
    with ``__cuda_array_interface__``, or a DLPack producer not on the CPU. False for None, numpy,
    lists and CPU tensors. Exports nothing and makes no CUDA call."""
    if obj is None or isinstance(obj, np.ndarray):
        return False
    if isinstance(obj, DeviceView):
        return True
    is_cuda = getattr(obj, "is_cuda", None)  # torch: answers without building an interface
    if isinstance(is_cuda, bool):
        return is_cuda
    if hasattr(type(obj), "__cuda_array_interface__") or _cai_of(obj) is not None:
        return True
    if not hasattr(obj, "__dlpack__"):
        return False
    device = getattr(obj, "__dlpack_device__", None)
    return device is None or int(device()[0]) != KDL_CPU


def device_view(obj: Any, stream: int | None = None, contiguous: bool = True) -> DeviceView:
    """A zero-copy :class:`DeviceView` of a CUDA array from CuPy, torch, PyCUDA, Numba, JAX, ...

    ``__cuda_array_interface__`` v3 is preferred (no ownership transfer; its ``stream`` tells
    the consumer what to wait for); DLPack is used for objects that only speak DLPack and for
    those whose interface is older than v3 (torch), because the producer then orders its work
    before ``stream``. An object with only a pre-v3 interface (old Numba/PyCUDA) is read as is:
    its pending writes must be complete. Nothing is copied and no CUDA call is made.

    Args:
        obj: a device array, or a DeviceView (returned as is).
        stream: for DLPack producers, the ``cudaStream_t`` the caller will read the data on
            (None: the legacy default stream), so the producer can order its writes before it.
        contiguous: require C-contiguous memory (what TensorRT and the launchers take).

    Raises:
        InputError: a CPU array, a non-CUDA device, non-contiguous memory (if required), a
            masked array or an unsupported dtype; the message says how to convert.
    """
    if isinstance(obj, DeviceView):
        if contiguous and not obj.is_c_contiguous:
            raise InputError(f"DeviceView of shape {obj.shape} is not C-contiguous")
        return obj
    cai = _cai_of(obj)
    # __cuda_array_interface__ before v3 carries no stream, so nothing orders the producer's
    # pending writes before our reads (torch exports v2): prefer DLPack, which does, when offered.
    if cai is not None and (int(cai.get("version", 0)) >= 3 or not hasattr(obj, "__dlpack__")):
        return _from_cai(obj, cai, contiguous)
    if hasattr(obj, "__dlpack__"):
        if hasattr(obj, "__dlpack_device__"):  # ask first, so a CPU array is never exported
            dev_type, _ = obj.__dlpack_device__()
            if int(dev_type) == KDL_CPU:
                raise _cpu_error(obj, "a CPU array")
        return view_from_capsule(_dlpack_capsule(obj, stream), obj, stream, contiguous)
    if hasattr(obj, "__array_interface__") or isinstance(obj, (list, tuple, int, float)):
        raise _cpu_error(obj, "a CPU array")
    raise InputError(f"{_type_name(obj)} is not a device array: it has neither __cuda_array_interface__ "
                     f"nor __dlpack__ (pass a CuPy, torch.cuda, PyCUDA or Numba array)")
