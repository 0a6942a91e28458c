"""ONNX FLOP/byte counts against torch's FlopCounterMode on the same computation."""
from __future__ import annotations

import numpy as np
import pytest

from dhsdk.engines.cost import onnx_cost


def _conv_net(path, groups: int = 1):
    """x (batch, 4, 16, 16) -> Conv 3x3 (8 out, pad 1) -> Relu -> ConvTranspose 2x2 s2 -> MatMul (32 -> 5)."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    w1 = rng.standard_normal((8, 4 // groups, 3, 3)).astype(np.float32)
    w2 = rng.standard_normal((8, 6, 2, 2)).astype(np.float32)
    w3 = rng.standard_normal((32, 5)).astype(np.float32)
    nodes = [helper.make_node("Conv", ["x", "w1"], ["c"], pads=[1, 1, 1, 1], group=groups),
             helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("ConvTranspose", ["r", "w2"], ["t"], strides=[2, 2]),
             helper.make_node("MatMul", ["t", "w3"], ["y"])]
    graph = helper.make_graph(nodes, "net", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4, 16, 16])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 6, 32, 5])],
                              [numpy_helper.from_array(w, n) for w, n in ((w1, "w1"), (w2, "w2"), (w3, "w3"))])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return w1, w2, w3


@pytest.mark.parametrize("groups", [1, 2])
@pytest.mark.parametrize("batch", [1, 3])
def test_flops_match_torch_counter(tmp_path, batch, groups):
    torch = pytest.importorskip("torch")
    from torch.utils.flop_counter import FlopCounterMode

    w1, w2, w3 = (torch.from_numpy(w) for w in _conv_net(tmp_path / "n.onnx", groups))
    cost = onnx_cost(tmp_path / "n.onnx", batch=batch)
    x = torch.zeros(batch, 4, 16, 16)
    with FlopCounterMode(display=False) as counter:
        t = torch.nn.functional.conv_transpose2d(torch.relu(torch.nn.functional.conv2d(x, w1, padding=1, groups=groups)),
                                                 w2, stride=2)
        t @ w3
    relu = batch * 8 * 16 * 16  # one op per element, which torch's counter does not count
    assert cost.flops - relu == counter.get_total_flops()
    assert cost.by_op["Relu"] == relu


def test_bytes_bounds(tmp_path):
    _conv_net(tmp_path / "n.onnx")
    one, four = onnx_cost(tmp_path / "n.onnx", batch=1), onnx_cost(tmp_path / "n.onnx", batch=4)
    weights = (8 * 4 * 9 + 8 * 6 * 4 + 32 * 5) * 2  # fp16
    assert one.weight_bytes == four.weight_bytes == weights
    assert one.bytes_min == weights + (4 * 16 * 16 + 6 * 32 * 5) * 2
    assert one.bytes_min < one.bytes_unfused and four.bytes_unfused - weights == 4 * (one.bytes_unfused - weights)
    assert four.flops == 4 * one.flops


def test_unsized_dynamic_dim_is_an_error(tmp_path):
    pytest.importorskip("onnx")
    from tiny_models import write_tiny_onnx

    path = write_tiny_onnx(tmp_path / "t.onnx", time_dim="T")
    with pytest.raises(ValueError, match="'T'"):
        onnx_cost(path)
    assert onnx_cost(path, dims={"T": 24}).flops == 2 * 24 * 80 * 8
