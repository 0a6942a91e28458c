"""Recipes: the committed YAML files parse, and optimisation profiles follow the model's inputs."""
from __future__ import annotations

import pytest
from tiny_models import write_tiny_onnx

from dhsdk.engines.recipes import all_recipes, load_recipe, onnx_inputs, parse_recipe, profile_shapes
from dhsdk.errors import InputError


def _recipe(**over):
    data = {"name": "a2k", "onnx": "x.onnx", "dims": {"batch": [1, 8, 16]}, "inputs": {"mel": ["batch", 80, "T"]}}
    data.update(over)
    return parse_recipe(data)


def test_committed_recipes_parse_and_cover_batch_1_to_16():
    recipes = {r.name: r for r in all_recipes()}
    assert {"a2k", "inpaint_lite", "inpaint_full"} <= set(recipes)
    for r in recipes.values():
        lo, opt, hi = r.dims["batch"]
        assert (lo, hi) == (1, 16) and lo <= opt <= hi
        assert r.precision == "fp16" and r.atol > 0 and r.onnx_path().name == f"{r.name}.onnx"
    assert recipes["a2k"].inputs == {"mel": ("batch", 80, "T")}
    assert load_recipe(recipes["a2k"].source) == recipes["a2k"]


def test_profile_from_onnx_reads_static_dims(tmp_path):
    model = onnx_inputs(write_tiny_onnx(tmp_path / "m.onnx", time_dim=24))
    assert model == {"mel": ("batch", 80, 24)}
    assert profile_shapes(_recipe(), model) == {"mel": ((1, 80, 24), (8, 80, 24), (16, 80, 24))}
    # no inputs listed: axis 0 is the batch, the rest static
    assert profile_shapes(_recipe(inputs={}), model) == {"mel": ((1, 80, 24), (8, 80, 24), (16, 80, 24))}


def test_profile_ranges_a_named_dynamic_dim(tmp_path):
    model = onnx_inputs(write_tiny_onnx(tmp_path / "m.onnx", time_dim="T"))
    recipe = _recipe(dims={"batch": [1, 4, 16], "T": [12, 24, 48]})
    assert profile_shapes(recipe, model) == {"mel": ((1, 80, 12), (4, 80, 24), (16, 80, 48))}
    # TensorRT reports dynamic dims as -1: same answer
    assert profile_shapes(recipe, {"mel": (-1, 80, -1)}) == profile_shapes(recipe, model)


@pytest.mark.parametrize("recipe,model,match", [
    (_recipe(), {"mel": ("batch", 80, "T")}, "dims.T"),                    # dynamic T, no range
    (_recipe(inputs={"mel": ["batch", 64, "T"]}), {"mel": ("b", 80, 24)}, "is 64 but the model has 80"),
    (_recipe(inputs={"audio": ["batch", 80]}), {"mel": ("b", 80, 24)}, "not inputs of the model"),
    (_recipe(inputs={"mel": ["batch", 80]}), {"mel": ("b", 80, 24)}, "has 2 dims"),
    (_recipe(inputs={}), {"mel": (1, 80, 24)}, "static 1 in the model"),  # batch not exported dynamic
    (_recipe(inputs={}), {"mel": ("b", 80, None)}, "dims.axis2"),
])
def test_profile_errors_name_the_fix(recipe, model, match):
    with pytest.raises(InputError, match=match):
        profile_shapes(recipe, model)


@pytest.mark.parametrize("over,match", [
    ({"precision": "int4"}, "precision"), ({"dims": {"batch": [8, 1, 16]}}, "min <= opt <= max"),
    ({"dims": {"T": [1, 2, 3]}}, "dims.batch is missing"), ({"onnx": ""}, "'onnx' is missing"),
])
def test_bad_recipes_are_refused(over, match):
    with pytest.raises(InputError, match=match):
        _recipe(**over)


def test_digest_tracks_build_settings_only():
    base = _recipe()
    assert base.digest() == _recipe(check={"atol": 0.5}).digest()  # tolerances do not change the engine
    for over in ({"precision": "fp32"}, {"workspace_mib": 2048}, {"dims": {"batch": [1, 8, 32]}},
                 {"inputs": {"mel": ["batch", 80, 32]}}):
        assert _recipe(**over).digest() != base.digest(), over


def test_unknown_recipe_lists_known(monkeypatch, tmp_path):
    monkeypatch.setenv("DHSDK_RECIPES", str(tmp_path))
    (tmp_path / "only.yaml").write_text("name: only\nonnx: o.onnx\ndims: {batch: [1, 1, 1]}\n")
    with pytest.raises(InputError, match="known recipes in .*: only"):
        load_recipe("missing")
