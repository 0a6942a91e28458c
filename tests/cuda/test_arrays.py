"""device_view against numpy as the reference layout: fake ``__cuda_array_interface__`` dicts
and hand-built DLPack capsules (versioned and legacy) that describe numpy arrays' memory."""
from __future__ import annotations

import ctypes
import gc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dhsdk.cuda import arrays
from dhsdk.cuda.arrays import (KDL_CPU, KDL_CUDA, DeviceView, DLManagedTensor, DLManagedTensorVersioned,
                               device_view, view_from_capsule)
from dhsdk.errors import InputError

_new_capsule = ctypes.pythonapi.PyCapsule_New
_new_capsule.restype = ctypes.py_object
_new_capsule.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]


class FakeCAI:
    """An object exposing a numpy array's memory through __cuda_array_interface__."""

    def __init__(self, a: np.ndarray, version: int = 3, **overrides):
        self.a = a
        self.iface = {"shape": a.shape, "typestr": a.dtype.str, "data": (a.ctypes.data, not a.flags.writeable),
                      "strides": None if a.flags.c_contiguous else a.strides, "version": version}
        self.iface.update(overrides)

    @property
    def __cuda_array_interface__(self) -> dict:
        return self.iface


class FakeDLPack:
    """A DLPack producer describing ``a`` as a CUDA tensor; counts its deleter calls."""

    def __init__(self, a: np.ndarray, device_type: int = KDL_CUDA, versioned: bool = True, flags: int = 0,
                 major: int = 1, code: int | None = None, bits: int | None = None, lanes: int = 1,
                 offset_elems: int = 0, null_strides: bool = False):
        self.a, self.deleted, self.requested = a, 0, []
        self.device_type, self.versioned = device_type, versioned
        self.shape = (ctypes.c_int64 * max(a.ndim, 1))(*a.shape)
        self.strides = (ctypes.c_int64 * max(a.ndim, 1))(*(s // a.itemsize for s in a.strides))
        kind = {"f": 2, "i": 0, "u": 1, "b": 6, "c": 5}[a.dtype.kind]
        self.managed = DLManagedTensorVersioned() if versioned else DLManagedTensor()
        t = self.managed.dl_tensor
        t.data = a.ctypes.data - offset_elems * a.itemsize
        t.byte_offset = offset_elems * a.itemsize
        t.device.device_type, t.device.device_id = device_type, 3
        t.ndim = a.ndim
        t.dtype.code, t.dtype.bits, t.dtype.lanes = code if code is not None else kind, bits or a.itemsize * 8, lanes
        t.shape = self.shape
        t.strides = None if null_strides else self.strides
        if versioned:
            self.managed.version.major, self.managed.version.minor = major, 1
            self.managed.flags = flags
        self._deleter = ctypes.CFUNCTYPE(None, ctypes.c_void_p)(self._delete)
        self.managed.deleter = ctypes.cast(self._deleter, ctypes.c_void_p).value

    def _delete(self, ptr: int) -> None:
        assert ptr == ctypes.addressof(self.managed)
        self.deleted += 1

    def capsule(self):
        name = arrays._NAME_V if self.versioned else arrays._NAME
        return _new_capsule(ctypes.addressof(self.managed), name, None)

    def __dlpack__(self, stream=None, max_version=None):
        self.requested.append((stream, max_version))
        return self.capsule()

    def __dlpack_device__(self):
        return (self.device_type, 3)


class LegacyDLPack(FakeDLPack):
    """A pre-1.0 producer: __dlpack__ takes no max_version."""

    def __dlpack__(self, stream=None):  # noqa: D105 - mirrors old producers
        self.requested.append((stream, None))
        return self.capsule()


def _layouts():
    base = np.arange(4 * 5 * 6, dtype=np.float32).reshape(4, 5, 6)
    return {"compact": base, "transposed": base.transpose(2, 0, 1), "sliced": base[:, 1:4, ::2],
            "row": base[1], "size1": base[:1]}


@pytest.mark.parametrize("layout", list(_layouts()))
def test_cai_matches_numpy_layout(layout):
    a = _layouts()[layout]
    v = device_view(FakeCAI(a), contiguous=False)
    assert v.ptr == a.ctypes.data and v.shape == a.shape and v.dtype == a.dtype
    assert v.strides_bytes == a.strides
    assert v.is_c_contiguous == a.flags.c_contiguous
    assert v.device_id == -1 and v.stream is None and not v.readonly


def test_cai_fields_stream_readonly_versions():
    a = np.zeros((2, 3), np.float16)
    a.flags.writeable = False
    v = device_view(FakeCAI(a, stream=12345))
    assert v.readonly and v.stream == 12345 and v.nbytes == a.nbytes
    assert device_view(FakeCAI(a, version=2)).shape == (2, 3)  # torch exports version 2
    with pytest.raises(InputError, match="stream 0"):
        device_view(FakeCAI(a, stream=0))
    with pytest.raises(InputError, match="masked"):
        device_view(FakeCAI(a, mask=object()))


@pytest.mark.parametrize("typestr,match", [(">f4", "big-endian"), ("|V8", "does not take"), ("<M8[s]", "does not take")])
def test_cai_rejects_dtypes(typestr, match):
    with pytest.raises(InputError, match=match):
        device_view(FakeCAI(np.zeros(4, np.float32), typestr=typestr))


def test_non_contiguous_is_refused_with_fix():
    with pytest.raises(InputError, match="ascontiguousarray"):
        device_view(FakeCAI(_layouts()["transposed"]))


def test_cpu_arrays_are_refused_with_fix():
    torch = pytest.importorskip("torch")
    for cpu in (np.zeros(3), torch.zeros(3), [1.0, 2.0]):
        with pytest.raises(InputError, match="CUDA device array.*cupy.asarray"):
            device_view(cpu)
    with pytest.raises(InputError, match="neither __cuda_array_interface__ nor __dlpack__"):
        device_view(object())


def test_view_reexports_cuda_array_interface():
    a = _layouts()["sliced"]
    v = device_view(FakeCAI(a), contiguous=False)
    again = device_view(FakeCAI(np.empty(0), **v.__cuda_array_interface__), contiguous=False)
    assert (again.ptr, again.shape, again.strides_bytes, again.dtype) == (v.ptr, v.shape, v.strides_bytes, v.dtype)
    assert device_view(v, contiguous=False) is v


@pytest.mark.parametrize("versioned", [True, False])
@pytest.mark.parametrize("layout", list(_layouts()))
def test_dlpack_matches_numpy_and_frees_once(versioned, layout):
    a = _layouts()[layout]
    producer = FakeDLPack(a, versioned=versioned, offset_elems=7)
    v = device_view(producer, stream=99, contiguous=False)
    assert v.ptr == a.ctypes.data  # byte_offset folded in
    assert (v.shape, v.strides_bytes, v.dtype, v.device_id, v.stream) == (a.shape, a.strides, a.dtype, 3, 99)
    assert producer.requested == [(99, (1, 0))]
    assert producer.deleted == 0
    del v
    gc.collect()
    assert producer.deleted == 1


def test_legacy_producer_without_max_version():
    a = np.ones((3, 2), np.int32)
    producer = LegacyDLPack(a, versioned=False, null_strides=True)  # NULL strides: compact
    v = device_view(producer)
    assert producer.requested == [(None, None)]  # the max_version call raised TypeError first
    assert v.strides_bytes == a.strides and v.dtype == np.int32
    del v
    gc.collect()
    assert producer.deleted == 1


def test_dlpack_readonly_flag_and_bool():
    v = device_view(FakeDLPack(np.zeros(5, np.bool_), flags=arrays.DLPACK_FLAG_READ_ONLY))
    assert v.readonly and v.dtype == np.bool_


def test_capsule_is_consumed_once():
    producer = FakeDLPack(np.zeros(4, np.float32))
    capsule = producer.capsule()
    view = view_from_capsule(capsule)
    with pytest.raises(InputError, match="consumed only once"):
        view_from_capsule(capsule)
    del view
    gc.collect()
    assert producer.deleted == 1


@pytest.mark.parametrize("kwargs,match", [
    ({"device_type": KDL_CPU}, "CPU array"),
    ({"device_type": 4}, "OpenCL"),
    ({"major": 2}, "DLPack 2.1"),
    ({"code": 4, "bits": 16}, "bfloat16"),
    ({"lanes": 4}, "4 lanes"),
])
def test_dlpack_errors_release_the_tensor(kwargs, match):
    producer = FakeDLPack(np.zeros((2, 2), np.float32), **kwargs)
    with pytest.raises(InputError, match=match):
        view_from_capsule(producer.capsule())
    assert producer.deleted == 1


def test_cpu_dlpack_device_is_refused_before_export():
    producer = FakeDLPack(np.zeros(2, np.float32), device_type=KDL_CPU)
    with pytest.raises(InputError, match="CPU array"):
        device_view(producer)
    assert producer.requested == []


@settings(max_examples=60, deadline=None)
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=4), data=st.data())
def test_contiguity_agrees_with_numpy(shape, data):
    base = np.zeros(shape, np.float64)
    perm = data.draw(st.permutations(range(len(shape))))
    steps = tuple(data.draw(st.sampled_from([1, 2])) if n > 1 else 1 for n in base.shape)
    a = base.transpose(perm)[tuple(slice(None, None, s) for s in steps)]
    v = DeviceView(0, a.shape, a.strides, a.dtype, 0, None, False, None)
    assert v.is_c_contiguous == a.flags.c_contiguous


