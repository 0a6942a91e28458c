"""Write outputs to a temporary path and rename them into place only when complete.

A failure (exception, Ctrl-C, SIGTERM, disk full) leaves nothing at the destination: no
half-written mp4, no partial avatar bundle. Temporary names carry the host and process id
(``.out.mp4.dhsdk-HOST-PID-XXXX.mp4``), so the temporaries of a run that was killed outright
(SIGKILL, power loss) are recognised and removed by the next run writing into that directory.
:func:`check_output` validates a destination before any work starts.
"""
from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import socket
import tempfile
from pathlib import Path
from typing import Iterator

from dhsdk.errors import InputError

log = logging.getLogger(__name__)
_HOST = re.sub(r"[^A-Za-z0-9]", "_", socket.gethostname())[:32] or "host"
_TEMP = re.compile(r"^\..+\.dhsdk-(?P<host>[A-Za-z0-9_]+)-(?P<pid>\d+)-")


def _temp_prefix(dest: Path) -> str:
    """``.NAME.dhsdk-HOST-PID-``: the start of every temporary name made for ``dest``."""
    return f".{dest.name}.dhsdk-{_HOST}-{os.getpid()}-"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def clean_stale_temps(directory: str | os.PathLike) -> list[Path]:
    """Remove the temporary outputs that runs on this host left in ``directory`` when they died.

    A temporary is stale when its name says it was made on this host by a process that no
    longer exists. Temporaries of other hosts (a shared disk) and of live processes are kept.

    Returns:
        the paths removed.
    """
    removed = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    for entry in entries:
        m = _TEMP.match(entry.name)
        if not m or m["host"] != _HOST or _alive(int(m["pid"])):
            continue
        path = Path(entry.path)
        try:
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(path)
            else:
                path.unlink()
        except OSError as e:
            log.debug("could not remove the stale temporary %s: %s", path, e)
            continue
        removed.append(path)
    if removed:
        log.warning("removed %d temporary output(s) of interrupted runs in %s", len(removed), directory)
    return removed


def human_bytes(n: float) -> str:
    """``1.4 GB``, ``820 MB``, ``12 kB`` (powers of 1000, as disks are sold and ``df -H`` prints)."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    raise AssertionError("unreachable")


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


def _check_space(dest: Path, expected_bytes: float) -> None:
    if expected_bytes <= 0:
        return
    free = shutil.disk_usage(dest.parent).free
    if free < expected_bytes:
        raise InputError(f"not enough free space for {dest}: {human_bytes(free)} free in {dest.parent}, the output "
                         f"needs about {human_bytes(expected_bytes)} (free some space or write elsewhere)")


def check_output(dest: str | os.PathLike, expected_bytes: float = 0) -> Path:
    """Validate an output file path before any work starts.

    Args:
        dest: the file to be written (atomically, by :func:`atomic_file`).
        expected_bytes: about how large it will be; 0 skips the free-space check.

    Returns:
        ``dest`` as a Path.

    Raises:
        InputError: ``dest`` is a directory, its directory is missing, not a directory or not
            writable, or has less free space than ``expected_bytes``.
    """
    dest = Path(dest)
    if dest.is_dir():
        raise InputError(f"cannot write {dest}: it is a directory; give a file path, e.g. {dest / 'out.mp4'}")
    _check_parent(dest)
    _check_space(dest, expected_bytes)
    return dest


def _unwritable(dest: Path, e: OSError) -> InputError:
    return InputError(f"cannot write {dest}: {e.strerror or e} in {dest.parent} (choose another output path, "
                      f"free some space or fix its permissions)")


@contextlib.contextmanager
def atomic_file(dest: str | os.PathLike, suffix: str | None = None, expected_bytes: float = 0) -> Iterator[Path]:
    """Yield a temporary file path beside ``dest``; rename it to ``dest`` on success.

    Stale temporaries of dead runs in the directory are removed first (:func:`clean_stale_temps`).

    Args:
        dest: final path, checked by :func:`check_output`.
        suffix: suffix of the temporary file (defaults to dest's, so encoders that pick a
            container from the extension still see ``.mp4``).
        expected_bytes: about how large the output will be (checked against the free space).
    """
    dest = check_output(dest, expected_bytes)
    clean_stale_temps(dest.parent)
    try:
        fd, tmp = tempfile.mkstemp(prefix=_temp_prefix(dest), suffix=suffix or dest.suffix, dir=dest.parent)
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
    clean_stale_temps(dest.parent)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=_temp_prefix(dest), dir=dest.parent))
    except OSError as e:
        raise _unwritable(dest, e) from None
    os.chmod(tmp, _umask_mode(0o777))
    try:
        yield tmp
        if dest.exists():
            old = dest.with_name(f"{_temp_prefix(dest)}old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(dest, old)
            os.replace(tmp, dest)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
