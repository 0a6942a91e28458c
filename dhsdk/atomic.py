"""Write outputs to a temporary path and rename them into place only when complete.

A failure (exception, Ctrl-C, disk full) leaves nothing at the destination: no half-written
mp4, no partial avatar bundle.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

from dhsdk.errors import InputError


def _check_parent(dest: Path) -> None:
    parent = dest.parent
    if not parent.is_dir():
        raise InputError(f"cannot write {dest}: the directory {parent} does not exist "
                         f"(create it first, e.g. mkdir -p {parent})")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"cannot write {dest}: the directory {parent} is not writable "
                         f"(choose another output path or fix its permissions)")


@contextlib.contextmanager
def atomic_file(dest: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary file path beside ``dest``; rename it to ``dest`` on success.

    Args:
        dest: final path. Its directory must exist and be writable.
        suffix: suffix of the temporary file (defaults to dest's, so encoders that pick a
            container from the extension still see ``.mp4``).
    """
    dest = Path(dest)
    _check_parent(dest)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.stem}.", suffix=suffix or dest.suffix, dir=dest.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, dest)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_dir(dest: str | os.PathLike, force: bool = False) -> Iterator[Path]:
    """Yield a temporary directory beside ``dest``; move it to ``dest`` on success.

    Args:
        dest: final directory. If it exists, ``force`` must be True; it is then replaced
            only after the new content is complete.
        force: allow replacing an existing ``dest``.
    """
    dest = Path(dest)
    if dest.exists() and not force:
        raise InputError(f"{dest} already exists: choose another output directory or pass --force to replace it")
    _check_parent(dest)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        yield tmp
        if dest.exists():
            old = dest.with_name(f".{dest.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(dest, old)
            os.replace(tmp, dest)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