class TorchLike(FakeDLPack):
    """Both protocols with a v2 interface, as torch CUDA tensors have."""

    @property
    def __cuda_array_interface__(self) -> dict:
        return FakeCAI(self.a, version=2).iface


def test_pre_v3_interface_defers_to_dlpack_for_stream_order():
    a = np.zeros((2, 3), np.float32)
    producer = TorchLike(a)
    v = device_view(producer, stream=0)
    assert producer.requested == [(1, (1, 0))]  # DLPack was used, with 0 mapped to the legacy stream
    assert v.device_id == 3
    del v
    gc.collect()
    assert producer.deleted == 1


@pytest.mark.gpu
def test_real_cupy_and_torch_arrays_are_viewed_in_place():
    cupy = pytest.importorskip("cupy")
    a = cupy.arange(24, dtype=cupy.float32).reshape(2, 3, 4)
    v = device_view(a)
    assert (v.ptr, v.shape, v.strides_bytes, v.dtype) == (a.data.ptr, a.shape, a.strides, np.float32)
    w = view_from_capsule(a.__dlpack__(), a)  # the DLPack route sees the same memory
    assert (w.ptr, w.shape, w.device_id) == (a.data.ptr, a.shape, a.device.id)
    with pytest.raises(InputError, match="not C-contiguous"):
        device_view(a.transpose(2, 0, 1))
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        t = torch.arange(6, device="cuda", dtype=torch.float16).reshape(2, 3)
        tv = device_view(t)  # torch exports interface v2, so this goes through DLPack
        assert (tv.ptr, tv.shape, tv.dtype) == (t.data_ptr(), (2, 3), np.float16)
