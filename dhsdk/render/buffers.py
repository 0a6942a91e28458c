"""Recycled output frames: a frame path renders into buffers that come back when nobody holds them.

A 720 x 1280 RGB frame is 2.7 MB. Allocated fresh per frame, that memory is returned to the
system when the frame is dropped and faulted in again, page by page, for the next one: on the
shared 2-core machine a new frame cost 0.68 ms to fill where a recycled one cost 0.15 ms
(``np.copyto`` of a base frame). A :class:`FramePool` hands out plain numpy arrays and takes
each one's memory back when the last reference to it *and to every view of it* is gone, so
sinks, queues and callers keep frames as long as they like and nothing is overwritten under
them.

How it knows: the memory belongs to a *slot* array of a private ndarray subclass; a frame is a
plain ``ndarray`` view of its slot, with a finalizer. numpy makes a view's ``base`` the first
array up the chain that owns its data *or has another type*, so any view of a frame (a slice,
a reshape, ``frame[..., :3]``) keeps the frame itself as its base, and the frame's finalizer
runs only after the last of them is gone. The slots' memory can come from anywhere that
exposes a writable buffer (shared memory for worker processes: :mod:`dhsdk.pipeline.workers`).
"""
from __future__ import annotations

import threading
import weakref
from typing import Any, Callable

import numpy as np

KEEP_MB = 128.0   # free buffers a pool keeps at most, in MiB (more go back to the allocator)


class _Slot(np.ndarray):
    """A pool buffer's memory (never handed out itself: see the module docstring)."""


class FramePool:
    """Buffers of one shape and dtype, handed out as numpy arrays and recycled.

    Thread-safe: :meth:`take` may be called from any thread, and a frame may be dropped on any
    thread.

    Args:
        shape: every buffer's shape, e.g. ``(H, W, 3)``.
        dtype: every buffer's dtype.
        keep: free buffers kept at most; :data:`KEEP_MB` worth (at least 2) when None.
        allocate: ``nbytes -> (buffer, key)``: a writable buffer-protocol object of at least
            ``nbytes`` bytes and a key naming it (see :meth:`key`); process memory when None.
        release: called with a key when its buffer leaves the pool for good (beyond ``keep``,
            or at :meth:`close`).
    """

    def __init__(self, shape: tuple[int, ...], dtype: Any = np.uint8, keep: int | None = None,
                 allocate: Callable[[int], tuple[Any, Any]] | None = None,
                 release: Callable[[Any], None] | None = None):
        self.shape, self.dtype = tuple(int(s) for s in shape), np.dtype(dtype)
        self.nbytes = int(np.prod(self.shape)) * self.dtype.itemsize
        self.keep = int(keep) if keep is not None else max(2, int(KEEP_MB * 2 ** 20 // max(1, self.nbytes)))
        self._allocate, self._release = allocate, release
        self._free: list[_Slot] = []
        self._keys: dict[int, Any] = {}   # id(slot) -> key, for slots with a key
        # Re-entrant: a frame dropped by the garbage collector runs _give_back on whatever thread
        # the collection ran, possibly one inside this pool's own locked code.
        self._lock = threading.RLock()
        self._closed = False
        self.made = 0   # buffers allocated so far

    def take(self) -> np.ndarray:
        """A frame to write: (shape) of dtype, contents undefined. Its memory returns to the
        pool when it and all its views are garbage."""
        with self._lock:
            slot = self._free.pop() if self._free else None
        if slot is None:
            slot = self._new_slot()
        frame = slot.view(np.ndarray)
        weakref.finalize(frame, self._give_back, slot).atexit = False
        return frame

    def key(self, frame: np.ndarray) -> Any:
        """The key of the buffer behind a frame from :meth:`take` (what ``allocate`` named it);
        None for process memory.

        Raises:
            KeyError: ``frame`` did not come from this pool.
        """
        slot = frame.base
        if not isinstance(slot, _Slot) or frame.shape != self.shape:
            raise KeyError("not a frame of this pool")
        return self._keys.get(id(slot))

    def _new_slot(self) -> _Slot:
        if self._allocate is None:
            slot = np.ndarray.__new__(_Slot, self.shape, self.dtype)
        else:
            buffer, key = self._allocate(self.nbytes)
            slot = np.ndarray.__new__(_Slot, self.shape, self.dtype, buffer=buffer)
            with self._lock:
                self._keys[id(slot)] = key
        self.made += 1
        return slot

    def _give_back(self, slot: _Slot) -> None:
        with self._lock:
            if not self._closed and len(self._free) < self.keep:
                self._free.append(slot)
                return
            key = self._keys.pop(id(slot), None)
        if key is not None and self._release is not None:
            self._release(key)

    @property
    def free(self) -> int:
        """Buffers waiting in the pool."""
        return len(self._free)

    def close(self) -> None:
        """Release the free buffers; frames still held are released when they are dropped."""
        with self._lock:
            self._closed = True
            free, self._free = self._free, []
            keys = [self._keys.pop(id(s), None) for s in free]
        if self._release is not None:
            for key in keys:
                if key is not None:
                    self._release(key)
