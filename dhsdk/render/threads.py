"""The host frame path's helper threads: a batch's per-frame native work split among the cores.

A batch is rendered by one caller (a Scheduler worker) and its native calls release the GIL, but
one thread runs one call at a time, and the kernels' own row threads rarely get the second
core of a busy machine in time (at 10 streams of 720 x 1280 on 2 cores the warp ran at its
single-thread speed and the batch took 26 ms of a 33 ms frame). So the per-frame work of a batch
(base-frame copy and warp) is cut into one contiguous part per core, run side by side: the
caller takes one part, the process's helper threads the others.
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Sequence

_pool: ThreadPoolExecutor | None = None
_lock = threading.Lock()


def cpu_cores() -> int:
    """The CPU cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def render_threads() -> int:
    """Threads a batch's per-frame work is split among: ``DHSDK_NUM_THREADS`` (the kernels' own
    setting; a render worker process gets its share of the cores there), else the cores."""
    value = os.environ.get("DHSDK_NUM_THREADS", "")
    return int(value) if value.isdigit() and int(value) > 0 else cpu_cores()


def _helpers() -> ThreadPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=max(1, render_threads() - 1), thread_name_prefix="dhsdk-render")
        return _pool


def split(n: int, fn: Callable[[range], None], parts: int | None = None) -> None:
    """Run ``fn(part)`` for ``parts`` (default: :func:`render_threads`) contiguous parts of
    ``range(n)``, side by side; the caller runs the first. Exceptions propagate (after every
    part finished)."""
    parts = max(1, min(n, parts or render_threads()))
    cuts = [round(n * i / parts) for i in range(parts + 1)]
    ranges: Sequence[range] = [range(a, b) for a, b in zip(cuts, cuts[1:])]
    futures = [_helpers().submit(fn, r) for r in ranges[1:]]
    try:
        fn(ranges[0])
    finally:
        errors = [f.exception() for f in futures]
    for e in errors:
        if e is not None:
            raise e
