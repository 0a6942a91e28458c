"""dhsdk.kernels on CUDA arrays, without a GPU: which side a call runs on, the DeviceError where
the GPU path cannot run, and the full dispatch (argument tuples, caller's stream, producer-stream
waits, uploads, outputs) against the numpy-backed CuPy stand-in of fake_gpu, whose "launchers"
run the emulated CUDA launch, so the GPU path's results must equal the CPU path's bit for bit."""
from __future__ import annotations

import sys
import types

import numpy as np
import pytest

import dhsdk.cuda.launch
from dhsdk import kernels
from dhsdk.cuda import is_device_array
from dhsdk.cuda.arrays import KDL_CPU
from dhsdk.cuda.launch import Launch, on_device
from dhsdk.device import cuda_problem
from dhsdk.errors import DeviceError, InputError
from fake_gpu import FakeArray, FakeCupy, FakeLaunchers, isolate_cupy
from test_arrays import FakeCAI, FakeDLPack


@pytest.fixture
def gpu(monkeypatch):
    """(fake CuPy, fake launchers) installed where dhsdk.cuda.launch looks for them."""
    cp, ext = FakeCupy(), FakeLaunchers()
    isolate_cupy(monkeypatch, cp)
    monkeypatch.setattr(dhsdk.cuda.launch, "missing_gpu_pieces", lambda need: [])
    monkeypatch.setattr(dhsdk.cuda.launch, "_native", lambda: ext)
    return cp, ext


RNG = np.random.default_rng(0)
FRAME = RNG.integers(0, 256, (37, 52, 3), dtype=np.uint8)
AFFINE = np.array([[1.3, -0.4, 14.2], [0.4, 1.3, 3.7]])


# ---- where a call runs -------------------------------------------------------------------
def test_device_arrays_are_recognised_without_exporting():
    torch = pytest.importorskip("torch")
    cpu_dlpack = FakeDLPack(np.zeros(2, np.float32), device_type=KDL_CPU)
    assert [is_device_array(a) for a in (None, FRAME, [1, 2], torch.zeros(2), cpu_dlpack)] == [False] * 5
    cuda_dlpack = FakeDLPack(np.zeros(2, np.float32))
    assert is_device_array(FakeCAI(FRAME)) and is_device_array(cuda_dlpack)
    assert cpu_dlpack.requested == [] and cuda_dlpack.requested == []


def test_a_call_runs_on_one_side():
    assert on_device(frame=FRAME, mask=None) is False
    assert on_device(frame=FakeCAI(FRAME), crop=FakeCAI(FRAME), mask=None) is True
    with pytest.raises(InputError, match="frame, mask on the GPU but crop on the host.*cupy.asarray"):
        kernels.composite(FakeCAI(FRAME), FRAME[:8, :8], AFFINE, mask=FakeCAI(np.ones((8, 8), np.float32)))


# ---- where the GPU path cannot run -----------------------------------------------------
@pytest.mark.skipif(cuda_problem() is None, reason="a usable GPU is present")
@pytest.mark.parametrize("call", [
    lambda: kernels.composite(FakeCAI(FRAME), FakeCAI(FRAME[:8, :8].copy()), AFFINE),
    lambda: kernels.crop(FakeCAI(FRAME), AFFINE, 8),
    lambda: kernels.rgb_to_nv12(FakeCAI(FRAME[:36])),
])
def test_without_a_gpu_the_error_names_the_missing_pieces(call):
    with pytest.raises(DeviceError, match=r"got CUDA arrays, but cuda_\w+ cannot run here:\n  CUDA: ") as e:
        call()
    assert "install" in str(e.value)


def test_launchers_not_compiled_says_how_to_build_them(monkeypatch):
    monkeypatch.setattr(dhsdk.device, "cuda_query", lambda: {"compiled": False, "driver_version": 0, "error": "",
                                                              "devices": []})
    with pytest.raises(DeviceError, match=r"cuda_crop cannot run here:\n  CUDA: dhsdk was built without its CUDA "
                                          r"launchers: install the CUDA toolkit \(nvcc\)"):
        kernels.crop(FakeCAI(FRAME), AFFINE, 8)


def test_an_old_build_without_the_launcher_says_rebuild(monkeypatch, gpu):
    monkeypatch.setattr(dhsdk.cuda.launch, "_native", lambda: types.SimpleNamespace())
    with pytest.raises(DeviceError, match="no cuda_rgb_to_yuv .*make build"):
        kernels.rgb_to_i420(FakeCAI(FRAME[:36]))


