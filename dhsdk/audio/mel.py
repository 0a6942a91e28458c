"""Log-mel features: 80 bins, 100 frames/s, 25 ms Hann window, batch and streaming.

Frame ``i`` is centred at ``(i + 0.5) * 10 ms`` and covers samples ``[160 i - 120, 160 i + 280)``
(zeros before the start). A signal of ``n`` samples has ``ceil(n / 160)`` frames; the batch
version zero-pads the end. The streaming :class:`LogMel` emits a frame as soon as its last sample
arrives, so its output does not depend on how the audio is chunked; :meth:`LogMel.flush`
zero-pads the tail exactly like the batch version.
"""
from __future__ import annotations

import functools

import numpy as np

SR = 16000
HOP = 160
WIN = 400
N_FFT = 512
N_MELS = 80
LEFT = (WIN - HOP) // 2 + 0  # 120 samples of left context before frame 0's hop
FLOOR = 1e-10


@functools.lru_cache(maxsize=1)
def _tables() -> tuple[np.ndarray, np.ndarray]:
    """(WIN,) Hann window and (N_FFT//2+1, N_MELS) HTK mel filterbank, float32."""
    window = np.hanning(WIN + 1)[:WIN].astype(np.float32)
    return window, _filterbank(1.0)


def _filterbank(warp: float) -> np.ndarray:
    """(N_FFT//2+1, N_MELS) float32 HTK mel filterbank, 20-7600 Hz, with its band edges scaled by
    the vocal-tract-length factor ``warp`` (piecewise linear above 4.8 kHz so 8 kHz stays 8 kHz)."""
    mel = lambda f: 2595.0 * np.log10(1.0 + f / 700.0)  # noqa: E731
    inv = lambda m: 700.0 * (10 ** (m / 2595.0) - 1.0)  # noqa: E731
    edges = inv(np.linspace(mel(20.0), mel(7600.0), N_MELS + 2))
    if warp != 1.0:
        nyq = SR / 2
        knee = 4800.0 * min(warp, 1.0) / warp
        edges = np.where(edges <= knee, edges * warp,
                         nyq - (nyq - knee * warp) / (nyq - knee) * (nyq - edges))
    freqs = np.arange(N_FFT // 2 + 1) * SR / N_FFT
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    fb = np.maximum(0.0, np.minimum((freqs - lo) / (mid - lo), (hi - freqs) / (hi - mid)))
    return np.ascontiguousarray(fb.T, dtype=np.float32)


def silence_value() -> float:
    """The log-mel value of an all-zero frame (every bin)."""
    return float(np.log(FLOOR))


def _frames_to_mel(frames: np.ndarray, warp: float = 1.0) -> np.ndarray:
    """(F, WIN) sample frames -> (F, N_MELS) float32 log-mel (``warp``: see :func:`log_mel`)."""
    window, fb = _tables()
    if warp != 1.0:
        fb = _filterbank(warp)
    spec = np.fft.rfft(frames * window, n=N_FFT, axis=1)
    power = (spec.real ** 2 + spec.imag ** 2).astype(np.float32)
    return np.log(np.maximum(power @ fb, FLOOR)).astype(np.float32)


def _framed(padded: np.ndarray, count: int) -> np.ndarray:
    return np.lib.stride_tricks.sliding_window_view(padded, WIN)[::HOP][:count]


def log_mel(pcm: np.ndarray, warp: float = 1.0) -> np.ndarray:
    """Batch log-mel of a whole signal.

    Args:
        pcm: (n,) float32 16 kHz mono.
        warp: vocal-tract-length factor for training augmentation (VTLP: the filterbank's bands
            scaled by ``warp``, so formants move as in a longer or shorter vocal tract); the
            run-time features are always 1.

    Returns:
        (ceil(n / 160), 80) float32 natural-log mel power.
    """
    pcm = np.asarray(pcm, dtype=np.float32)
    count = -(-len(pcm) // HOP)
    if count == 0:
        return np.zeros((0, N_MELS), np.float32)
    padded = np.zeros(LEFT + count * HOP + WIN, np.float32)
    padded[LEFT:LEFT + len(pcm)] = pcm
    return _frames_to_mel(_framed(padded, count), warp)


class LogMel:
    """Streaming log-mel extractor; concatenated outputs equal :func:`log_mel` of the whole signal."""

    def __init__(self) -> None:
        self._buf = np.zeros(LEFT, np.float32)  # samples from frame `_next`'s first sample on
        self._next = 0
        self._seen = 0

    def push(self, pcm: np.ndarray) -> np.ndarray:
        """Add samples; return the (k, 80) frames whose whole window has now arrived."""
        pcm = np.asarray(pcm, dtype=np.float32).reshape(-1)
        self._seen += len(pcm)
        self._buf = np.concatenate([self._buf, pcm])
        count = (len(self._buf) - WIN) // HOP + 1 if len(self._buf) >= WIN else 0
        return self._emit(count)

    def flush(self) -> np.ndarray:
        """Zero-pad the tail and return the remaining frames; the extractor is then reset."""
        total = -(-self._seen // HOP)
        count = total - self._next
        if count > 0:
            self._buf = np.concatenate([self._buf, np.zeros(count * HOP + WIN, np.float32)])
        out = self._emit(max(count, 0))
        self.__init__()
        return out

    def _emit(self, count: int) -> np.ndarray:
        if count <= 0:
            return np.zeros((0, N_MELS), np.float32)
        out = _frames_to_mel(_framed(self._buf, count))
        self._buf = self._buf[count * HOP:]
        self._next += count
        return out
