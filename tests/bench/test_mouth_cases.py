"""The bench's UNet cases: the int8 twin is timed beside the float32 model and computes the same
network (its output within quantisation error of the float32 one)."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch", reason="the bench exports its UNets with torch: pip install torch==2.13.0")
pytest.importorskip("onnx", reason="int8 quantisation needs onnx: pip install 'dhsdk[train]'")


def test_int8_cases_sit_beside_the_float32_ones(tmp_path):
    from dhsdk.bench.mouth import unet_cases

    cases, gflops = unet_cases(tmp_path, ("lite",), ("lite",))
    assert {"lite ort", "lite torch", "lite UNetRenderer", "lite-int8 ort", "lite-int8 UNetRenderer"} <= set(cases)
    assert "lite-int8 torch" not in cases and gflops["lite-int8 ort"] == gflops["lite ort"]
    fp32, int8 = cases["lite ort"]()["rgb"], cases["lite-int8 ort"]()["rgb"]
    mse = float(np.mean((fp32 - int8) ** 2))
    assert 0 < mse and 10 * np.log10(1 / mse) > 35
