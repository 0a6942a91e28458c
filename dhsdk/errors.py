"""Exception types the SDK raises for problems a user can fix.

Every message names the problem and what to do about it; the CLI prints it without a
traceback and exits with status 2.
"""
from __future__ import annotations


class DhsdkError(Exception):
    """Base class for errors the user can act on (bad input, missing pieces)."""


class InputError(DhsdkError, ValueError):
    """Input material, audio, text or arguments that cannot be used as given."""


class BundleError(DhsdkError):
    """An avatar bundle that is missing, damaged or from an incompatible schema."""


class DeviceError(DhsdkError, RuntimeError):
    """A requested device or backend (CUDA, TensorRT, a GPU) is not usable here."""
