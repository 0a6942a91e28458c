"""``dhsdk doctor --gpu``: the self-test's verdicts (with numpy standing in for CuPy and a fake
kernel module), and its message and exit status where there is no GPU."""
from __future__ import annotations

import types

import numpy as np
import pytest

from dhsdk import _C, kernels
from dhsdk.cli import main
from dhsdk.gpu_selftest import KERNEL_CHECKS, check_kernels, kernel_bindings


class _Device(np.ndarray):
    """Marks arrays that went through the "device" branch of the fake kernels."""


def _fake_kernels(gpu_error: float) -> types.SimpleNamespace:
    def yuv(frame, bgr=False, standard=601):
        out = frame[..., 0].astype(np.float64)
        return out + gpu_error if isinstance(frame, _Device) else out

    def crop(frame, affines, size, **kw):
        raise RuntimeError("launch failed: invalid configuration argument")

    return types.SimpleNamespace(rgb_to_i420=yuv, rgb_to_nv12=yuv, crop=crop)


def _device_cupy():
    return types.SimpleNamespace(asarray=lambda a: np.asarray(a).view(_Device), asnumpy=np.asarray)


def test_verdicts_follow_the_max_error():
    ext = types.SimpleNamespace(cuda_query=lambda: {}, cuda_rgb_to_yuv=print, cuda_crop=print, cuda_future=print,
                                build_info=print)
    assert kernel_bindings(ext) == ["cuda_crop", "cuda_future", "cuda_rgb_to_yuv"]
    ok = {o.name: o for o in check_kernels(ext, _fake_kernels(0.5), _device_cupy())}
    yuv = [o for name, o in ok.items() if name.startswith("cuda_rgb_to_yuv ")]
    assert {o.name for o in yuv} >= {"cuda_rgb_to_yuv i420/rgb/601", "cuda_rgb_to_yuv nv12/bgr/709"}
    assert all(o.passed and o.max_error == pytest.approx(0.5) for o in yuv)
    assert ok["cuda_crop"].passed is False and "invalid configuration" in ok["cuda_crop"].detail
    assert ok["cuda_future"].passed is None and "no self-test" in ok["cuda_future"].line()
    bad = [o for o in check_kernels(ext, _fake_kernels(3.0), _device_cupy()) if o.name.startswith("cuda_rgb")]
    assert bad and all(o.passed is False and "FAIL" in o.line() for o in bad)


def test_checks_run_through_the_real_facade():
    """numpy standing in for CuPy: every check's calls are valid and the CPU path agrees with itself."""
    ext = types.SimpleNamespace(**{f"cuda_{name}": print for name in KERNEL_CHECKS})
    outcomes = check_kernels(ext, kernels, types.SimpleNamespace(asarray=np.array, asnumpy=np.asarray))
    assert len(outcomes) >= 10 and all(o.passed and o.max_error == 0 for o in outcomes), [o.line() for o in outcomes]


def test_every_compiled_launcher_has_a_self_test():
    assert set(kernel_bindings(_C)) <= {f"cuda_{name}" for name in KERNEL_CHECKS}


def test_doctor_gpu_without_gpu_says_why_and_fails(capsys):
    from dhsdk.device import cuda_problem

    if cuda_problem() is None:
        pytest.skip("a GPU is present")
    assert main(["doctor", "--gpu"]) == 1
    out = capsys.readouterr().out
    assert "GPU self-test cannot run here" in out and "CUDA:" in out and "driver" in out
