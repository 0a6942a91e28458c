"""build_serialized's use of the TensorRT 10 and 11 builder APIs, against a recording fake TensorRT:
profiles from the recipe, precision flags, workspace, timing cache round trip, progress lines
and failures. (The real builder runs in the gpu-marked tests.)"""
from __future__ import annotations

import types

import pytest

import dhsdk.engines.build as build_mod
from dhsdk.engines.build import build_serialized
from dhsdk.engines.recipes import parse_recipe
from dhsdk.errors import InputError


def _fake_trt(inputs: dict, parse_ok: bool = True, build_ok: bool = True):
    rec = types.SimpleNamespace(profiles=[], flags=set(), cleared=set(), pool=None, cache_in=None, timing_set=None)

    class IProgressMonitor:
        def __init__(self):
            pass

    class Network:
        num_inputs = len(inputs)

        def get_input(self, i):
            name = list(inputs)[i]
            return types.SimpleNamespace(name=name, shape=inputs[name])

    class Cache:
        def __init__(self, data):
            self.data = data

        def serialize(self):
            return self.data + b"+new tactics"

    class Profile(dict):
        def set_shape(self, name, lo, opt, hi):
            self[name] = (tuple(lo), tuple(opt), tuple(hi))

    class Config:
        progress_monitor = None

        def set_memory_pool_limit(self, pool, size):
            rec.pool = (pool, size)

        def set_flag(self, flag):
            rec.flags.add(flag)

        def clear_flag(self, flag):
            rec.cleared.add(flag)

        def add_optimization_profile(self, profile):
            rec.profiles.append(dict(profile))

        def create_timing_cache(self, data):
            rec.cache_in = data
            self.cache = Cache(data)
            return self.cache

        def set_timing_cache(self, cache, ignore_mismatch):
            rec.timing_set = (cache, ignore_mismatch)

        def get_timing_cache(self):
            return self.cache

    class Builder:
        def __init__(self, logger):
            pass

        def create_network(self, flags):
            assert flags == 0
            return Network()

        def create_builder_config(self):
            return Config()

        def create_optimization_profile(self):
            return Profile()

        def build_serialized_network(self, network, config):
            monitor = config.progress_monitor
            monitor.phase_start("Building engine", None, 2)
            monitor.phase_start("Tactics", "Building engine", 10)
            assert monitor.step_complete("Tactics", 1) is True
            monitor.phase_finish("Tactics")
            monitor.phase_finish("Building engine")
            return b"ENGINE" if build_ok else None

    class OnnxParser:
        num_errors = 0 if parse_ok else 1

        def __init__(self, network, logger):
            pass

        def parse_from_file(self, path):
            return parse_ok

        def parse(self, data, path=None):  # TensorRT 11 path: the fp16 copy, as bytes
            rec.parsed = data
            return parse_ok

        def get_error(self, i):
            return "Unsupported op: Foo"

    trt = types.SimpleNamespace(
        Logger=lambda severity: None, Builder=Builder, OnnxParser=OnnxParser, IProgressMonitor=IProgressMonitor,
        MemoryPoolType=types.SimpleNamespace(WORKSPACE="workspace"),
        BuilderFlag=types.SimpleNamespace(FP16="fp16", TF32="tf32", INT8="int8"))
    trt.Logger.WARNING = 2
    return trt, rec


def _use(monkeypatch, trt):
    real = build_mod.require
    monkeypatch.setattr(build_mod, "require", lambda name, purpose=None: trt if name == "tensorrt" else real(name))


RECIPE = parse_recipe({"name": "a2k", "onnx": "a2k.onnx", "workspace_mib": 512, "dims": {"batch": [1, 8, 16]},
                       "inputs": {"mel": ["batch", 80, "T"]}})


def test_profile_flags_workspace_timing_cache_and_progress(monkeypatch, tmp_path):
    trt, rec = _fake_trt({"mel": (-1, 80, 24)})
    _use(monkeypatch, trt)
    lines = []
    cache = tmp_path / "timing.cache"
    engine, profile = build_serialized(RECIPE, tmp_path / "a2k.onnx", cache, log=lines.append)
    assert engine == b"ENGINE"
    assert profile == rec.profiles[0] == {"mel": ((1, 80, 24), (8, 80, 24), (16, 80, 24))}
    assert rec.flags == {"fp16"} and rec.cleared == set() and rec.pool == ("workspace", 512 << 20)
    assert rec.cache_in == b"" and rec.timing_set[1] is False and cache.read_bytes() == b"+new tactics"
    assert any("Building engine (2 steps)" in ln for ln in lines) and any("Tactics done in" in ln for ln in lines)
    build_serialized(RECIPE, tmp_path / "a2k.onnx", cache, log=lines.append)  # second build reads the cache
    assert rec.cache_in == b"+new tactics"


