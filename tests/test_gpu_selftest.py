"""``dhsdk doctor --gpu``: the self-test's verdicts (with numpy standing in for CuPy and a fake
kernel module), and its message and exit status where there is no GPU."""
from __future__ import annotations

import types

import numpy as np
import pytest

from dhsdk.cli import main
from dhsdk.gpu_selftest import KERNEL_CHECKS, check_kernels, kernel_bindings



class _Device(np.ndarray):
    """Marks arrays that went through the "device" branch of the fake kernels."""


def _fake_kernels(gpu_error: float) -> types.SimpleNamespace:
    def rgb_to_i420(frame):
        out = frame[..., 0].astype(np.float64)
        return out + gpu_error if isinstance(frame, _Device) else out

    def crop(frame, affines, size, out="f32"):
        raise RuntimeError("launch failed: invalid configuration argument")

    return types.SimpleNamespace(rgb_to_i420=rgb_to_i420, crop=crop)


def _device_cupy():
    return types.SimpleNamespace(asarray=lambda a: np.asarray(a).view(_Device), asnumpy=np.asarray)


def test_verdicts_follow_the_max_error():
    ext = types.SimpleNamespace(cuda_query=lambda: {}, cuda_rgb_to_i420=print, cuda_crop=print, cuda_warp=print,
                                build_info=print)
    assert kernel_bindings(ext) == ["cuda_crop", "cuda_rgb_to_i420", "cuda_warp"]
    ok = {o.name: o for o in check_kernels(ext, _fake_kernels(0.5), _device_cupy())}
    assert ok["cuda_rgb_to_i420"].passed and ok["cuda_rgb_to_i420"].max_error == pytest.approx(0.5)
    assert ok["cuda_crop"].passed is False and "invalid configuration" in ok["cuda_crop"].detail
    assert ok["cuda_warp"].passed is None and "no self-test" in ok["cuda_warp"].line()
    bad = {o.name: o for o in check_kernels(ext, _fake_kernels(3.0), _device_cupy())}
    assert bad["cuda_rgb_to_i420"].passed is False and "FAIL" in bad["cuda_rgb_to_i420"].line()
    assert {"composite", "crop", "rgb_to_i420", "rgb_to_nv12"} <= set(KERNEL_CHECKS)


def test_doctor_gpu_without_gpu_says_why_and_fails(capsys):
    from dhsdk.device import cuda_problem

    if cuda_problem() is None:
        pytest.skip("a GPU is present")
    assert main(["doctor", "--gpu"]) == 1
    out = capsys.readouterr().out
    assert "GPU self-test cannot run here" in out and "CUDA:" in out and "driver" in out
