"""CUDA streams and events for the GPU path, over CuPy (imported on first use).

Stages of different batches overlap on separate streams and order themselves with events,
not host syncs (DESIGN.md "Real time"). Everything here takes any stream-like object a
caller has: a :class:`Stream`, a CuPy stream, a ``torch.cuda.Stream``, a PyCUDA stream or
a raw ``cudaStream_t`` int (:func:`stream_ptr`).
"""
from __future__ import annotations

import warnings
from types import ModuleType
from typing import Any

from dhsdk.errors import DeviceError

# cudaStreamLegacy and cudaStreamPerThread, the special handles __cuda_array_interface__ and
# DLPack use (0 means the default stream too).
LEGACY_DEFAULT, PER_THREAD_DEFAULT = 1, 2


def cupy_for(purpose: str) -> ModuleType:
    """CuPy, after checking that a CUDA device is usable.

    Raises:
        ImportError: CuPy is missing (with the install command).
        DeviceError: no driver, no device or no CUDA launchers (says which and the fix).
    """
    from dhsdk._optional import require
    from dhsdk.device import cuda_problem

    cupy = require("cupy", purpose)
    problem = cuda_problem()
    if problem:
        raise DeviceError(f"{purpose} needs a CUDA GPU, but {problem}")
    return cupy


def stream_ptr(stream: Any) -> int:
    """The ``cudaStream_t`` of a stream-like object (None -> 0, the default stream).

    Args:
        stream: None, an int handle, or an object with ``.ptr`` (CuPy, :class:`Stream`),
            ``.cuda_stream`` (torch) or ``.handle`` (PyCUDA).

    Raises:
        TypeError: the object is none of these.
    """
    if stream is None:
        return 0
    if isinstance(stream, int):
        return stream
    for attr in ("ptr", "cuda_stream", "handle"):
        value = getattr(stream, attr, None)
        if isinstance(value, int):
            return value
    raise TypeError(f"not a CUDA stream: {type(stream).__name__} (pass a CuPy/torch/PyCUDA stream or an int handle)")


def is_default_stream(ptr: int) -> bool:
    """True for the default-stream handles (0, legacy, per-thread), which graphs cannot capture."""
    return ptr in (0, LEGACY_DEFAULT, PER_THREAD_DEFAULT)


class Event:
    """A CUDA event (timing disabled unless asked: cheaper for pure ordering).

    Args:
        timing: keep timing data, for :meth:`elapsed_ms`.
    """

    def __init__(self, timing: bool = False):
        self._cupy = cupy_for("CUDA events")
        self.raw = self._cupy.cuda.Event(disable_timing=not timing)

    def record(self, stream: Any = None) -> "Event":
        """Record on ``stream`` (any stream-like); returns self."""
        self.raw.record(_as_cupy_stream(self._cupy, stream_ptr(stream)))
        return self

    def synchronize(self) -> None:
        """Block the host until the recorded work is done."""
        self.raw.synchronize()

    def done(self) -> bool:
        """True when the recorded work is done (non-blocking)."""
        return bool(self.raw.done)

    def elapsed_ms(self, end: "Event") -> float:
        """Milliseconds from this event to ``end`` (both recorded, timing enabled)."""
        return float(self._cupy.cuda.get_elapsed_time(self.raw, end.raw))


class Stream:
    """A CUDA stream owned by dhsdk, or a wrapper around a caller's stream.

    Args:
        external: a caller's stream-like object to wrap (not owned: never destroyed here);
            None creates a new stream.
        non_blocking: a new stream does not synchronise with the legacy default stream.
    """

    def __init__(self, external: Any = None, non_blocking: bool = True):
        self._cupy = cupy_for("CUDA streams")
        if external is None:
            self.raw = self._cupy.cuda.Stream(non_blocking=non_blocking)
        else:
            self.raw = _as_cupy_stream(self._cupy, stream_ptr(external))

    @property
    def ptr(self) -> int:
        """The ``cudaStream_t`` handle."""
        return int(self.raw.ptr)

    def synchronize(self) -> None:
        """Block the host until all work queued on the stream is done."""
        self.raw.synchronize()

    def record(self, event: Event | None = None) -> Event:
        """Record ``event`` (a new one when None) on this stream and return it."""
        return (event or Event()).record(self)

    def wait(self, event: Event) -> None:
        """Make later work on this stream wait for ``event`` (no host sync)."""
        self.raw.wait_event(event.raw)

    def wait_stream(self, other: Any) -> None:
        """Make later work on this stream wait for the work queued so far on ``other``."""
        other_ptr = stream_ptr(other)
        if other_ptr != self.ptr:
            self.wait(Event().record(other_ptr))

    def __enter__(self) -> "Stream":
        self.raw.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.raw.__exit__(*exc)


# (CuPy module, handle) -> its ExternalStream, made once: a per-call launch reuses the object
# instead of paying for a new one (and the warnings filter) each time. Bounded: a program that
# creates and destroys streams endlessly only ever holds the last few hundred wrappers.
_EXTERNAL: dict[tuple[int, int], tuple[ModuleType, Any]] = {}  # holds the module: its id stays unique
_EXTERNAL_MAX = 256


def _as_cupy_stream(cupy: ModuleType, ptr: int) -> Any:
    if ptr == 0:
        return cupy.cuda.Stream.null
    key = (id(cupy), ptr)
    entry = _EXTERNAL.get(key)
    if entry is None:
        with warnings.catch_warnings():  # CuPy 14 deprecates ExternalStream; 13 lacks its successor
            warnings.simplefilter("ignore", DeprecationWarning)
            entry = (cupy, cupy.cuda.ExternalStream(ptr))
        if len(_EXTERNAL) >= _EXTERNAL_MAX:
            _EXTERNAL.clear()
        _EXTERNAL[key] = entry
    return entry[1]
