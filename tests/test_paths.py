"""dhsdk.paths: the cache root and file fingerprints."""
from __future__ import annotations

import hashlib

from dhsdk.paths import cache_root, file_sha256


def test_cache_root_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("DHSDK_CACHE", str(tmp_path))
    assert cache_root() == tmp_path
    monkeypatch.delenv("DHSDK_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_root() == tmp_path / "xdg" / "dhsdk"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert str(cache_root()).endswith(".cache/dhsdk")


def test_file_sha256_matches_hashlib_across_blocks(tmp_path):
    data = bytes(range(256)) * 9000  # > 2 MiB: several 1 MiB blocks
    f = tmp_path / "blob"
    f.write_bytes(data)
    assert file_sha256(f) == hashlib.sha256(data).hexdigest()
