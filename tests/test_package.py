"""The package's import contract and the CLI's basics."""
from __future__ import annotations

import subprocess
import sys

import pytest

import dhsdk
from dhsdk.device import cuda_problem, resolve_device
from dhsdk.errors import DeviceError


def test_import_needs_no_heavy_modules():
    code = ("import sys, dhsdk, dhsdk._C; dhsdk.build_info(); "
            "heavy = [m for m in ('torch', 'tensorrt', 'cupy', 'onnxruntime', 'mediapipe', 'cv2') if m in sys.modules]; "
            "print(heavy); assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_build_info_reports_the_build():
    info = dhsdk.build_info()
    assert set(info) >= {"compiler", "simd", "openmp", "cuda", "cuda_archs"}
    if info["cuda"]:
        assert "89" in info["cuda_archs"]


def test_cuda_request_without_gpu_names_the_missing_piece():
    problem = cuda_problem()
    if problem is None:
        pytest.skip("a usable GPU is present")
    with pytest.raises(DeviceError, match="device='cuda' requested but"):
        resolve_device("cuda")
    assert resolve_device("auto") == "cpu"


def test_doctor_exits_zero_with_cpu_path():
    out = subprocess.run([sys.executable, "-m", "dhsdk.cli", "doctor"], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "native extension" in out.stdout
