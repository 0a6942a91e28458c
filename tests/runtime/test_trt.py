"""TrtRunner: clear errors without TensorRT/CuPy/GPU, I/O specs from a fake engine, and GPU
tests (skipped here) that check it against ONNX Runtime on a tiny model built in the test."""
from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from dhsdk.errors import DeviceError
from dhsdk.runtime.base import TensorSpec
from dhsdk.runtime.trt import TrtRunner


def test_import_loads_no_gpu_stack():
    code = ("import sys, dhsdk.runtime.trt, dhsdk.cuda, dhsdk.engines, dhsdk.engines.cli, dhsdk.gpu_selftest; "
            "print(sorted({'tensorrt', 'cupy', 'torch', 'onnx', 'polygraphy', 'onnxruntime'} & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_missing_tensorrt_names_nvidia_index(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorrt", None)
    with pytest.raises(ImportError, match="TensorRT.*pypi.nvidia.com"):
        TrtRunner(b"plan").activate()


def test_missing_cupy_names_gpu_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorrt", types.ModuleType("tensorrt"))
    monkeypatch.setitem(sys.modules, "cupy", None)
    with pytest.raises(ImportError, match=r"cupy.*dhsdk\[gpu\]"):
        TrtRunner(b"plan").activate()


def test_missing_driver_is_a_device_error(monkeypatch):
    from dhsdk.device import cuda_problem

    if cuda_problem() is None:
        pytest.skip("a GPU is present")
    pytest.importorskip("cupy")
    monkeypatch.setitem(sys.modules, "tensorrt", types.ModuleType("tensorrt"))
    with pytest.raises(DeviceError, match="TensorRT inference needs a CUDA GPU, but .*driver"):
        TrtRunner(b"plan").activate()


class _DType:
    def __init__(self, name: str):
        self.name = name


class _FakeEngine:
    """The slice of ICudaEngine that io_specs reads."""

    def __init__(self, tensors):
        self.tensors = tensors  # name -> (mode, shape, dtype name)
        self.num_io_tensors = len(tensors)

    def get_tensor_name(self, i):
        return list(self.tensors)[i]

    def get_tensor_mode(self, name):
        return self.tensors[name][0]

    def get_tensor_shape(self, name):
        return self.tensors[name][1]

    def get_tensor_dtype(self, name):
        return _DType(self.tensors[name][2])


def _runner_with(tensors) -> TrtRunner:
    runner = TrtRunner(b"plan", name="fake")
    runner._trt = types.SimpleNamespace(TensorIOMode=types.SimpleNamespace(INPUT="in", OUTPUT="out"))
    runner.engine = _FakeEngine(tensors)
    return runner


def test_io_specs_from_engine():
    runner = _runner_with({"mel": ("in", (-1, 80, 24), "FLOAT"), "kp": ("out", (-1, 24, 8), "HALF")})
    ins, outs = runner.io_specs_impl()
    assert ins == {"mel": TensorSpec(("batch", 80, 24), np.dtype(np.float32))}
    assert outs == {"kp": TensorSpec(("batch", 24, 8), np.dtype(np.float16))}
    with pytest.raises(ValueError, match="BF16"):
        _runner_with({"x": ("in", (1,), "BF16")}).io_specs_impl()


def test_feed_check_understands_torch_dtypes():
    torch = pytest.importorskip("torch")
    runner = _runner_with({"mel": ("in", (-1, 80, 24), "FLOAT")})
    runner._inputs, runner._outputs = runner.io_specs_impl()
    runner._check_feeds({"mel": torch.zeros(3, 80, 24)})
    runner._check_feeds({"mel": np.zeros((3, 80, 24), np.float32)})
    with pytest.raises(ValueError, match="float32 of shape"):
        runner._check_feeds({"mel": torch.zeros(3, 80, 24, dtype=torch.float16)})


# ---- on a GPU --------------------------------------------------------------------------
def _gemm_onnx(path: Path) -> Path:
    """y = relu(x @ W + b): x (batch, 32) -> y (batch, 16)."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(1)
    graph = helper.make_graph(
        [helper.make_node("Gemm", ["x", "W", "b"], ["g"]), helper.make_node("Relu", ["g"], ["y"])], "gemm",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 32])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 16])],
        [numpy_helper.from_array(rng.standard_normal((32, 16)).astype(np.float32), "W"),
         numpy_helper.from_array(rng.standard_normal(16).astype(np.float32), "b")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


@pytest.fixture
def engine_and_reference(tmp_path):
    pytest.importorskip("tensorrt")
    from dhsdk.engines.build import build_serialized
    from dhsdk.engines.recipes import parse_recipe
    from dhsdk.runtime.ort import OnnxrtRunner

    path = _gemm_onnx(tmp_path / "gemm.onnx")
    recipe = parse_recipe({"name": "gemm", "onnx": str(path), "precision": "fp32", "dims": {"batch": [1, 4, 16]}})
    engine, _ = build_serialized(recipe, path)
    with OnnxrtRunner(path) as ref:
        yield engine, ref


@pytest.mark.gpu
@pytest.mark.parametrize("batch", [1, 5, 16])
def test_matches_onnxruntime_from_numpy_cupy_and_torch(engine_and_reference, batch):
    import cupy

    engine, ref = engine_and_reference
    x = np.random.default_rng(batch).standard_normal((batch, 32)).astype(np.float32)
    want = ref.infer({"x": x})["y"]
    with TrtRunner(engine) as trt:
        inputs = [x, cupy.asarray(x)]
        torch = pytest.importorskip("torch")
        if torch.cuda.is_available():
            inputs.append(torch.from_numpy(x).cuda())
        for feed in inputs:  # fp32 engine: TF32 off by default; 1e-4 covers reassociation
            np.testing.assert_allclose(cupy.asnumpy(trt.infer({"x": feed})["y"]), want, atol=1e-4, rtol=1e-4)


@pytest.mark.gpu
def test_streams_contexts_and_graph_replay(engine_and_reference):
    import cupy

    from dhsdk.cuda import Stream

    engine, ref = engine_and_reference
    xs = [cupy.asarray(np.random.default_rng(i).standard_normal((4, 32)).astype(np.float32)) for i in range(2)]
    with TrtRunner(engine) as trt:
        streams = [Stream(), Stream()]
        outs = [cupy.empty((4, 16), cupy.float32) for _ in streams]
        for _ in range(4):  # call 2 captures a graph, calls 3-4 replay it
            for x, s, out in zip(xs, streams, outs):
                trt.infer_async({"x": x}, stream=s, outputs={"y": out})
        for s in streams:
            s.synchronize()
        assert len(trt._states) == 2 and all(st.graphs for st in trt._states.values())
        for x, out in zip(xs, outs):
            np.testing.assert_allclose(cupy.asnumpy(out), ref.infer({"x": cupy.asnumpy(x)})["y"], atol=1e-4, rtol=1e-4)
