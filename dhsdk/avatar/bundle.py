"""The avatar bundle on disk: a directory with a versioned ``manifest.json`` and its arrays.

Layout (schema 1)::

    manifest.json   format, schema_version, source (path, sha256, kind, size, fps), fps,
                    num_frames, width, height, crop (centre, extent), idle_loop, mouth_model,
                    review summary, files
    arrays.npz      offsets (N+1,) int64 · landmarks (N, 478, 2) float32 px · to_canonical
                    (N, 2, 3) float64 · lips (N, 40, 2) float32 px · neutral_lips (40, 2)
                    float32 canonical · lower_face (P, 2) float64 canonical · reference_lips
                    (40, 2) float32 px · reference_to_canonical (2, 3) float64
    frames.jpg      the N base frames (:mod:`dhsdk.avatar.framestore`)
    reference.jpg   the most open mouth of the material (teeth and inner mouth for the renderers)
    review.json     the full review report;  review.png  its contact sheet
    mouth_*.onnx    a trained mouth model, when ``mouth_model`` names one

Readers refuse a bundle of a newer schema (made by a newer dhsdk) with a message saying so;
writers always write the current schema. A bundle is written into a temporary directory and
renamed into place when complete (:func:`dhsdk.atomic.atomic_dir`).
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from dhsdk.errors import BundleError

FORMAT = "dhsdk-avatar"
SCHEMA_VERSION = 1
MANIFEST = "manifest.json"
ARRAYS = "arrays.npz"
FRAMES = "frames.jpg"
REVIEW_JSON = "review.json"
REVIEW_PNG = "review.png"
REFERENCE = "reference.jpg"
ARRAY_KEYS = ("offsets", "landmarks", "to_canonical", "lips", "neutral_lips", "lower_face", "reference_lips",
              "reference_to_canonical")
REQUIRED_KEYS = ("format", "schema_version", "fps", "num_frames", "width", "height", "crop", "idle_loop",
                 "mouth_model", "files")


def read_manifest(path: str | os.PathLike) -> dict[str, Any]:
    """Load and validate ``manifest.json`` of the bundle at ``path``.

    Raises:
        BundleError: no such directory, not a bundle, damaged, or a newer schema.
    """
    path = Path(path)
    if not path.is_dir():
        raise BundleError(f"avatar bundle not found: {path} is not a directory (create one with "
                          f"'dhsdk avatar create VIDEO -o {path}', or use --avatar default)")
    file = path / MANIFEST
    if not file.is_file():
        raise BundleError(f"{path} is not an avatar bundle: it has no {MANIFEST} (create one with "
                          f"'dhsdk avatar create VIDEO -o DIR')")
    try:
        manifest = json.loads(file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise BundleError(f"{file} is damaged ({e}): create the avatar again") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BundleError(f"{file} is not a dhsdk avatar manifest (format {manifest.get('format')!r} "
                          f"if isinstance(manifest, dict) else 'not an object'")
    version = manifest.get("schema_version")
    if not isinstance(version, int):
        raise BundleError(f"{file} has no integer schema_version: the bundle is damaged; create it again")
    if version > SCHEMA_VERSION:
        raise BundleError(f"{path} is an avatar bundle of schema {version}, made by a newer dhsdk; this dhsdk "
                          f"reads schema <= {SCHEMA_VERSION}: upgrade dhsdk (pip install -U dhsdk) or create "
                          f"the avatar again with this version")
    missing = [k for k in REQUIRED_KEYS if k not in manifest]
    if missing:
        raise BundleError(f"{file} lacks {', '.join(missing)}: the bundle is damaged; create it again")
    return manifest


def read_arrays(path: str | os.PathLike, manifest: dict[str, Any]) -> dict[str, np.ndarray]:
    """Load ``arrays.npz`` and check its shapes against the manifest."""
    file = Path(path) / manifest["files"].get("arrays", ARRAYS)
    try:
        with np.load(file, allow_pickle=False) as z:
            arrays = {k: z[k] for k in ARRAY_KEYS}
    except (OSError, KeyError, ValueError) as e:
        raise BundleError(f"{file} is missing or damaged ({e}): create the avatar again") from None
    n = int(manifest["num_frames"])
    expect = {"offsets": (n + 1,), "landmarks": (n, 478, 2), "to_canonical": (n, 2, 3), "lips": (n, 40, 2),
              "neutral_lips": (40, 2), "reference_lips": (40, 2), "reference_to_canonical": (2, 3)}
    for key, shape in expect.items():
        if arrays[key].shape != shape:
            raise BundleError(f"{file}: {key} has shape {arrays[key].shape}, the manifest implies {shape}; "
                              f"the bundle is damaged; create it again")
    return arrays


def write_arrays(path: str | os.PathLike, **arrays: np.ndarray) -> None:
    """Write ``arrays.npz`` (every key of :data:`ARRAY_KEYS`)."""
    missing = set(ARRAY_KEYS) - set(arrays)
    if missing:
        raise ValueError(f"arrays missing: {sorted(missing)}")
    np.savez(Path(path) / ARRAYS, **{k: np.asarray(arrays[k]) for k in ARRAY_KEYS})


def write_manifest(path: str | os.PathLike, manifest: dict[str, Any]) -> None:
    """Write ``manifest.json`` (format and schema version filled in)."""
    manifest = {"format": FORMAT, "schema_version": SCHEMA_VERSION, **manifest}
    (Path(path) / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
