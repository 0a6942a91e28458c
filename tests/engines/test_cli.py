"""``dhsdk engines list|clean|build`` on a temporary cache."""
from __future__ import annotations

import pytest

from dhsdk.cli import main
from dhsdk.engines.cache import EngineCache, EngineKey
from dhsdk.engines.recipes import load_recipe


def _fill(cache: EngineCache) -> None:
    recipe = load_recipe("a2k")
    current = EngineKey("a2k", "0" * 64, (8, 9), "10.8.0", recipe.digest())
    cache.store(current, b"plan", {"precision": "fp16", "check": {"passed": True}})
    cache.store(EngineKey("a2k", "0" * 64, (8, 9), "10.8.0", "old-recipe"), b"plan", {})
    cache.store(EngineKey("retired", "0" * 64, (9, 0), "10.8.0", "x"), b"plan", {})


def test_list_and_clean_stale(tmp_path, capsys):
    cache = EngineCache(tmp_path)
    assert main(["engines", "--cache", str(tmp_path), "list"]) == 0
    assert "no engines cached" in capsys.readouterr().out
    _fill(cache)
    assert main(["engines", "--cache", str(tmp_path), "list"]) == 0
    out = capsys.readouterr().out
    assert out.count("STALE: recipe changed") == 1 and out.count("STALE: no recipe") == 1
    assert out.count("current") == 1
    assert main(["engines", "--cache", str(tmp_path), "clean", "--stale"]) == 0
    assert "2 engine(s) removed" in capsys.readouterr().out
    (left,) = cache.entries()
    assert left.key.recipe_digest == load_recipe("a2k").digest()
    assert main(["engines", "--cache", str(tmp_path), "clean", "a2k"]) == 0
    assert cache.entries() == []


def test_build_without_gpu_lists_every_missing_piece(tmp_path, capsys):
    from dhsdk.device import cuda_problem

    if cuda_problem() is None:
        pytest.skip("a GPU is present")
    assert main(["engines", "--cache", str(tmp_path), "build", "a2k"]) == 2
    err = capsys.readouterr().err
    assert "building engines needs" in err and "CUDA:" in err and "driver" in err
    assert "tensorrt" in err and "pypi.nvidia.com" in err