# ---- the dispatch, end to end on the stand-in --------------------------------------------
@pytest.mark.parametrize("crop_dtype", [np.uint8, np.float16])
@pytest.mark.parametrize("alpha", ["none", "mask", "ellipse", "polygon"])
def test_composite_on_device_equals_cpu(gpu, crop_dtype, alpha):
    cp, ext = gpu
    crop = RNG.integers(0, 256, (11, 11, 3)).astype(np.uint8)
    if crop_dtype != np.uint8:
        crop = (crop / 255.0).astype(crop_dtype)
    kw = {"mask": dict(mask=RNG.random((11, 11)).astype(np.float32)),
          "ellipse": dict(ellipse=(5, 5, 4, 3, 0.3), feather=2.0),
          "polygon": dict(polygon=[[0, 0], [10, 1], [6, 10]], feather=1.5), "none": {}}[alpha]
    cpu = FRAME[:36].copy()  # even height for the NV12 output
    roi, yuv = kernels.composite(cpu, crop, AFFINE, out_yuv="nv12", **kw)
    dev_kw = {k: FakeArray(v) if k == "mask" else v for k, v in kw.items()}
    frame = FakeArray(FRAME[:36].copy())
    d_roi, d_yuv = kernels.composite(frame, FakeArray(crop), AFFINE, out_yuv="nv12", **dev_kw)
    assert d_roi == roi
    np.testing.assert_array_equal(frame.a, cpu)
    np.testing.assert_array_equal(d_yuv.a, yuv)
    uploads = [entry for entry in cp.log if entry[0] == "upload"]
    assert len(uploads) == (alpha == "polygon")  # only the polygon table is uploaded


@pytest.mark.parametrize("out,layout,use_mask", [("u8", "nchw", False), ("f32", "nchw", True), ("f16", "nhwc", True)])
def test_crop_on_device_equals_cpu(gpu, out, layout, use_mask):
    affines = np.stack([AFFINE, AFFINE + [[0, 0, -30.0], [0, 0, 0]]])  # the second leaves the frame
    mask = RNG.random((9, 9)).astype(np.float32) if use_mask else None
    kw = dict(out=out, layout=layout, norm="imagenet", border_value=40.0)
    cpu = kernels.crop(FRAME, affines, 9, mask=mask, **kw)
    dev = kernels.crop(FakeArray(FRAME), affines, 9, mask=None if mask is None else FakeArray(mask), **kw)
    assert dev.a.dtype == cpu.dtype
    np.testing.assert_array_equal(dev.a, cpu)


@pytest.mark.parametrize("fn", [kernels.rgb_to_i420, kernels.rgb_to_nv12])
def test_yuv_on_device_equals_cpu(gpu, fn):
    bgra = RNG.integers(0, 256, (18, 70, 4), dtype=np.uint8)
    np.testing.assert_array_equal(fn(FakeArray(bgra), bgr=True, standard=709).a, fn(bgra, bgr=True, standard=709))


def test_work_goes_on_the_callers_stream_after_the_producers(gpu):
    """Inputs' producer streams are waited for; the outputs and tables the call makes itself are
    on the launch stream already (no wait, in particular none on the legacy default stream)."""
    cp, ext = gpu
    frame = FakeArray(FRAME[:36].copy(), stream=77)  # its producer ordered it on stream 77
    kernels.rgb_to_i420(frame, stream=types.SimpleNamespace(cuda_stream=1234))  # a torch-like stream
    kernels.crop(FakeArray(FRAME, stream=1234), AFFINE, 8, stream=1234)
    assert ext.streams == [1234, 1234]
    assert cp.log == [("wait", 1234, 77), ("alloc", 1234), ("alloc", 1234)]  # crop affines: kernel parameters
    cp.log.clear()
    cp.current = 55  # stream=None: CuPy's current stream
    kernels.rgb_to_nv12(FakeArray(FRAME[:36], stream=55))
    assert ext.streams[-1] == 55 and cp.log == [("alloc", 55)]


def test_device_problems_are_reported_before_any_launch(gpu):
    cp, ext = gpu
    with pytest.raises(InputError, match="on CUDA device 3 but the current device is 0"):
        kernels.rgb_to_i420(FakeDLPack(FRAME[:36].copy()))
    with pytest.raises(InputError, match="not C-contiguous"):
        kernels.rgb_to_i420(FakeCAI(FRAME[:36, ::2]))
    with pytest.raises(InputError, match="needs a CUDA device array"):
        Launch("cuda_crop").arg(FRAME, "frame")
    assert ext.streams == []
