"""The host frame path's worker threads: one per CPU core, shared by every frame path of the
process, each running the native kernels single-threaded.

A batch of frames is spread over the pool frame by frame (the kernels release the GIL), so the
cores work on different frames instead of all of them on the pixels of one: no OpenMP fork and
barrier per call, which on a loaded machine waits for the slowest, descheduled thread (a 256 px
crop measured 1.9 ms single-threaded and 20 ms with two OpenMP threads on two busy cores).
The OpenMP thread count is a per-thread setting; the pool's threads set theirs to one through
libgomp when the extension uses it (the only OpenMP runtime ``dhsdk._C`` links on Linux).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterable, TypeVar

T = TypeVar("T")
R = TypeVar("R")

_pool: ThreadPoolExecutor | None = None
_lock = threading.Lock()


def single_threaded_kernels() -> None:
    """Make the native kernels called from the current thread run on this thread only."""
    name = ctypes.util.find_library("gomp")
    if name is None:
        return
    try:
        ctypes.CDLL(name).omp_set_num_threads(1)
    except (OSError, AttributeError):  # no libgomp here: the kernels are not OpenMP-parallel
        pass


def workers() -> int:
    """Threads in the pool: the CPU cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def kernel_pool() -> ThreadPoolExecutor:
    """The process's kernel pool (made on first use)."""
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=workers(), thread_name_prefix="dhsdk-kernels",
                                       initializer=single_threaded_kernels)
        return _pool


def map_frames(fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """``[fn(x) for x in items]``, spread over the kernel pool when there is more than one item
    (one item runs on the calling thread). Exceptions propagate."""
    items = list(items)
    if len(items) <= 1:
        return [fn(x) for x in items]
    return [f.result() for f in [kernel_pool().submit(fn, x) for x in items]]
