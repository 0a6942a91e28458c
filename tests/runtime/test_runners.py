"""The runner interface: lifecycle rules, feed checks, and ORT vs eager torch parity."""
from __future__ import annotations

import numpy as np
import pytest

from dhsdk.runtime import OnnxrtRunner, TensorSpec, TorchRunner

torch = pytest.importorskip("torch")


class Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = torch.nn.Conv1d(4, 8, 3, padding=1)
        self.head = torch.nn.Linear(8, 2)

    def forward(self, x):  # x: (B, 4, T)
        return self.head(torch.relu(self.conv(x)).mean(-1))


@pytest.fixture(scope="module")
def onnx_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("onnx") / "tiny.onnx"
    torch.onnx.export(Tiny().eval(), (torch.zeros(1, 4, 16),), str(path), input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}}, opset_version=17, dynamo=False)
    return path


def test_ort_matches_eager_torch(onnx_path):
    x = np.random.default_rng(0).standard_normal((3, 4, 16)).astype(np.float32)
    specs_in = {"x": TensorSpec(("batch", 4, 16), np.dtype(np.float32))}
    specs_out = {"y": TensorSpec(("batch", 2), np.dtype(np.float32))}
    with OnnxrtRunner(onnx_path) as ort_runner, TorchRunner(Tiny(), specs_in, specs_out) as torch_runner:
        a = ort_runner.infer({"x": x})["y"]
        b = torch_runner.infer({"x": x})["y"]
        assert ort_runner.last_inference_time is not None
    # fp32 kernels differ in summation order only: 1e-5 relative is the CTranslate2 fp32 bound.
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_lifecycle_and_feed_checks(onnx_path):
    runner = OnnxrtRunner(onnx_path)
    with pytest.raises(RuntimeError, match="only available after activate"):
        runner.infer({"x": np.zeros((1, 4, 16), np.float32)})
    with runner:
        assert runner.inputs["x"].shape[1:] == (4, 16)
        with pytest.raises(ValueError, match="missing \\['x'\\]"):
            runner.infer({"z": np.zeros((1, 4, 16), np.float32)})
        with pytest.raises(ValueError, match="float32 of shape"):
            runner.infer({"x": np.zeros((1, 4, 16), np.float64)})
        with pytest.raises(ValueError, match="float32 of shape"):
            runner.infer({"x": np.zeros((1, 5, 16), np.float32)})
        out = runner.infer({"x": np.zeros((5, 4, 16), np.float32)})  # dynamic batch
        assert out["y"].shape == (5, 2)
    assert not runner.is_active
