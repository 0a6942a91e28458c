"""A numpy-backed stand-in for the CuPy surface dhsdk's GPU path uses, and for the ``cuda_*``
launchers of ``dhsdk._C``, so every dispatch decision runs without a GPU.

"Device" arrays are numpy memory behind a version-3 ``__cuda_array_interface__``; the fake
launchers read them through their pointers and compute with the emulated CUDA launch
(``dhsdk._C.emulated``), so a GPU path's results must equal the CPU path's bit for bit. Streams,
events, uploads, downloads and allocations are logged as ``(what, stream, ...)`` tuples.
Tests outside tests/cuda import this module after putting tests/cuda on ``sys.path``.
"""
from __future__ import annotations

import ctypes
import itertools
import sys
import threading
import types

import numpy as np
import pytest

from dhsdk import _C
from dhsdk.device import cuda_problem


class FakeArray:
    """A "device" array: numpy memory behind a version-3 __cuda_array_interface__ whose stream is
    ``stream``, or, for arrays made by FakeCupy, CuPy's: the stream current when the interface is
    read (1, the legacy default, for the null stream)."""

    def __init__(self, a: np.ndarray, stream: int | None = None, cp: "FakeCupy | None" = None):
        self.a, self.stream, self.cp = a, stream, cp

    @property
    def __cuda_array_interface__(self) -> dict:
        stream = (self.cp.current or 1) if self.cp else self.stream
        return {"shape": self.a.shape, "typestr": self.a.dtype.str, "data": (self.a.ctypes.data, False),
                "strides": None if self.a.flags.c_contiguous else self.a.strides, "version": 3, "stream": stream}

    # the ndarray surface the GPU path uses
    shape = property(lambda self: self.a.shape)
    dtype = property(lambda self: self.a.dtype)

    def __getitem__(self, index):
        return FakeArray(self.a[index], self.stream, self.cp)

    def copy(self) -> "FakeArray":
        self.cp.log.append(("copy", self.cp.current))
        return FakeArray(self.a.copy(), cp=self.cp)

    def get(self, stream=None, out=None, blocking=True):
        self.cp.log.append(("download", stream.ptr if stream is not None else self.cp.current, blocking))
        if out is None:
            return self.a.copy()
        out[...] = self.a
        return out


class FakeStream:
    def __init__(self, cp: "FakeCupy", ptr: int):
        self.cp, self.ptr, self._saved = cp, ptr, []

    def __enter__(self):
        self._saved.append(self.cp.current)
        self.cp.current = self.ptr
        return self

    def __exit__(self, *exc):
        self.cp.current = self._saved.pop()

    def wait_event(self, event):
        self.cp.log.append(("wait", self.ptr, event.on))

    def synchronize(self):
        self.cp.log.append(("sync", self.ptr))


class FakeEvent:
    def __init__(self, disable_timing: bool = False):
        self.on, self.timing, self.done = None, not disable_timing, True

    def record(self, stream):
        self.on = stream.ptr

    def synchronize(self):
        pass


class FakeCupy(types.ModuleType):
    """Logs which stream each upload and allocation was made on. The current stream is per
    thread, as CuPy's is; ``cuda.Stream(...)`` makes streams with new handles from 1000 on."""

    def __init__(self):
        super().__init__("cupy")
        self._local = threading.local()
        self.log: list[tuple] = []
        handles = itertools.count(1000)

        class StreamType:
            null = FakeStream(self, 0)

            def __new__(cls, non_blocking: bool = False):
                return FakeStream(self, next(handles))

        self.cuda = types.SimpleNamespace(
            get_current_stream=lambda: FakeStream(self, self.current),
            runtime=types.SimpleNamespace(getDevice=lambda: 0),
            driver=types.SimpleNamespace(ctxGetCurrent=lambda: 0),
            get_elapsed_time=lambda a, b: 0.25,
            Event=FakeEvent, ExternalStream=lambda ptr: FakeStream(self, ptr), Stream=StreamType)

    current = property(lambda self: getattr(self._local, "current", 0),
                       lambda self, ptr: setattr(self._local, "current", ptr))

    def asarray(self, a, dtype=None):
        if isinstance(a, FakeArray):
            return a
        if hasattr(a, "__cuda_array_interface__"):  # a DeviceView: the same memory
            i = a.__cuda_array_interface__
            return FakeArray(host((i["data"][0], i["shape"], np.dtype(i["typestr"]), False)), cp=self)
        self.log.append(("upload", self.current))
        return FakeArray(np.array(a, dtype=dtype), cp=self)

    def asnumpy(self, a, stream=None):
        self.log.append(("download", stream.ptr if stream is not None else self.current, True))
        return np.array(a.a)

    def empty(self, shape, dtype):
        self.log.append(("alloc", self.current))
        return FakeArray(np.empty(shape, dtype), cp=self)

    def stack(self, arrays):
        self.log.append(("stack", self.current, len(arrays)))
        return FakeArray(np.stack([a.a for a in arrays]), cp=self)


