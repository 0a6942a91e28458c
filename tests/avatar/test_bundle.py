"""The bundle on disk: what a created bundle holds, loading validates the schema, a bundle of a
newer schema is refused saying so, and damaged manifests, arrays or frames are BundleErrors
with what to do (never a KeyError or a numpy traceback)."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from dhsdk.avatar import Avatar, bundle
from dhsdk.errors import BundleError


@pytest.fixture
def copy(moving_avatar, tmp_path):
    """A fresh copy of the moving clip's bundle to damage."""
    avatar, _ = moving_avatar
    return shutil.copytree(avatar.path, tmp_path / "anna")


def _edit_manifest(path, **changes):
    file = path / bundle.MANIFEST
    m = json.loads(file.read_text())
    for k, v in changes.items():
        if v is None:
            m.pop(k, None)
        else:
            m[k] = v
    file.write_text(json.dumps(m))


def test_bundle_files_and_manifest(moving_avatar):
    avatar, _ = moving_avatar
    names = {p.name for p in avatar.path.iterdir()}
    assert names == {bundle.MANIFEST, bundle.ARRAYS, bundle.FRAMES, bundle.REFERENCE, bundle.REVIEW_JSON,
                     bundle.REVIEW_PNG}
    m = bundle.read_manifest(avatar.path)
    assert m["format"] == bundle.FORMAT and m["schema_version"] == bundle.SCHEMA_VERSION
    assert (m["width"], m["height"], m["num_frames"], m["fps"]) == (384, 512, 100, 25.0)
    assert m["source"]["kind"] == "video" and len(m["source"]["sha256"]) == 64 and m["source"]["frames"] == 100
    assert m["mouth_model"] == "warp" and m["review"]["verdict"] in ("pass", "warn")
    assert set(m["files"].values()) <= names
    arrays = bundle.read_arrays(avatar.path, m)
    assert arrays["landmarks"].shape == (100, 478, 2) and arrays["landmarks"].dtype == np.float32
    assert arrays["to_canonical"].dtype == np.float64 and arrays["lower_face"].ndim == 2
    assert arrays["lip_gap"].shape == (100,) and arrays["lip_gap"].dtype == np.float32
    assert m["mouth"]["closed_frames"] == int((arrays["lip_gap"] < m["mouth"]["closed_threshold"]).sum())


def test_load_round_trip(moving_avatar):
    avatar, _ = moving_avatar
    again = Avatar.load(avatar.path)
    assert (again.width, again.height, again.num_frames, again.fps) == (384, 512, 100, 25.0)
    assert np.array_equal(again.landmarks, avatar.landmarks)
    assert again.idle_loop == avatar.idle_loop
    assert again.frame(0).shape == (512, 384, 3)
    assert "384x512, 100 frames at 25 fps" in repr(again)


def test_newer_schema_is_refused(copy):
    _edit_manifest(copy, schema_version=bundle.SCHEMA_VERSION + 1)
    with pytest.raises(BundleError, match="newer") as e:
        Avatar.load(copy)
    assert f"schema {bundle.SCHEMA_VERSION + 1}" in str(e.value) and "upgrade dhsdk" in str(e.value)


def test_older_schema_number_still_reads(copy):
    """Schema 1 is the first; a reader accepts every schema up to its own."""
    _edit_manifest(copy, schema_version=bundle.SCHEMA_VERSION)
    Avatar.load(copy)


def test_bundle_from_before_the_mouth_state_loads_with_it_derived(moving_avatar, copy):
    """A bundle written before ``lip_gap`` and ``mouth`` existed (same schema number) loads, and
    gets exactly what creation would have stored."""
    avatar, _ = moving_avatar
    _edit_manifest(copy, mouth=None)
    with np.load(copy / bundle.ARRAYS) as z:
        arrays = {k: z[k] for k in z.files if k != "lip_gap"}
    np.savez(copy / bundle.ARRAYS, **arrays)
    old = Avatar.load(copy)
    assert np.allclose(old.lip_gap, avatar.lip_gap, atol=1e-6)
    assert old.closed_threshold == pytest.approx(avatar.closed_threshold, abs=1e-6)
    assert np.array_equal(old.closed_mouth, avatar.closed_mouth)


