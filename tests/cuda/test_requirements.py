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
