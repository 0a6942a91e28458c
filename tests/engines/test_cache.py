"""Engine cache keys, storage and invalidation."""
from __future__ import annotations

import dataclasses
from pathlib import Path

from dhsdk.engines.cache import EngineCache, EngineKey, cache_root, file_sha256, stale_reason


def _key(**over) -> EngineKey:
    base = dict(name="a2k", onnx_sha256="a" * 64, compute_capability=(8, 9), trt_version="10.8.0",
                recipe_digest="r" * 64)
    base.update(over)
    return EngineKey(**base)


def test_key_changes_with_each_ingredient(tmp_path):
    one, two = tmp_path / "1.onnx", tmp_path / "2.onnx"
    one.write_bytes(b"onnx bytes")
    two.write_bytes(b"onnx bytes!")
    assert file_sha256(one) != file_sha256(two)
    base = _key(onnx_sha256=file_sha256(one))
    assert base.digest == _key(onnx_sha256=file_sha256(one)).digest  # deterministic
    variants = [_key(onnx_sha256=file_sha256(two)), _key(compute_capability=(9, 0)),
                _key(trt_version="10.9.0"), _key(recipe_digest="s" * 64), _key(name="inpaint_lite")]
    digests = {base.digest} | {v.digest for v in variants}
    assert len(digests) == 1 + len(variants)
    assert base.filename.startswith("sm89-trt10.8.0-") and _key(compute_capability=(9, 0)).arch == "sm90"


def test_cache_root_env(monkeypatch, tmp_path):
    monkeypatch.delenv("DHSDK_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_root() == tmp_path / "xdg" / "dhsdk"
    monkeypatch.setenv("DHSDK_CACHE", str(tmp_path / "mine"))
    assert cache_root() == tmp_path / "mine"
    assert EngineCache().root == tmp_path / "mine" / "engines"


def test_store_lookup_list_remove(tmp_path):
    cache = EngineCache(tmp_path)
    key = _key()
    assert cache.lookup(key) is None
    path = cache.store(key, b"\x00plan", {"precision": "fp16"})
    assert cache.lookup(key) == path and path.read_bytes() == b"\x00plan"
    assert cache.lookup(dataclasses.replace(key, trt_version="10.9.0")) is None
    (entry,) = cache.entries()
    assert entry.key == key and entry.size == 5 and entry.meta["precision"] == "fp16"
    assert sorted(p.name for p in Path(tmp_path, "a2k").iterdir()) == [path.with_suffix(".json").name, path.name]
    cache.remove(entry)
    assert cache.entries() == [] and cache.lookup(key) is None
    assert cache.timing_cache_path((8, 9), "10.8.0").name == "timing-sm89-trt10.8.0.cache"


def test_stale_reasons():
    key = _key()
    assert stale_reason(key, key.onnx_sha256, key.recipe_digest, key.trt_version) is None
    assert stale_reason(key, None, key.recipe_digest, None) is None  # nothing known to compare
    assert stale_reason(key, "b" * 64, key.recipe_digest, None) == "ONNX changed"
    assert stale_reason(key, None, "x", None) == "recipe changed"
    assert "10.9.0 installed" in stale_reason(key, None, key.recipe_digest, "10.9.0")
    assert stale_reason(key, None, None, None) == "no recipe of that name"
