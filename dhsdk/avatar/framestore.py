"""The avatar's base frames on disk: one file of JPEG images, read back through a bounded cache.

Raw RGB is too big to keep (60 s of 1080p is 9 GB), and an mp4 cannot be read backwards for
a ping-pong idle loop. So every frame is a JPEG (quality 93, 4:2:0 chroma like the H.264 output, ~0.3 MB at 1080p),
concatenated into ``frames.jpg``; ``offsets`` ((N + 1,) int64) says where each starts. Reads
decode on demand (~8 ms at 1080x1920, ~3 ms at 720x1280) into an LRU cache bounded in bytes,
so the frames of the idle loop, which is all a live stream reads, stay decoded after their
first use (or after :meth:`FrameStore.preload`).
"""
from __future__ import annotations

import atexit
import os
import threading
import weakref
from collections import OrderedDict
from pathlib import Path
from typing import Iterable

import numpy as np

from dhsdk.errors import BundleError

JPEG_QUALITY = 93
DEFAULT_CACHE_MB = 1536
_PRELOADING: "weakref.WeakSet[FrameStore]" = weakref.WeakSet()


@atexit.register
def _stop_preloads() -> None:
    """Let running preloads finish their current frame and join them before the interpreter
    tears down: a thread still inside the JPEG decoder at exit aborts the process."""
    for store in list(_PRELOADING):
        store.stop_preload()


class FrameStoreWriter:
    """Appends RGB frames to a frame file.

    Args:
        path: the ``frames.jpg`` file to create.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._file = open(self.path, "wb")
        self._offsets = [0]
        self.shape: tuple[int, int] | None = None

    def add(self, frame: np.ndarray) -> None:
        """Append one (H, W, 3) uint8 RGB frame; every frame must have the first one's size."""
        import cv2

        frame = np.asarray(frame)
        if self.shape is None:
            self.shape = frame.shape[:2]
        elif frame.shape[:2] != self.shape:
            raise ValueError(f"frame {len(self._offsets) - 1} is {frame.shape[:2]}, the first was {self.shape}")
        ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(frame[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        if not ok:
            raise OSError(f"JPEG encoding of frame {len(self._offsets) - 1} failed")
        self._file.write(buf.tobytes())
        self._offsets.append(self._offsets[-1] + len(buf))

    def close(self) -> np.ndarray:
        """Flush and close; returns the (N + 1,) int64 offsets."""
        self._file.close()
        return np.asarray(self._offsets, np.int64)


class FrameStore:
    """Random access to the frames of a frame file.

    Args:
        path: the ``frames.jpg`` file.
        offsets: (N + 1,) int64 byte offsets of the frames.
        shape: (H, W) every frame has.
        cache_mb: bound on decoded frames kept in memory (MiB).
    """

    def __init__(self, path: str | os.PathLike, offsets: np.ndarray, shape: tuple[int, int],
                 cache_mb: float = DEFAULT_CACHE_MB):
        self.path = Path(path)
        self.offsets = np.asarray(offsets, np.int64)
        self.shape = (int(shape[0]), int(shape[1]))
        if not self.path.is_file():
            raise BundleError(f"{self.path} is missing: the avatar bundle is incomplete; create it again")
        size = self.path.stat().st_size
        if len(self.offsets) < 2 or self.offsets[0] != 0 or self.offsets[-1] != size or np.any(np.diff(self.offsets) <= 0):
            raise BundleError(f"{self.path} does not match its frame index ({size} bytes, index ends at "
                              f"{int(self.offsets[-1]) if len(self.offsets) else 0}): the bundle is damaged; create it again")
        frame_bytes = self.shape[0] * self.shape[1] * 3
        self.capacity = max(1, int(cache_mb * 2 ** 20 // frame_bytes))
        self._map = np.memmap(self.path, np.uint8, mode="r")
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self._preloader: threading.Thread | None = None
        self._stop_preload = threading.Event()

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def _decode(self, index: int) -> np.ndarray:
        import cv2

        buf = self._map[self.offsets[index]:self.offsets[index + 1]]
        bgr = cv2.imdecode(np.asarray(buf), cv2.IMREAD_COLOR)
        if bgr is None or bgr.shape[:2] != self.shape:
            raise BundleError(f"frame {index} of {self.path} cannot be decoded: the bundle is damaged; create it again")
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        rgb.flags.writeable = False
        return rgb

    def __getitem__(self, index: int) -> np.ndarray:
        """(H, W, 3) uint8 RGB frame ``index``, read-only (copy it to draw on it)."""
        index = int(index)
        if not 0 <= index < len(self):
            raise IndexError(f"frame {index} out of range (the avatar has {len(self)} frames)")
        with self._lock:
            hit = self._cache.get(index)
            if hit is not None:
                self._cache.move_to_end(index)
                return hit
        frame = self._decode(index)
        with self._lock:
            self._cache[index] = frame
            while len(self._cache) > self.capacity:
                self._cache.popitem(last=False)
        return frame

    def preload(self, indices: Iterable[int], wait: bool = False) -> None:
        """Decode ``indices`` into the cache (as many as fit) in one daemon thread per store.

        Args:
            indices: frames to decode, in order.
            wait: return only once they are decoded (joins a preload already running).
        """
        wanted = [int(i) for i in indices][: self.capacity]
        with self._lock:
            thread = self._preloader
            if thread is None or not thread.is_alive():
                missing = [i for i in wanted if i not in self._cache]
                thread = threading.Thread(target=self._decode_all, args=(missing,), name="dhsdk-preload",
                                          daemon=True)
                self._stop_preload.clear()
                thread.start()
                self._preloader = thread
                _PRELOADING.add(self)
        if wait:
            thread.join()

    def _decode_all(self, indices: list[int]) -> None:
        for i in indices:
            if self._stop_preload.is_set():
                return
            self[i]

    def stop_preload(self) -> None:
        """Stop a running preload after its current frame and wait for it."""
        self._stop_preload.set()
        thread = self._preloader
        if thread is not None and thread is not threading.current_thread():
            thread.join()
