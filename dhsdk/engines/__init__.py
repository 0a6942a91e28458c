"""TensorRT engines: recipes (``engines/*.yaml``), the engine cache, builds and their checks.

Nothing here imports TensorRT until a build runs; recipes and the cache work without a GPU.
"""
from __future__ import annotations

from dhsdk.engines.cache import EngineCache, EngineKey, cache_root
from dhsdk.engines.recipes import Recipe, load_recipe, profile_shapes

__all__ = ["EngineCache", "EngineKey", "Recipe", "build_engine", "cache_root", "load_recipe", "profile_shapes"]


def build_engine(*args, **kwargs):
    """See :func:`dhsdk.engines.build.build_engine` (imported on first use)."""
    from dhsdk.engines.build import build_engine as build

    return build(*args, **kwargs)
