"""A tiny ONNX model with an a2k-shaped input, built with onnx.helper for the engine tests
(a plain module, so test files import it by a name no other conftest shares)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


def write_tiny_onnx(path: Path, scale: float = 1.0, time_dim: int | str = 24) -> Path:
    """``keypoints = transpose(mel) @ W``: mel (batch, 80, time_dim) float32 -> (batch, T, 8)."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    w = np.random.default_rng(0).standard_normal((80, 8)).astype(np.float32) * scale
    graph = helper.make_graph(
        [helper.make_node("Transpose", ["mel"], ["t"], perm=[0, 2, 1]), helper.make_node("MatMul", ["t", "W"], ["kp"])],
        "tiny", [helper.make_tensor_value_info("mel", TensorProto.FLOAT, ["batch", 80, time_dim])],
        [helper.make_tensor_value_info("kp", TensorProto.FLOAT, ["batch", time_dim, 8])],
        [numpy_helper.from_array(w, "W")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path
