"""Where dhsdk keeps what it builds (engines, the default avatar), and file fingerprints."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path


def cache_root() -> Path:
    """``$DHSDK_CACHE``, else ``$XDG_CACHE_HOME/dhsdk``, else ``~/.cache/dhsdk``."""
    env = os.environ.get("DHSDK_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "dhsdk"


def file_sha256(path: str | os.PathLike) -> str:
    """sha256 hex digest of a file's bytes (read in 1 MiB blocks)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
