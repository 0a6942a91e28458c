"""The CUDA launchers were compiled when nvcc exists, and every missing GPU piece is named with its fix."""
from __future__ import annotations

import shutil
import sys

import pytest

import dhsdk
from dhsdk.cuda.requirements import PIECES, missing_gpu_pieces


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc not on PATH: the CPU-only build is expected")
def test_cuda_launchers_compiled_when_nvcc_exists():
    info = dhsdk.build_info()
    assert info["cuda"] is True, "nvcc is on PATH but dhsdk._C was built without its CUDA launchers"
    archs = info["cuda_archs"].split(",")
    assert archs and all(a.isdigit() for a in archs)


def test_every_missing_piece_has_its_install_command(monkeypatch):
    for module in ("cupy", "tensorrt", "polygraphy", "nvidia.dali"):
        monkeypatch.setitem(sys.modules, module, None)
    lines = missing_gpu_pieces(PIECES)
    text = "\n".join(lines)
    assert "pypi.nvidia.com" in text and "dhsdk[gpu]" in text and "pip install polygraphy" in text
    assert sum(line.startswith(("cupy", "tensorrt", "polygraphy", "dali")) for line in lines) == 4
    from dhsdk.device import cuda_problem

    assert any(line.startswith("CUDA:") for line in lines) == (cuda_problem() is not None)
    assert missing_gpu_pieces(()) == []


@pytest.mark.parametrize("query,needle", [
    ({"compiled": False, "driver_version": 0, "error": "", "devices": []}, "install the CUDA toolkit (nvcc)"),
    ({"compiled": True, "driver_version": 0, "error": "cudaErrorInsufficientDriver", "devices": []},
     "install the NVIDIA driver"),
    ({"compiled": True, "driver_version": 13000, "error": "", "devices": []}, "reports no CUDA device"),
])
def test_cuda_problems_name_the_fix(monkeypatch, query, needle):
    import dhsdk.device

    monkeypatch.setattr(dhsdk.device, "cuda_query", lambda: query)
    (line,) = missing_gpu_pieces(("cuda",))
    assert line.startswith("CUDA:") and needle in line
