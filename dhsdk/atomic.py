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


def _umask_mode(full: int) -> int:
    """``full`` (0o666 files, 0o777 directories) less the process umask, as a plain open() would give."""
    try:  # Linux: read it without changing it (os.umask would race with other threads)
        with open("/proc/self/status") as f:
            mask = next(int(line.split()[1], 8) for line in f if line.startswith("Umask:"))
    except (OSError, StopIteration, ValueError, IndexError):
        mask = os.umask(0o022)
        os.umask(mask)
    return full & ~mask


def _check_parent(dest: Path) -> None:
    parent = dest.parent
    if parent.exists() and not parent.is_dir():
        raise InputError(f"cannot write {dest}: {parent} is a file, not a directory (choose another output path)")
    if not parent.is_dir():
        raise InputError(f"cannot write {dest}: the directory {parent} does not exist "
                         f"(create it first, e.g. mkdir -p {parent})")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"cannot write {dest}: the directory {parent} is not writable "
                         f"(choose another output path or fix its permissions)")


def _unwritable(dest: Path, e: OSError) -> InputError:
    return InputError(f"cannot write {dest}: {e.strerror or e} in {dest.parent} (choose another output path, "
                      f"free some space or fix its permissions)")


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
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{dest.stem}.", suffix=suffix or dest.suffix, dir=dest.parent)
    except OSError as e:
        raise _unwritable(dest, e) from None
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, _umask_mode(0o666))  # mkstemp makes 0600; outputs get the usual permissions
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
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    except OSError as e:
        raise _unwritable(dest, e) from None
    os.chmod(tmp, _umask_mode(0o777))
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
