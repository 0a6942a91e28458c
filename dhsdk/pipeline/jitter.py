"""Jitter buffer: audio pushed in chunks of any size from any thread, read one frame at a time.

Reads always return exactly the samples asked for (silence pads an underrun), so the stream's
sample clock never stalls. The buffer is bounded: pushing more than ``max_s`` seconds ahead of
playback raises :class:`dhsdk.errors.InputError` instead of growing without limit.
"""
from __future__ import annotations

import threading
import time
from collections import deque

import numpy as np

from dhsdk.errors import InputError


class JitterBuffer:
    """Thread-safe FIFO of float32 PCM with a prebuffer and a size bound.

    Args:
        sample_rate: Hz of the PCM pushed and read.
        prebuffer: samples that must be queued before speech starts playing after silence
            (absorbs arrival jitter; a Stream uses one frame, the a2k look-ahead comes on top
            from its committed timeline running ahead of playback).
        max_s: bound on queued audio in seconds.
    """

    def __init__(self, sample_rate: int, prebuffer: int, max_s: float):
        self.sample_rate = int(sample_rate)
        self.prebuffer = int(prebuffer)
        self.max_samples = int(round(max_s * sample_rate))
        self._lock = threading.Lock()
        self._chunks: deque[tuple[np.ndarray, float]] = deque()  # (pcm, wall time pushed)
        self._depth = 0
        self._primed = False
        self._ended = False
        self.underruns = 0

    @property
    def depth(self) -> int:
        """Samples queued."""
        return self._depth

    def push(self, pcm: np.ndarray) -> None:
        """Queue (n,) float32 PCM; raises InputError when it would exceed the bound."""
        pcm = np.ascontiguousarray(pcm, np.float32).reshape(-1)
        with self._lock:
            if self._depth + len(pcm) > self.max_samples:
                raise InputError(
                    f"audio pushed faster than real time: {self._depth / self.sample_rate:.2f} s already "
                    f"buffered and this chunk adds {len(pcm) / self.sample_rate:.2f} s, over the bound of "
                    f"{self.max_samples / self.sample_rate:.2f} s; push audio at real time (or raise "
                    f"max_buffer_s)")
            if len(pcm):
                self._chunks.append((pcm, time.perf_counter()))
                self._depth += len(pcm)
                self._ended = False

    def end(self) -> None:
        """Mark the end of an utterance: draining the rest is not an underrun."""
        with self._lock:
            self._ended = True

    def clear(self) -> None:
        """Drop everything queued (barge-in)."""
        with self._lock:
            self._chunks.clear()
            self._depth = 0
            self._primed = False

    def skip_silence(self, n: int, above: int, level: float = 1e-3) -> bool:
        """Drift correction: drop the next n queued samples if they are silent (peak < level)
        and more than ``above`` samples are queued. Returns True when it dropped them."""
        with self._lock:
            if self._depth - n <= above or not self._chunks:
                return False
            head, got = [], 0
            for pcm, _ in self._chunks:
                head.append(pcm[:n - got])
                got += len(head[-1])
                if got >= n:
                    break
            if np.abs(np.concatenate(head)).max() >= level:
                return False
        self.read(n)
        return True

    def read(self, n: int) -> tuple[np.ndarray, float | None]:
        """Exactly n samples, silence-padded.

        Returns:
            ((n,) float32 PCM, wall time the earliest real sample was pushed or None if all silence).
        """
        out = np.zeros(n, np.float32)
        with self._lock:
            if not self._primed:
                if self._depth < min(self.prebuffer, self.max_samples) and not self._ended:
                    return out, None
                self._primed = self._depth > 0
            got, first = 0, None
            while got < n and self._chunks:
                pcm, t = self._chunks[0]
                first = t if first is None else first
                take = min(n - got, len(pcm))
                out[got:got + take] = pcm[:take]
                got += take
                if take == len(pcm):
                    self._chunks.popleft()
                else:
                    self._chunks[0] = (pcm[take:], t)
            self._depth -= got
            if got < n and self._primed:
                if not self._ended:
                    self.underruns += 1
                self._primed = False
            return out, first
