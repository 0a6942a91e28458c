"""Fast stand-ins for a LipSync (avatar, a2k stream, render state, frame path) used by the stream
and scheduler tests: the a2k delta of frame k is the RMS of frame k's audio, emitted only once its
look-ahead has been pushed, and the "image" records (delta, weight) so tests can check lips
against sound."""
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
    """Causal: frame k's window (its RMS) comes out after ``lag`` more frames of audio were pushed."""

    def __init__(self, fps: float, lag: int):
        self.edges = lambda k: int(round(k * SR / fps))
        self.lag = lag
        self.buf = np.zeros(0, np.float32)
        self.done = 0       # frames whose audio is complete
        self.emitted = 0
        self.rms: list[float] = []

    def windows(self, pcm: np.ndarray) -> np.ndarray:
        self.buf = np.concatenate([self.buf, pcm])
        consumed = self.edges(self.done)
        while self.edges(self.done + 1) - consumed <= len(self.buf):
            a, b = self.edges(self.done) - consumed, self.edges(self.done + 1) - consumed
            self.rms.append(float(np.sqrt(np.mean(self.buf[a:b] ** 2))))
            self.done += 1
        self.buf = self.buf[self.edges(self.done) - consumed:]
        out = []
        while self.emitted + self.lag < self.done:
            out.append(self.rms[self.emitted])
            self.emitted += 1
        return np.asarray(out, np.float32).reshape(-1, 1)


class FakeA2K:
    def __init__(self, lookahead_s: float = 0.08):
        self.lookahead_s = lookahead_s
        self.batches: list[int] = []

    def stream(self, fps: float) -> FakeA2KStream:
        return FakeA2KStream(fps, int(np.ceil(self.lookahead_s * fps)))

    def infer(self, windows: np.ndarray) -> np.ndarray:
        """(m, 1) RMS windows -> (m, 40, 2) deltas filled with the RMS."""
        self.batches.append(len(windows))
        return np.repeat(np.asarray(windows, np.float32)[:, :, None], 80, 1).reshape(-1, 40, 2)


class FakeMouthState:
    """Lips that carry (delta, weight) in their first point."""

    def __call__(self, k: int, delta: np.ndarray, weight: float) -> np.ndarray:
        lips = np.zeros((40, 2), np.float32)
        lips[0] = (float(delta[0, 0]) if weight > 0 else -1.0, weight)
        return lips


class FakePath:
    """Renders a (1, 1, 2) float "image" = [delta value (-1 at rest), weight]; ``delay`` s per call."""

    device = "cpu"

    def __init__(self, delay: float = 0.0):
        self.delay = delay
        self.batches: list[int] = []

    def render(self, bases, lips) -> list[np.ndarray]:
        self.batches.append(len(bases))
        if self.delay:
            time.sleep(self.delay)
        return [np.array([[lp[0]]], np.float32) for lp in lips]

    def render_frames(self, bases, lips) -> list[np.ndarray]:
        return self.render(bases, lips)


class FakeLipSync:
    """avatar, a2k, mouth_state and path of a LipSync; ``delay`` s per frame-path call."""

    def __init__(self, lookahead_s: float = 0.08, delay: float = 0.0):
        self.avatar = FakeAvatar()
        self.a2k = FakeA2K(lookahead_s)
        self.path = FakePath(delay)

    def mouth_state(self, fps: float, seed: int = 0) -> FakeMouthState:
        return FakeMouthState()


def tone(seconds: float, amp: float = 0.5, hz: float = 220.0) -> np.ndarray:
    t = np.arange(int(round(seconds * SR))) / SR
    return (amp * np.sin(2 * np.pi * hz * t)).astype(np.float32)
