"""The engine cache: built TensorRT engines keyed by what makes them valid.

An engine is only valid for the exact ONNX bytes, the GPU's compute capability and the
TensorRT version that built it (and the recipe's build settings), so all four are in the key;
changing any of them misses the cache and triggers a rebuild. Engines live under
``$DHSDK_CACHE/engines`` (default ``~/.cache/dhsdk/engines``, or ``$XDG_CACHE_HOME/dhsdk``),
one ``.plan`` plus a ``.json`` describing it, next to one timing cache per (GPU arch, TensorRT).
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from dhsdk.atomic import atomic_file
from dhsdk.paths import cache_root, file_sha256

__all__ = ["EngineCache", "EngineKey", "cache_root", "file_sha256"]


@dataclass(frozen=True)
class EngineKey:
    """What an engine depends on.

    Attributes:
        name: engine (recipe) name.
        onnx_sha256: hash of the ONNX file's bytes.
        compute_capability: GPU (major, minor), e.g. (8, 9) for RTX 40.
        trt_version: ``tensorrt.__version__``.
        recipe_digest: :meth:`Recipe.digest` (precision, workspace, profiles).
    """

    name: str
    onnx_sha256: str
    compute_capability: tuple[int, int]
    trt_version: str
    recipe_digest: str

    @property
    def arch(self) -> str:
        """``sm89`` style label."""
        return f"sm{self.compute_capability[0]}{self.compute_capability[1]}"

    @property
    def digest(self) -> str:
        """Hex key over every field (24 chars)."""
        body = json.dumps([self.name, self.onnx_sha256, list(self.compute_capability), self.trt_version,
                           self.recipe_digest])
        return hashlib.sha256(body.encode()).hexdigest()[:24]

    @property
    def filename(self) -> str:
        """Readable and unique: ``sm89-trt10.8.0-<digest>.plan``."""
        return f"{self.arch}-trt{self.trt_version}-{self.digest}.plan"


@dataclass(frozen=True)
class Entry:
    """One cached engine as listed by ``dhsdk engines list``."""

    path: Path
    key: EngineKey
    size: int
    meta: dict


class EngineCache:
    """Cached engines under ``root`` (default ``cache_root()/engines``)."""

    def __init__(self, root: str | os.PathLike | None = None):
        self.root = Path(root) if root is not None else cache_root() / "engines"

    def path_for(self, key: EngineKey) -> Path:
        """Where the engine for ``key`` is (or would be) stored."""
        return self.root / key.name / key.filename

    def lookup(self, key: EngineKey) -> Path | None:
        """The cached engine for ``key``, or None."""
        path = self.path_for(key)
        return path if path.is_file() and path.with_suffix(".json").is_file() else None

    def store(self, key: EngineKey, engine: bytes, meta: dict | None = None) -> Path:
        """Write the engine and its description atomically; returns the engine path."""
        path = self.path_for(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_file(path) as tmp:
            tmp.write_bytes(engine)
        with atomic_file(path.with_suffix(".json")) as tmp:
            tmp.write_text(json.dumps({"key": asdict(key), **(meta or {})}, indent=2))
        return path

    def timing_cache_path(self, compute_capability: tuple[int, int], trt_version: str) -> Path:
        """The tactic timing cache shared by every build on this GPU arch and TensorRT."""
        return self.root / f"timing-sm{compute_capability[0]}{compute_capability[1]}-trt{trt_version}.cache"

    def entries(self) -> list[Entry]:
        """Every cached engine (those with a readable description), sorted by path."""
        out = []
        for meta_path in sorted(self.root.glob("*/*.json")):
            plan = meta_path.with_suffix(".plan")
            try:
                meta = json.loads(meta_path.read_text())
                k = meta["key"]
                key = EngineKey(k["name"], k["onnx_sha256"], tuple(k["compute_capability"]), k["trt_version"],
                                k["recipe_digest"])
            except (OSError, ValueError, KeyError, TypeError):
                continue
            if plan.is_file():
                out.append(Entry(plan, key, plan.stat().st_size, meta))
        return out

    def remove(self, entry: Entry) -> None:
        """Delete one engine and its description."""
        entry.path.unlink(missing_ok=True)
        entry.path.with_suffix(".json").unlink(missing_ok=True)


def stale_reason(key: EngineKey, onnx_sha256: str | None, recipe_digest: str | None,
                 trt_version: str | None) -> str | None:
    """Why a cached engine no longer matches what would be built now; None when it does.

    Args:
        key: the cached engine's key.
        onnx_sha256: hash of the recipe's current ONNX (None: unknown, not compared).
        recipe_digest: the current recipe's digest (None: the recipe is gone).
        trt_version: the installed TensorRT (None: not installed, not compared).
    """
    if recipe_digest is None:
        return "no recipe of that name"
    if onnx_sha256 is not None and onnx_sha256 != key.onnx_sha256:
        return "ONNX changed"
    if recipe_digest != key.recipe_digest:
        return "recipe changed"
    if trt_version is not None and trt_version != key.trt_version:
        return f"built with TensorRT {key.trt_version}, {trt_version} installed"
    return None
