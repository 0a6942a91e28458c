"""Engine build recipes (``engines/*.yaml``) and the optimisation profiles they imply.

A recipe names the ONNX model, the precision, the workspace, the ranges of the dynamic
dimensions (``dims``: name -> [min, opt, max]; ``batch`` is required) and, optionally, the
inputs' shapes with dimension names. Shapes are checked against the model's own inputs, so
a recipe that drifted from an export fails with a message saying which line to change::

    name: a2k
    onnx: models/a2k.onnx        # relative to dhsdk/assets/, or absolute
    precision: fp16              # fp32 | fp16 | int8
    workspace_mib: 1024
    dims: {batch: [1, 8, 16]}
    inputs: {mel: [batch, 80, T]}  # T not in dims: taken from the model (must be static there)
    check: {atol: 0.02, rtol: 0.02}
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

from dhsdk.errors import InputError

PRECISIONS = ("fp32", "fp16", "int8")
ASSETS = Path(__file__).resolve().parents[1] / "assets"
# Dimension as read from a model: an int when static; None, a negative int or a name when dynamic.
ModelDim = int | str | None
Shape = tuple[int, ...]


@dataclass(frozen=True)
class Recipe:
    """One engine's build recipe.

    Attributes:
        name: engine name (the cache groups engines by it).
        onnx: ONNX path as written in the recipe (see :meth:`onnx_path`).
        precision: ``fp32``, ``fp16`` or ``int8`` (int8 needs calibration data at build time).
        workspace_mib: builder workspace pool limit in MiB.
        dims: dynamic dimension name -> (min, opt, max).
        inputs: input name -> dims (ints, or names from ``dims``/the model); empty means
            "axis 0 of every input is ``batch``, the rest are static in the model".
        atol, rtol: tolerances of the TensorRT vs ONNX Runtime check after every build.
        source: the YAML file it came from.
    """

    name: str
    onnx: str
    precision: str = "fp16"
    workspace_mib: int = 1024
    dims: Mapping[str, tuple[int, int, int]] = field(default_factory=dict)
    inputs: Mapping[str, tuple[int | str, ...]] = field(default_factory=dict)
    atol: float = 2e-2
    rtol: float = 2e-2
    source: Path | None = None

    def onnx_path(self, assets: Path = ASSETS) -> Path:
        """The ONNX file: absolute as given, else under ``dhsdk/assets/``."""
        p = Path(os.path.expanduser(self.onnx))
        return p if p.is_absolute() else assets / p

    def digest(self) -> str:
        """sha256 of every field that changes the built engine (part of the cache key)."""
        body = {"precision": self.precision, "workspace_mib": self.workspace_mib,
                "dims": {k: list(v) for k, v in sorted(self.dims.items())},
                "inputs": {k: list(v) for k, v in sorted(self.inputs.items())}}
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _where(source: Path | None) -> str:
    return str(source) if source else "recipe"


def parse_recipe(data: Mapping, source: Path | None = None) -> Recipe:
    """Validate a recipe mapping (as loaded from YAML).

    Raises:
        InputError: a missing or malformed field, naming the file and the fix.
    """
    where = _where(source)
    for key in ("name", "onnx"):
        if not data.get(key):
            raise InputError(f"{where}: '{key}' is missing")
    precision = str(data.get("precision", "fp16"))
    if precision not in PRECISIONS:
        raise InputError(f"{where}: precision '{precision}' is not one of {', '.join(PRECISIONS)}")
    dims: dict[str, tuple[int, int, int]] = {}
    for dim, rng in (data.get("dims") or {}).items():
        if not (isinstance(rng, Sequence) and len(rng) == 3 and all(isinstance(v, int) for v in rng)
                and 1 <= rng[0] <= rng[1] <= rng[2]):
            raise InputError(f"{where}: dims.{dim} must be [min, opt, max] integers with 1 <= min <= opt <= max, "
                             f"got {rng!r}")
        dims[str(dim)] = (int(rng[0]), int(rng[1]), int(rng[2]))
    if "batch" not in dims:
        raise InputError(f"{where}: dims.batch is missing (e.g. dims: {{batch: [1, 8, 16]}})")
    inputs = {str(k): tuple(v) for k, v in (data.get("inputs") or {}).items()}
    for name, shape in inputs.items():
        if not all(isinstance(d, (int, str)) for d in shape):
            raise InputError(f"{where}: inputs.{name} must list ints or dimension names, got {list(shape)}")
    check = data.get("check") or {}
    return Recipe(name=str(data["name"]), onnx=str(data["onnx"]), precision=precision,
                  workspace_mib=int(data.get("workspace_mib", 1024)), dims=dims, inputs=inputs,
                  atol=float(check.get("atol", 2e-2)), rtol=float(check.get("rtol", 2e-2)), source=source)


def recipes_dir() -> Path:
    """Where recipes live: ``$DHSDK_RECIPES``, else ``engines/`` of the source tree."""
    env = os.environ.get("DHSDK_RECIPES")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "engines"


def load_recipe(name_or_path: str | os.PathLike) -> Recipe:
    """Load a recipe by engine name (from :func:`recipes_dir`) or by YAML path."""
    import yaml

    path = Path(name_or_path)
    if path.suffix not in (".yaml", ".yml"):
        path = recipes_dir() / f"{name_or_path}.yaml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in recipes_dir().glob("*.yaml"))) or "none"
        raise InputError(f"no engine recipe {path}: known recipes in {recipes_dir()}: {known} "
                         f"(set DHSDK_RECIPES to another directory)")
    data = yaml.safe_load(path.read_text()) or {}
    return parse_recipe(data, path)


def all_recipes() -> list[Recipe]:
    """Every recipe in :func:`recipes_dir`, sorted by name."""
    return [load_recipe(p) for p in sorted(recipes_dir().glob("*.yaml"))]


def _is_dynamic(dim: ModelDim) -> bool:
    return dim is None or isinstance(dim, str) or dim < 0


def _resolve_dim(recipe: Recipe, inp: str, axis: int, want: int | str, have: ModelDim) -> tuple[int, int, int]:
    where = _where(recipe.source)
    if isinstance(want, int):
        if not _is_dynamic(have) and have != want:
            raise InputError(f"{where}: inputs.{inp}[{axis}] is {want} but the model has {have}: "
                             f"update the recipe to match the export")
        return (want, want, want)
    if want in recipe.dims:
        lo, opt, hi = recipe.dims[want]
        if not _is_dynamic(have) and not lo == hi == have:
            raise InputError(f"{where}: inputs.{inp}[{axis}] ('{want}') is static {have} in the model, so it "
                             f"cannot range over {list(recipe.dims[want])}: re-export with a dynamic axis")
        return (lo, opt, hi)
    if _is_dynamic(have):
        raise InputError(f"{where}: inputs.{inp}[{axis}] ('{want}') is dynamic in the model: give its range "
                         f"as dims.{want}: [min, opt, max]")
    return (have, have, have)


def profile_shapes(recipe: Recipe, model_inputs: Mapping[str, Sequence[ModelDim]]) -> dict[str, tuple[Shape, Shape, Shape]]:
    """The optimisation profile: input name -> (min, opt, max) shapes.

    Args:
        recipe: the recipe.
        model_inputs: the model's input name -> dims (from ONNX or a TensorRT network;
            dynamic dims as None, negative ints or names).

    Raises:
        InputError: the recipe names unknown inputs, disagrees with a static dimension, or
            leaves a dynamic dimension without a range.
    """
    where = _where(recipe.source)
    unknown = sorted(set(recipe.inputs) - set(model_inputs))
    if unknown:
        raise InputError(f"{where}: inputs {unknown} are not inputs of the model (it has "
                         f"{sorted(model_inputs)}): update the recipe to match the export")
    profile = {}
    for inp, have in model_inputs.items():
        have = tuple(have)
        want = recipe.inputs.get(inp) or tuple("batch" if i == 0 else (d if not _is_dynamic(d) else f"axis{i}")
                                               for i, d in enumerate(have))
        if len(want) != len(have):
            raise InputError(f"{where}: inputs.{inp} has {len(want)} dims but the model input has {len(have)}")
        ranges = [_resolve_dim(recipe, inp, i, w, h) for i, (w, h) in enumerate(zip(want, have))]
        profile[inp] = tuple(tuple(r[k] for r in ranges) for k in range(3))  # type: ignore[assignment]
    return profile


def onnx_inputs(path: str | os.PathLike) -> dict[str, tuple[ModelDim, ...]]:
    """Graph inputs of an ONNX file (initializers excluded): name -> dims (names for dynamic)."""
    from dhsdk._optional import require

    onnx = require("onnx")
    model = onnx.load(os.fspath(path), load_external_data=False)
    init = {t.name for t in model.graph.initializer}
    out = {}
    for vi in model.graph.input:
        if vi.name in init:
            continue
        dims = vi.type.tensor_type.shape.dim
        out[vi.name] = tuple(d.dim_value if d.HasField("dim_value") else (d.dim_param or None) for d in dims)
    return out