@pytest.mark.parametrize("mouth", [{"closed_threshold": "low"}, {"closed_threshold": -0.1}, {}, [0.05]],
                         ids=["string", "negative", "empty", "list"])
def test_damaged_mouth_entry(copy, mouth):
    _edit_manifest(copy, mouth=mouth)
    with pytest.raises(BundleError, match="mouth"):
        Avatar.load(copy)


def test_lip_gap_of_the_wrong_length(copy):
    with np.load(copy / bundle.ARRAYS) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["lip_gap"] = arrays["lip_gap"][:-1]
    np.savez(copy / bundle.ARRAYS, **arrays)
    with pytest.raises(BundleError, match="lip_gap"):
        Avatar.load(copy)


def test_not_a_directory(tmp_path):
    with pytest.raises(BundleError, match="not found"):
        Avatar.load(tmp_path / "nowhere")
    (tmp_path / "file").write_text("x")
    with pytest.raises(BundleError, match="not a directory"):
        Avatar.load(tmp_path / "file")


def test_directory_without_manifest(tmp_path):
    with pytest.raises(BundleError, match="no manifest.json"):
        Avatar.load(tmp_path)


@pytest.mark.parametrize("text", ["{not json", "\xff\xfe garbage", "", "[1, 2, 3]", '"a string"', "null", "42"],
                         ids=["broken", "binary", "empty", "list", "string", "null", "number"])
def test_damaged_manifest(copy, text):
    (copy / bundle.MANIFEST).write_bytes(text.encode("latin-1"))
    with pytest.raises(BundleError, match="damaged|not a dhsdk avatar manifest"):
        Avatar.load(copy)


def test_other_format(copy):
    _edit_manifest(copy, format="someone-elses-avatar")
    with pytest.raises(BundleError, match="not a dhsdk avatar manifest") as e:
        Avatar.load(copy)
    assert "someone-elses-avatar" in str(e.value)


@pytest.mark.parametrize("version", ["1", 1.5, None], ids=["string", "float", "missing"])
def test_schema_version_not_an_integer(copy, version):
    if version is None:
        _edit_manifest(copy, schema_version=None)
    else:
        _edit_manifest(copy, schema_version=version)
    with pytest.raises(BundleError, match="schema_version"):
        Avatar.load(copy)


@pytest.mark.parametrize("key", bundle.REQUIRED_KEYS[2:])
def test_manifest_missing_a_key(copy, key):
    _edit_manifest(copy, **{key: None})
    with pytest.raises(BundleError, match=f"lacks {key}"):
        Avatar.load(copy)


@pytest.mark.parametrize("changes", [{"num_frames": "many"}, {"files": ["frames.jpg"]}, {"width": None, "height": None},
                                     {"crop": {"centre": [0, 1]}}, {"idle_loop": {"mode": "loop"}},
                                     {"fps": "fast"}],
                         ids=["num_frames", "files", "size", "crop", "idle_loop", "fps"])
def test_manifest_with_wrong_values(copy, changes):
    _edit_manifest(copy, **changes)
    with pytest.raises(BundleError):
        Avatar.load(copy)


def test_manifest_frame_count_disagrees_with_arrays(copy):
    _edit_manifest(copy, num_frames=99)
    with pytest.raises(BundleError, match="shape"):
        Avatar.load(copy)


def test_arrays_missing(copy):
    (copy / bundle.ARRAYS).unlink()
    with pytest.raises(BundleError, match="missing or damaged"):
        Avatar.load(copy)


@pytest.mark.parametrize("share", [0.5, 0.98, 0.02])
def test_arrays_truncated(copy, share):
    data = (copy / bundle.ARRAYS).read_bytes()
    (copy / bundle.ARRAYS).write_bytes(data[: int(len(data) * share)])
    with pytest.raises(BundleError, match="missing or damaged"):
        Avatar.load(copy)


