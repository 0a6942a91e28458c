"""``dhsdk engines build|list|clean``: TensorRT engines from the recipes in ``engines/``.

``build`` needs a GPU and TensorRT; ``list`` and ``clean`` work anywhere (they read the cache).
"""
from __future__ import annotations

import argparse
import importlib
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cache", type=Path, default=None,
                   help="engine cache directory (default: $DHSDK_CACHE/engines or ~/.cache/dhsdk/engines)")
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    b = sub.add_parser("build", help="build (or reuse) engines for this GPU, checked against ONNX Runtime")
    b.add_argument("names", nargs="*", help="recipe names or YAML paths (default: every recipe)")
    b.add_argument("--onnx", type=Path, help="ONNX model to use instead of the recipe's (one recipe only)")
    b.add_argument("--device", type=int, default=0, help="CUDA device index")
    b.add_argument("--force", action="store_true", help="rebuild even when a cached engine matches")
    sub.add_parser("list", help="list cached engines and whether they are still current")
    c = sub.add_parser("clean", help="delete cached engines")
    c.add_argument("names", nargs="*", help="only engines of these recipes")
    c.add_argument("--stale", action="store_true", help="only engines that no longer match their recipe/ONNX/TensorRT")


def _trt_version() -> str | None:
    try:
        return importlib.import_module("tensorrt").__version__
    except ImportError:
        return None


def _current() -> dict[str, tuple[str | None, str]]:
    """Recipe name -> (sha256 of its ONNX if present, recipe digest)."""
    from dhsdk.engines.cache import file_sha256
    from dhsdk.engines.recipes import all_recipes

    out = {}
    for r in all_recipes():
        onnx = r.onnx_path()
        out[r.name] = (file_sha256(onnx) if onnx.is_file() else None, r.digest())
    return out


def _staleness(entries: list) -> list[str | None]:
    from dhsdk.engines.cache import stale_reason

    current, trt = _current(), _trt_version()
    return [stale_reason(e.key, *(current.get(e.key.name) or (None, None)), trt) for e in entries]


def _build(args: argparse.Namespace, cache) -> int:
    from dhsdk.cuda.requirements import missing_gpu_pieces
    from dhsdk.engines.build import build_engine
    from dhsdk.engines.recipes import all_recipes, load_recipe
    from dhsdk.errors import DeviceError, InputError

    recipes = [load_recipe(n) for n in args.names] if args.names else all_recipes()
    if args.onnx and len(recipes) != 1:
        raise InputError("--onnx needs exactly one recipe name")
    missing = missing_gpu_pieces(("cuda", "tensorrt", "polygraphy"))
    if missing:
        raise DeviceError("building engines needs:\n  " + "\n  ".join(missing))
    for recipe in recipes:
        if not args.names and not recipe.onnx_path().is_file():
            print(f"{recipe.name}: skipped, {recipe.onnx_path()} is not exported yet")
            continue
        path = build_engine(recipe, args.onnx, cache, device=args.device, force=args.force)
        print(f"{recipe.name}: {path}")
    return 0


def _list(cache) -> int:
    entries = cache.entries()
    if not entries:
        print(f"no engines cached in {cache.root}")
        return 0
    for e, stale in zip(entries, _staleness(entries)):
        check = e.meta.get("check", {})
        print(f"{e.key.name:<14} {e.key.arch:<6} trt {e.key.trt_version:<10} {e.meta.get('precision', '?'):<5} "
              f"{e.size / 2**20:7.1f} MiB  check {'pass' if check.get('passed') else '?'}  "
              f"{'STALE: ' + stale if stale else 'current'}  {e.path}")
    return 0


def _clean(args: argparse.Namespace, cache) -> int:
    entries = [e for e in cache.entries() if not args.names or e.key.name in args.names]
    if args.stale:
        entries = [e for e, why in zip(entries, _staleness(entries)) if why]
    for e in entries:
        cache.remove(e)
        print(f"removed {e.path}")
    print(f"{len(entries)} engine(s) removed from {cache.root}")
    return 0


def run(args: argparse.Namespace) -> int:
    from dhsdk.engines.cache import EngineCache

    cache = EngineCache(args.cache)
    if args.action == "build":
        return _build(args, cache)
    if args.action == "list":
        return _list(cache)
    return _clean(args, cache)
