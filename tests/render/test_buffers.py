"""FramePool: a frame's memory comes back only when no view of it is left (slices of slices,
reshapes, a frame held by another thread), never while anything can still read it; the free list
is bounded; buffers from an allocator carry their key and are released beyond the bound."""
from __future__ import annotations

import gc
import threading

import numpy as np
import pytest

from dhsdk.render.buffers import FramePool


def test_views_of_views_keep_a_frame_out_of_the_pool():
    pool = FramePool((6, 4, 3))
    frame = pool.take()
    frame[...] = 7
    views = [frame[1:][..., :2], frame.reshape(-1)[3:], frame.view(np.ndarray)[::2], np.asarray(frame).T]
    del frame
    gc.collect()
    assert pool.free == 0                      # views alive: the buffer is still in use
    others = [pool.take() for _ in range(3)]
    for o in others:
        o[...] = 0
    assert all((v == 7).all() for v in views)  # nothing handed out again over it
    del views
    gc.collect()
    assert pool.free == 1 and pool.made == 4


def test_a_buffer_comes_back_and_is_reused():
    pool = FramePool((2, 2, 3), keep=2)
    frames = [pool.take() for _ in range(4)]
    addresses = {f.ctypes.data for f in frames}
    del frames
    gc.collect()
    assert pool.free == 2                      # bounded: two kept, two let go
    again = [pool.take() for _ in range(2)]
    assert {f.ctypes.data for f in again} <= addresses and pool.made == 4


def test_frames_dropped_on_other_threads():
    pool = FramePool((8, 8, 3))
    frames = [pool.take() for _ in range(32)]

    def drop(part):
        part.clear()

    parts = [frames[i::4] for i in range(4)]
    del frames
    threads = [threading.Thread(target=drop, args=(p,)) for p in parts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    gc.collect()
    assert pool.free == 32


def test_allocated_buffers_carry_their_key_and_are_released():
    made, released = {}, []

    def allocate(nbytes):
        made[len(made)] = bytearray(nbytes)
        return made[len(made) - 1], len(made) - 1

    pool = FramePool((4, 4, 3), keep=1, allocate=allocate, release=released.append)
    a, b = pool.take(), pool.take()
    assert (pool.key(a), pool.key(b)) == (0, 1)
    a[...] = 3
    assert bytes(made[0]) == bytes([3]) * 48   # the frame is the allocator's memory
    with pytest.raises(KeyError):
        pool.key(np.zeros((4, 4, 3), np.uint8))
    del a, b
    gc.collect()
    assert pool.free == 1 and len(released) == 1
    pool.close()
    assert sorted(released) == [0, 1]