def test_fp32_disables_tf32_and_int8_needs_data(monkeypatch, tmp_path):
    trt, rec = _fake_trt({"mel": (-1, 80, 24)})
    _use(monkeypatch, trt)
    fp32 = parse_recipe({"name": "a2k", "onnx": "x", "precision": "fp32", "dims": {"batch": [1, 8, 16]}})
    build_serialized(fp32, tmp_path / "m.onnx", log=lambda s: None)
    assert rec.flags == set() and rec.cleared == {"tf32"}
    int8 = parse_recipe({"name": "a2k", "onnx": "x", "precision": "int8", "dims": {"batch": [1, 8, 16]}})
    with pytest.raises(InputError, match="int8 needs calibration data"):
        build_serialized(int8, tmp_path / "m.onnx", log=lambda s: None)


def test_parse_and_build_failures(monkeypatch, tmp_path):
    _use(monkeypatch, _fake_trt({"mel": (-1, 80, 24)}, parse_ok=False)[0])
    with pytest.raises(InputError, match="cannot parse .*Unsupported op: Foo"):
        build_serialized(RECIPE, tmp_path / "m.onnx", log=lambda s: None)
    _use(monkeypatch, _fake_trt({"mel": (-1, 80, 24)}, build_ok=False)[0])
    with pytest.raises(RuntimeError, match="TensorRT failed to build a2k"):
        build_serialized(RECIPE, tmp_path / "m.onnx", log=lambda s: None)
    _use(monkeypatch, _fake_trt({"audio": (-1, 80, 24)})[0])  # the export renamed its input
    with pytest.raises(InputError, match=r"inputs \['mel'\] are not inputs of the model"):
        build_serialized(RECIPE, tmp_path / "m.onnx", log=lambda s: None)


def _tiny_onnx(path):
    """mel (batch, 80, T) -> Conv1d(80 -> 4, k=3) -> Resize x2 (scales) -> out, float32."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.random.default_rng(0).standard_normal((4, 80, 3)).astype(np.float32), "w")
    scales = numpy_helper.from_array(np.array([1, 1, 2], np.float32), "scales")
    nodes = [helper.make_node("Conv", ["mel", "w"], ["c"], pads=[1, 1]),
             helper.make_node("Resize", ["c", "", "scales"], ["out"], mode="nearest")]
    graph = helper.make_graph(nodes, "tiny", [helper.make_tensor_value_info("mel", TensorProto.FLOAT, ["batch", 80, "T"])],
                              [helper.make_tensor_value_info("out", TensorProto.FLOAT, ["batch", 4, "T2"])], [w, scales])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)


def test_tensorrt_11_builds_fp16_from_an_fp16_copy(monkeypatch, tmp_path):
    """TensorRT 11 has no FP16 flag (strongly typed networks only): the builder gets the ONNX with
    fp16 weights and fp32 inputs/outputs cast at the edges, and no precision flag is set."""
    import numpy as np
    import onnx
    import onnxruntime as ort

    trt, rec = _fake_trt({"mel": (-1, 80, 24)})
    trt.BuilderFlag = types.SimpleNamespace(TF32="tf32")  # TensorRT 11 removed FP16/INT8
    trt.__version__ = "11.4.0"
    _use(monkeypatch, trt)
    _tiny_onnx(tmp_path / "m.onnx")
    lines = []
    assert build_serialized(RECIPE, tmp_path / "m.onnx", log=lines.append)[0] == b"ENGINE"
    assert rec.flags == set() and any("strongly typed" in line for line in lines)
    fp16 = onnx.load_from_string(rec.parsed)
    onnx.checker.check_model(fp16, full_check=True)  # consistent types everywhere
    types_of = {i.name: i.data_type for i in fp16.graph.initializer}
    assert types_of == {"w": onnx.TensorProto.FLOAT16, "scales": onnx.TensorProto.FLOAT}
    x = np.random.default_rng(1).standard_normal((2, 80, 24)).astype(np.float32)
    want = ort.InferenceSession(str(tmp_path / "m.onnx")).run(None, {"mel": x})[0]
    got = ort.InferenceSession(rec.parsed).run(None, {"mel": x})[0]
    assert got.dtype == np.float32 and got.shape == (2, 4, 48)
    # fp16 weights and activations: relative error of a few fp16 ulp (2^-11) of |values| ~ 10.
    np.testing.assert_allclose(got, want, atol=0.05 * float(np.abs(want).max()) / 10)


def test_tensorrt_11_int8_says_quantize_explicitly(monkeypatch, tmp_path):
    trt, _ = _fake_trt({"mel": (-1, 80, 24)})
    trt.BuilderFlag = types.SimpleNamespace(TF32="tf32")
    trt.__version__ = "11.4.0"
    _use(monkeypatch, trt)
    recipe = parse_recipe({"name": "a2k", "onnx": "a2k.onnx", "precision": "int8", "dims": {"batch": [1, 8, 16]},
                           "inputs": {"mel": ["batch", 80, "T"]}})
    with pytest.raises(InputError, match=r"TensorRT 11.4.0 has no int8 builder flag .*Q/DQ"):
        build_serialized(recipe, tmp_path / "m.onnx", log=lambda s: None)
