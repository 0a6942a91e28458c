"""Writer side of the shared-memory frame ring that the OBS plugin reads.

The layout and the seqlock protocol are specified once, in ``obs-plugin/include/dhsdk-ring.h``
(the C readers include it); the constants here mirror it and ``tests/sinks/test_obs_ring.py``
checks them against a C reader process. The writer never waits: it overwrites the oldest slot
whether or not anyone reads. Stores to the slot's sequence number, its payload and the frame
count are ordered by the CPU's store ordering (x86-64 TSO), which the protocol relies on.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from multiprocessing import resource_tracker, shared_memory

import numpy as np

from dhsdk.errors import InputError

MAGIC = 0x474E524B44534844  # "DHSDKRNG" little-endian
VERSION = 1
HEADER_SIZE = 128
SLOT_HEADER = 64
STATE_OPEN, STATE_CLOSED = 1, 2
FLAG_SPEAKING = 1
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def shm_name(name: str) -> str:
    """The POSIX shared-memory object of ring ``name`` (``/dev/shm/dhsdk-obs-<name>`` on Linux)."""
    return f"dhsdk-obs-{name}"


def slot_size(max_width: int, max_height: int, max_samples: int) -> int:
    """Bytes per slot: slot header + BGRA pixels + float32 audio, rounded up to 64."""
    raw = SLOT_HEADER + 4 * max_width * max_height + 4 * max_samples
    return (raw + 63) // 64 * 64


@dataclass
class _Slot:
    """numpy views of one slot (see the header file for offsets)."""

    u64: np.ndarray      # seq, index, pts_ns (as uint64)
    u32: np.ndarray      # [6..11] = width, height, stride, samples, sample_rate, flags
    pixels: np.ndarray   # (max_height, max_width, 4) uint8 BGRA
    audio: np.ndarray    # (max_samples,) float32


class FrameRing:
    """A ring of ``slots`` frames in POSIX shared memory, created here and unlinked by :meth:`close`.

    Args:
        name: ring name (letters, digits, ``_.-``); readers open ``/dhsdk-obs-<name>``.
        max_width, max_height: pixel capacity of a slot.
        max_samples: mono audio samples a slot holds (4096: a 25 fps frame at up to 96 kHz).
        slots: frames kept (>= 2); more slots tolerate a reader that stalls longer.

    Raises:
        InputError: a bad name, or a live writer already owns the ring.
    """

    def __init__(self, name: str, max_width: int, max_height: int, max_samples: int = 4096, slots: int = 4):
        if not _NAME.match(name):
            raise InputError(f"ring name {name!r} must be 1-64 letters, digits, '_', '.' or '-' (e.g. 'studio-a')")
        if slots < 2:
            raise InputError(f"a ring needs at least 2 slots, got {slots}")
        self.name, self.slots = name, int(slots)
        self.max_width, self.max_height, self.max_samples = int(max_width), int(max_height), int(max_samples)
        self.slot_size = slot_size(self.max_width, self.max_height, self.max_samples)
        self._shm = _create(shm_name(name), HEADER_SIZE + self.slots * self.slot_size)
        buf = self._shm.buf
        self._h64 = np.ndarray((16,), np.uint64, buf, 0)
        self._h32 = np.ndarray((32,), np.uint32, buf, 0)
        self._h32[2:11] = (VERSION, HEADER_SIZE, self.slots, self.slot_size, self.max_width, self.max_height,
                           self.max_samples, os.getpid(), STATE_OPEN)
        self._h64[6] = 0
        self._slot = []
        for k in range(self.slots):
            off = HEADER_SIZE + k * self.slot_size
            pix = off + SLOT_HEADER
            self._slot.append(_Slot(np.ndarray((8,), np.uint64, buf, off), np.ndarray((16,), np.uint32, buf, off),
                                    np.ndarray((self.max_height, self.max_width, 4), np.uint8, buf, pix),
                                    np.ndarray((self.max_samples,), np.float32, buf,
                                               pix + 4 * self.max_width * self.max_height)))
        self._h64[0] = MAGIC  # last: a reader that maps a half-initialised ring sees no magic
        self.count = 0        # frames written

    def write(self, image: np.ndarray, audio: np.ndarray, sample_rate: int, index: int, pts_ns: int,
              speaking: bool) -> None:
        """Publish one frame; overwrites the oldest slot, never waits.

        Args:
            image: (h, w, 3) uint8 RGB with h <= max_height, w <= max_width.
            audio: (n,) float32 mono, n <= max_samples.
            sample_rate: Hz of ``audio``.
            index: the frame's index in its stream.
            pts_ns: presentation time in ns.
            speaking: the frame's mouth is driven by speech.

        Raises:
            InputError: the frame does not fit a slot.
        """
        import cv2

        h, w = image.shape[:2]
        if w > self.max_width or h > self.max_height or len(audio) > self.max_samples:
            raise InputError(f"frame {index} ({w}x{h}, {len(audio)} samples) does not fit the ring "
                             f"({self.max_width}x{self.max_height}, {self.max_samples} samples): "
                             f"create the sink with a larger max_size/max_samples")
        n = self.count
        s = self._slot[n % self.slots]
        s.u64[0] = 2 * n + 1                       # odd: being written
        if (w, h) == (self.max_width, self.max_height):
            cv2.cvtColor(image, cv2.COLOR_RGB2BGRA, dst=s.pixels)
        else:
            s.pixels[:h, :w] = cv2.cvtColor(image, cv2.COLOR_RGB2BGRA)
        s.audio[:len(audio)] = audio
        s.u64[1] = index
        s.u64[2] = np.int64(pts_ns).view(np.uint64)
        s.u32[6:12] = (w, h, 4 * self.max_width, len(audio), sample_rate, FLAG_SPEAKING if speaking else 0)
        s.u64[0] = 2 * n + 2                       # even: frame n complete
        self.count = n + 1
        self._h64[6] = self.count

    def close(self) -> None:
        """Mark the ring closed for readers, unlink it and unmap it (idempotent)."""
        if self._shm is None:
            return
        self._h32[10] = STATE_CLOSED
        del self._h64, self._h32, self._slot   # views must go before the mapping can close
        shm, self._shm = self._shm, None
        shm.close()
        try:
            shm.unlink()
        except FileNotFoundError:  # already removed (by hand, or by a writer that took the name over)
            pass


def _create(name: str, size: int) -> shared_memory.SharedMemory:
    """Create the shared-memory object ``name``, replacing a stale one left by a dead or closed writer."""
    try:
        return shared_memory.SharedMemory(name=name, create=True, size=size)
    except FileExistsError:
        pass
    old = shared_memory.SharedMemory(name=name)
    resource_tracker.unregister(old._name, "shared_memory")  # only inspected: not ours to clean up
    try:
        head = np.ndarray((32,), np.uint32, old.buf, 0).copy() if old.size >= HEADER_SIZE else None
    finally:
        old.close()
    if head is not None and head[10] == STATE_OPEN and _alive(int(head[9])):
        raise InputError(f"ring {name!r} is in use by process {int(head[9])}: close that sink or choose "
                         f"another name")
    old = shared_memory.SharedMemory(name=name)   # registered with the tracker, unregistered by unlink()
    old.close()
    old.unlink()
    return shared_memory.SharedMemory(name=name, create=True, size=size)


def _alive(pid: int) -> bool:
    """True when process ``pid`` exists (this one included: it may hold the ring in another sink)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
