"""The build's comparison step (Polygraphy Comparator) and its errors without TensorRT or a GPU."""
from __future__ import annotations

import sys

import numpy as np
import pytest
from tiny_models import write_tiny_onnx

from dhsdk.engines.build import build_engine, compare_runners, random_feeds
from dhsdk.engines.recipes import parse_recipe

RECIPE = parse_recipe({"name": "tiny", "onnx": "tiny.onnx", "dims": {"batch": [1, 2, 4]}})


def _weights(scale: float) -> np.ndarray:
    return np.random.default_rng(0).standard_normal((80, 8)).astype(np.float32) * scale


def test_random_feeds_are_seeded_and_typed():
    a = random_feeds({"mel": (2, 80, 24), "ids": (3,)}, {"ids": np.int64}, seed=3)
    b = random_feeds({"mel": (2, 80, 24), "ids": (3,)}, {"ids": np.int64}, seed=3)
    assert a["mel"].dtype == np.float32 and a["ids"].dtype == np.int64 and a["mel"].shape == (2, 80, 24)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert np.abs(a["mel"]).max() <= 1


def test_comparison_passes_identical_and_reports_max_error(tmp_path):
    pytest.importorskip("polygraphy")
    from polygraphy.backend.onnxrt import OnnxrtRunner, SessionFromOnnx

    ref = write_tiny_onnx(tmp_path / "ref.onnx")
    off = write_tiny_onnx(tmp_path / "off.onnx", scale=1.001)
    feeds = [random_feeds({"mel": (b, 80, 24)}, {}, seed=b) for b in (1, 4)]

    def runners(path):
        return [OnnxrtRunner(SessionFromOnnx(str(path))), OnnxrtRunner(SessionFromOnnx(str(ref)))]

    same = compare_runners(runners(ref), feeds, atol=1e-6, rtol=1e-6)
    assert same.passed and same.max_abs_error == {"kp": 0.0}
    diff = compare_runners(runners(off), feeds, atol=1e-6, rtol=1e-6)
    # reference: the same products in float64 numpy
    expected = max(np.abs(f["mel"].transpose(0, 2, 1).astype(np.float64) @ (_weights(1.001) - _weights(1.0))).max()
                   for f in feeds)
    assert not diff.passed and diff.max_abs_error["kp"] == pytest.approx(expected, rel=1e-2)
    assert compare_runners(runners(off), feeds, atol=1.0, rtol=0).passed
    assert "FAIL" in diff.summary() and "kp" in diff.summary()


def test_build_without_tensorrt_names_the_index(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "tensorrt", None)
    with pytest.raises(ImportError, match="pypi.nvidia.com"):
        build_engine(RECIPE, write_tiny_onnx(tmp_path / "tiny.onnx"))


@pytest.mark.gpu
def test_build_caches_checks_and_reuses(tmp_path, tiny_onnx):
    pytest.importorskip("tensorrt")
    from dhsdk.engines.cache import EngineCache

    cache = EngineCache(tmp_path / "cache")
    first = build_engine(RECIPE, tiny_onnx, cache)
    (entry,) = cache.entries()
    assert entry.meta["check"]["passed"] and entry.meta["profile"]["mel"][2] == [4, 80, 24]
    assert build_engine(RECIPE, tiny_onnx, cache) == first  # cache hit, no rebuild
    assert any(p.name.startswith("timing-") for p in cache.root.iterdir())
    write_tiny_onnx(tiny_onnx, scale=2.0)  # new ONNX bytes -> new key -> rebuilt
    assert build_engine(RECIPE, tiny_onnx, cache) != first
