"""Exception types the SDK raises for problems a user can fix.

Every message names the problem and what to do about it; the CLI prints it on one line,
without a traceback, and exits with the error's :attr:`DhsdkError.exit_code`: 2 for input the
user can correct before running (bad arguments, material, paths), 1 for a run that started and
could not deliver (a full disk, a sink that never reached its endpoint).
"""
from __future__ import annotations

import errno


class DhsdkError(Exception):
    """Base class for errors the user can act on (bad input, missing pieces)."""

    exit_code = 2


class InputError(DhsdkError, ValueError):
    """Input material, audio, text or arguments that cannot be used as given."""


class BundleError(DhsdkError):
    """An avatar bundle that is missing, damaged or from an incompatible schema."""


class DeviceError(DhsdkError, RuntimeError):
    """A requested device or backend (CUDA, TensorRT, a GPU) is not usable here."""


class OutputError(DhsdkError):
    """An output could not be written while running (disk full, file size limit, quota)."""

    exit_code = 1


class SinkError(DhsdkError):
    """A sink stopped working (its worker failed) or never reached its endpoint."""

    exit_code = 1


_WRITE_FAILURES = {
    errno.ENOSPC: "the disk is full",
    errno.EFBIG: "the file size limit was reached (see ulimit -f)",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.EROFS: "the file system is read-only",
    errno.EIO: "an I/O error occurred on the device",
}


def write_failure(what: str, e: OSError) -> OutputError:
    """An :class:`OutputError` for ``e`` raised while writing ``what``, saying what to do.

    Args:
        what: the output (a path or a sink's name).
        e: the OS error (``av.error.OSError`` is one too).
    """
    cause = _WRITE_FAILURES.get(e.errno or 0) or (e.strerror or str(e)).rstrip(".").lower()
    return OutputError(f"writing {what} failed: {cause}; nothing was kept (free some space or write elsewhere)")