def host(arg):
    """numpy view of a launcher's (ptr, shape, dtype, readonly) tuple over host memory."""
    if arg is None:
        return None
    ptr, shape, dtype, _ = arg
    dtype = np.dtype(dtype)
    raw = (ctypes.c_char * (int(np.prod(shape)) * dtype.itemsize)).from_address(ptr)
    return np.frombuffer(raw, dtype).reshape(shape)


class FakeLaunchers:
    """``cuda_*`` launchers over host memory. Where the real binding is compiled and no GPU
    exists, it first checks the very same arguments (and then fails to launch: no driver), so the
    facade's tuples must pass the real boundary checks; the emulated CUDA launch computes."""

    def __init__(self):
        self.streams = []
        self.calls: dict[str, int] = {}   # launcher name -> calls

    def _real_checks(self, name, *args):
        self.streams.append(args[-1])
        self.calls[name] = self.calls.get(name, 0) + 1
        if hasattr(_C, name) and cuda_problem() is not None:  # host pointers: never on a real GPU
            with pytest.raises(RuntimeError, match="CUDA"):
                getattr(_C, name)(*args)

    def cuda_composite(self, frame, crop, affine, mask, shape, ellipse, polygon, feather, stream):
        self._real_checks("cuda_composite", frame, crop, affine, mask, shape, ellipse, polygon, feather, stream)
        return _C.emulated.composite(host(frame), host(crop), affine, host(mask), shape, ellipse, host(polygon),
                                     feather)

    def cuda_crop(self, frame, affines, size, out, out_type, nchw, mean, std, border, value, mask, stream):
        self._real_checks("cuda_crop", frame, affines, size, out, out_type, nchw, mean, std, border, value, mask,
                          stream)
        host(out)[...] = _C.emulated.crop(host(frame), affines, size, out_type, nchw, mean, std, border, value,
                                          host(mask))

    def cuda_rgb_to_yuv(self, frame, out, nv12, bgr, standard, stream):
        self._real_checks("cuda_rgb_to_yuv", frame, out, nv12, bgr, standard, stream)
        host(out)[...] = _C.emulated.rgb_to_yuv(host(frame), nv12, bgr, standard)

    def cuda_composite_batch(self, frames, crops, affines, masks, stream):
        self._real_checks("cuda_composite_batch", frames, crops, affines, masks, stream)
        return _C.emulated.composite_batch([host(f) for f in frames], [host(c) for c in crops], affines,
                                           None if masks is None else [host(m) for m in masks])

    def cuda_crop_batch(self, frames, affines, size, out, out_type, nchw, mean, std, border, value, mask, stream):
        self._real_checks("cuda_crop_batch", frames, affines, size, out, out_type, nchw, mean, std, border, value,
                          mask, stream)
        host(out)[...] = _C.emulated.crop_batch([host(f) for f in frames], affines, size, out_type, nchw, mean,
                                                std, border, value, host(mask))

    def cuda_rgb_to_yuv_batch(self, frames, outs, nv12, bgr, standard, stream):
        self._real_checks("cuda_rgb_to_yuv_batch", frames, outs, nv12, bgr, standard, stream)
        for out, got in zip(outs, _C.emulated.rgb_to_yuv_batch([host(f) for f in frames], nv12, bgr, standard)):
            host(out)[...] = got

    def cuda_warp(self, src, ref, out, size, *rest):
        *mesh, scratch, scratch_bytes, stream = rest
        self._real_checks("cuda_warp", src, ref, out, size, *rest)
        image = lambda ptr: host((ptr, (size, size, 3), np.uint8, False))  # noqa: E731
        host((out, (size, size, 3), np.uint8, False))[...] = _C.emulated.warp(image(src), image(ref), *mesh)


def isolate_cupy(monkeypatch, fake: types.ModuleType, cupyx: object = None) -> None:
    """Make ``fake`` the only CuPy this test can reach: it answers ``import cupy``, and the real
    CuPy's submodules (imported by an earlier test on a GPU machine) are hidden, so ``import
    cupy.cuda`` fails instead of handing the real runtime a fake pointer or stream handle (on a
    real GPU that raised cudaErrorInvalidResourceHandle at cudaEventRecord)."""
    for name in list(sys.modules):
        if name.startswith(("cupy.", "cupyx", "cupy_backends")):
            monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "cupy", fake)
    monkeypatch.setitem(sys.modules, "cupyx", cupyx)


def install(monkeypatch) -> tuple[FakeCupy, FakeLaunchers]:
    """Make this process look like a GPU machine: the fakes in place of CuPy (and cupyx's pinned
    allocator) and of the launchers, and ``dhsdk.device.cuda_problem`` saying CUDA is usable.
    The real CUDA runtime stays out of reach (:func:`isolate_cupy`; the launchers are fakes),
    also on a machine with a GPU."""
    import dhsdk.cuda.launch
    import dhsdk.device

    cp, ext = FakeCupy(), FakeLaunchers()
    isolate_cupy(monkeypatch, cp, types.SimpleNamespace(empty_pinned=np.empty))
    monkeypatch.setattr(dhsdk.device, "cuda_problem", lambda: None)
    monkeypatch.setattr(dhsdk.cuda.launch, "_native", lambda: ext)
    return cp, ext
