"""The avatar bundle on disk: a directory with a versioned ``manifest.json`` and its arrays.

Layout (schema 1)::

    manifest.json   format, schema_version, source (path, sha256, kind, size, fps), fps,
                    num_frames, width, height, crop (centre, extent), idle_loop, mouth_model,
                    review summary, files; optional: mouth (closed_threshold in eye
                    distances, closed_frames count)
    arrays.npz      offsets (N+1,) int64 · landmarks (N, 478, 2) float32 px · to_canonical
                    (N, 2, 3) float64 · lips (N, 40, 2) float32 px · neutral_lips (40, 2)
                    float32 canonical · lower_face (P, 2) float64 canonical · reference_lips
                    (40, 2) float32 px · reference_to_canonical (2, 3) float64; optional:
                    lip_gap (N,) float32 canonical
    frames.jpg      the N base frames (:mod:`dhsdk.avatar.framestore`)
    reference.jpg   the most open mouth of the material (teeth and inner mouth for the renderers)
    review.json     the full review report;  review.png  its contact sheet
    mouth_*.onnx    a trained mouth model, when ``mouth_model`` names one

Readers refuse a bundle of a newer schema (made by a newer dhsdk) with a message saying so;
writers always write the current schema. Optional entries extend a schema compatibly: older
readers ignore them, and readers derive them for bundles made before they existed
(``mouth`` and ``lip_gap`` follow from ``lips`` and ``to_canonical``:
:class:`~dhsdk.avatar.avatar.Avatar`), like the ``a2k_model`` entry a trainer adds. A bundle is
written into a temporary directory and renamed into place when complete
(:func:`dhsdk.atomic.atomic_dir`).
"""
from __future__ import annotations

import json
import math
import os
import zipfile
import zlib
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
OPTIONAL_ARRAY_KEYS = ("lip_gap",)
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
    if not isinstance(manifest, dict):
        raise BundleError(f"{file} is damaged (a JSON {type(manifest).__name__}, not an object): "
                          f"create the avatar again")
    if manifest.get("format") != FORMAT:
        raise BundleError(f"{file} is not a dhsdk avatar manifest (format {manifest.get('format')!r}, "
                          f"expected {FORMAT!r})")
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
    _check_values(file, manifest)
    return manifest


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _check_values(file: Path, m: dict[str, Any]) -> None:
    """The types and ranges of the required entries (a damaged or hand-edited manifest fails
    here with a BundleError, not later with a KeyError deep in the pipeline)."""
    def bad(key: str, want: str) -> BundleError:
        return BundleError(f"{file}: {key} is {m[key]!r}, expected {want}: the bundle is damaged; create it again")

    for key in ("num_frames", "width", "height"):
        if not _is_int(m[key]) or m[key] < 1:
            raise bad(key, "a positive integer")
    if not _is_number(m["fps"]) or m["fps"] <= 0:
        raise bad("fps", "a positive number")
    files = m["files"]
    if not isinstance(files, dict) or not all(isinstance(v, str) for v in files.values()):
        raise bad("files", "an object of file names")
    crop = m["crop"]
    centre = crop.get("centre") if isinstance(crop, dict) else None
    if not (isinstance(centre, list) and len(centre) == 2 and all(map(_is_number, centre))
            and _is_number(crop.get("extent")) and crop["extent"] > 0):
        raise bad("crop", '{"centre": [x, y], "extent": > 0}')
    loop = m["idle_loop"]
    if not (isinstance(loop, dict) and loop.get("mode") in ("loop", "pingpong") and _is_int(loop.get("start"))
            and _is_int(loop.get("end")) and 0 <= loop["start"] <= loop["end"] < m["num_frames"]):
        raise bad("idle_loop", '{"mode": "loop" | "pingpong", "start", "end"} within the frames')
    if not isinstance(m["mouth_model"], str):
        raise bad("mouth_model", '"warp" or a model file name')
    mouth = m.get("mouth")
    if mouth is not None and not (isinstance(mouth, dict) and _is_number(mouth.get("closed_threshold"))
                                  and mouth["closed_threshold"] >= 0):
        raise bad("mouth", '{"closed_threshold": >= 0, ...}')


def read_arrays(path: str | os.PathLike, manifest: dict[str, Any]) -> dict[str, np.ndarray]:
    """Load ``arrays.npz`` and check its shapes against the manifest."""
    file = Path(path) / manifest["files"].get("arrays", ARRAYS)
    try:
        with np.load(file, allow_pickle=False) as z:
            arrays = {k: z[k] for k in ARRAY_KEYS + tuple(k for k in OPTIONAL_ARRAY_KEYS if k in z.files)}
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as e:
        raise BundleError(f"{file} is missing or damaged ({type(e).__name__}: {e}): create the avatar again") from None
    n = int(manifest["num_frames"])
    expect = {"offsets": (n + 1,), "landmarks": (n, 478, 2), "to_canonical": (n, 2, 3), "lips": (n, 40, 2),
              "neutral_lips": (40, 2), "reference_lips": (40, 2), "reference_to_canonical": (2, 3), "lip_gap": (n,)}
    for key, shape in expect.items():
        if key in arrays and arrays[key].shape != shape:
            raise BundleError(f"{file}: {key} has shape {arrays[key].shape}, the manifest implies {shape}; "
                              f"the bundle is damaged; create it again")
    lower = arrays["lower_face"].shape
    if len(lower) != 2 or lower[0] < 3 or lower[1] != 2:
        raise BundleError(f"{file}: lower_face has shape {lower}, expected (P >= 3, 2); the bundle is damaged; "
                          f"create it again")
    return arrays


def write_arrays(path: str | os.PathLike, **arrays: np.ndarray) -> None:
    """Write ``arrays.npz`` (every key of :data:`ARRAY_KEYS`, and those of
    :data:`OPTIONAL_ARRAY_KEYS` given)."""
    missing = set(ARRAY_KEYS) - set(arrays)
    unknown = set(arrays) - set(ARRAY_KEYS) - set(OPTIONAL_ARRAY_KEYS)
    if missing or unknown:
        raise ValueError(f"arrays missing: {sorted(missing)}, unknown: {sorted(unknown)}")
    np.savez(Path(path) / ARRAYS, **{k: np.asarray(v) for k, v in arrays.items()})


def write_manifest(path: str | os.PathLike, manifest: dict[str, Any]) -> None:
    """Write ``manifest.json`` (format and schema version filled in)."""
    manifest = {"format": FORMAT, "schema_version": SCHEMA_VERSION, **manifest}
    (Path(path) / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")


def update_manifest(path: str | os.PathLike, **entries: Any) -> dict[str, Any]:
    """Add or replace top-level ``entries`` of the bundle's manifest, atomically (trainers record
    the models they wrote into the bundle this way); returns the new manifest."""
    from dhsdk.atomic import atomic_file

    manifest = {**read_manifest(path), **entries}
    with atomic_file(Path(path) / MANIFEST) as tmp:
        tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    return manifest