def test_arrays_garbage(copy):
    (copy / bundle.ARRAYS).write_bytes(b"\x93NUMPY garbage" * 100)
    with pytest.raises(BundleError, match="missing or damaged"):
        Avatar.load(copy)


def test_arrays_missing_a_key(copy):
    with np.load(copy / bundle.ARRAYS) as z:
        arrays = {k: z[k] for k in z.files if k != "lips"}
    np.savez(copy / bundle.ARRAYS, **arrays)
    with pytest.raises(BundleError, match="lips"):
        Avatar.load(copy)


@pytest.mark.parametrize("key,shape", [("landmarks", (100, 468, 2)), ("neutral_lips", (20, 2)),
                                       ("lower_face", (26,)), ("lower_face", (0, 2)), ("offsets", (50,))])
def test_arrays_of_the_wrong_shape(copy, key, shape):
    with np.load(copy / bundle.ARRAYS) as z:
        arrays = {k: z[k] for k in z.files}
    arrays[key] = np.zeros(shape, arrays[key].dtype)
    np.savez(copy / bundle.ARRAYS, **arrays)
    with pytest.raises(BundleError, match=key):
        Avatar.load(copy)


def test_arrays_with_pickled_objects_are_refused(copy):
    with np.load(copy / bundle.ARRAYS) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["lips"] = np.array([object()] * 3, dtype=object)
    np.savez(copy / bundle.ARRAYS, **arrays)
    with pytest.raises(BundleError):
        Avatar.load(copy)


def test_frames_missing(copy):
    (copy / bundle.FRAMES).unlink()
    with pytest.raises(BundleError, match="missing"):
        Avatar.load(copy)


def test_frames_truncated(copy):
    data = (copy / bundle.FRAMES).read_bytes()
    (copy / bundle.FRAMES).write_bytes(data[: len(data) // 2])
    with pytest.raises(BundleError, match="damaged"):
        Avatar.load(copy)


def test_reference_missing(copy):
    (copy / bundle.REFERENCE).unlink()
    avatar = Avatar.load(copy)   # loading does not need it; the renderers do
    with pytest.raises(BundleError, match="reference.jpg is missing"):
        avatar.reference_crop(128)


def test_write_arrays_needs_every_key_and_no_other(tmp_path):
    with pytest.raises(ValueError, match="arrays missing"):
        bundle.write_arrays(tmp_path, offsets=np.zeros(2, np.int64))
    arrays = {k: np.zeros(1) for k in bundle.ARRAY_KEYS}
    with pytest.raises(ValueError, match="unknown: \\['typo'\\]"):
        bundle.write_arrays(tmp_path, **arrays, typo=np.zeros(1))


def test_write_manifest_stamps_format_and_schema(tmp_path):
    bundle.write_manifest(tmp_path, {"fps": 25.0})
    m = json.loads((tmp_path / bundle.MANIFEST).read_text())
    assert m["format"] == bundle.FORMAT and m["schema_version"] == bundle.SCHEMA_VERSION and m["fps"] == 25.0


def test_update_manifest_adds_entries_and_keeps_the_rest(copy):
    from dhsdk.avatar.bundle import update_manifest

    before = bundle.read_manifest(copy)
    update_manifest(copy, mouth_model="mouth_lite.onnx", mouth_metrics={"val_psnr": 30.5})
    after = bundle.read_manifest(copy)
    assert after["mouth_model"] == "mouth_lite.onnx" and after["mouth_metrics"] == {"val_psnr": 30.5}
    assert {k: v for k, v in after.items() if k not in ("mouth_model", "mouth_metrics")} == \
        {k: v for k, v in before.items() if k not in ("mouth_model", "mouth_metrics")}
    assert sorted(p.name for p in copy.iterdir() if p.name.startswith(".")) == []   # no temp file left
