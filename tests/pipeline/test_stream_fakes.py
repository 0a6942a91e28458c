"""Fast stand-ins for a LipSync (avatar, a2k stream, renderer) used by the stream and scheduler
tests: the a2k delta of frame k is the RMS of frame k's audio, emitted only once its look-ahead
has been pushed, and the "image" records (delta, weight) so tests can check lips against sound."""
from __future__ import annotations

import time

import numpy as np

FPS = 25.0
SR = 16000


class FakeAvatar:
    fps = FPS
    num_frames = 10

    def idle_index(self, k: int) -> int:
        return k % self.num_frames


class FakeA2KStream:
    """Causal: frame k's delta comes out after ``lag`` more frames of audio were pushed."""

    def __init__(self, fps: float, lag: int):
        self.edges = lambda k: int(round(k * SR / fps))
        self.lag = lag
        self.buf = np.zeros(0, np.float32)
        self.done = 0       # frames whose audio is complete
        self.emitted = 0
        self.rms: list[float] = []

    def push(self, pcm: np.ndarray) -> np.ndarray:
        self.buf = np.concatenate([self.buf, pcm])
        consumed = self.edges(self.done)
        while self.edges(self.done + 1) - consumed <= len(self.buf):
            a, b = self.edges(self.done) - consumed, self.edges(self.done + 1) - consumed
            self.rms.append(float(np.sqrt(np.mean(self.buf[a:b] ** 2))))
            self.done += 1
        self.buf = self.buf[self.edges(self.done) - consumed:]
        out = []
        while self.emitted + self.lag < self.done:
            out.append(np.full((40, 2), self.rms[self.emitted], np.float32))
            self.emitted += 1
        return np.asarray(out, np.float32).reshape(-1, 40, 2)


class FakeA2K:
    def __init__(self, lookahead_s: float = 0.08):
        self.lookahead_s = lookahead_s

    def stream(self, fps: float) -> FakeA2KStream:
        return FakeA2KStream(fps, int(np.ceil(self.lookahead_s * fps)))


class FakeLipSync:
    """Renders a (1, 1, 2) float "image" = [delta value, weight]; ``delay`` s per frame."""

    def __init__(self, lookahead_s: float = 0.08, delay: float = 0.0):
        self.avatar = FakeAvatar()
        self.a2k = FakeA2K(lookahead_s)
        self.delay = delay

    def lips(self, base: int, delta: np.ndarray, weight: float):
        return None if weight <= 0 else (float(delta[0, 0]), weight)

    def frame(self, base: int, lips) -> np.ndarray:
        if self.delay:
            time.sleep(self.delay)
        return np.array([[[-1.0, 0.0] if lips is None else list(lips)]], np.float32)


def tone(seconds: float, amp: float = 0.5, hz: float = 220.0) -> np.ndarray:
    t = np.arange(int(round(seconds * SR))) / SR
    return (amp * np.sin(2 * np.pi * hz * t)).astype(np.float32)
