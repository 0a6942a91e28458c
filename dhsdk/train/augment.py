"""Speech augmentation for a2k training: make one recording sound like many rooms, microphones,
codecs and voices, so a model trained on few real speakers hears the speech, not the speaker.

:func:`augment` applies a random chain to 16 kHz PCM: speed (tempo, pitch and formants together),
gain, an equaliser curve, band limits, background noise, reverberation and a lossy codec;
:func:`random_warp` draws the vocal-tract-length factor that :func:`dhsdk.audio.log_mel` applies
to the filterbank (formants without tempo). Every draw comes from the caller's generator, so a
seed reproduces a copy exactly. :class:`Augmented` reports what was applied (the speed factor
rescales the targets' time axis).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dhsdk.audio.load import SAMPLE_RATE, resample

CODECS = ("aac", "libopus", "libmp3lame", "amr_nb", "pcm_mulaw")   # what PyAV's FFmpeg encodes here
_CODEC_RATE = {"amr_nb": 8000, "pcm_mulaw": 8000}
_CODEC_CONTAINER = {"aac": "adts", "libopus": "ogg", "libmp3lame": "mp3", "amr_nb": "amr", "pcm_mulaw": "wav"}
_CODEC_BITRATE = {"aac": (24_000, 64_000), "libopus": (12_000, 32_000), "libmp3lame": (32_000, 64_000),
                  "amr_nb": (12_200, 12_200), "pcm_mulaw": (64_000, 64_000)}


@dataclass
class Augmented:
    """One augmented copy.

    Attributes:
        pcm: (n', ) float32 16 kHz.
        speed: playback speed factor: a moment at ``t`` s in the source is at ``t / speed`` here.
        warp: vocal-tract-length factor for :func:`dhsdk.audio.log_mel` (1 = unchanged).
    """

    pcm: np.ndarray
    speed: float
    warp: float


def random_warp(rng: np.random.Generator, spread: float = 0.18) -> float:
    """A vocal-tract-length factor, log-uniform in [1 / (1 + spread), 1 + spread]."""
    return float(np.exp(rng.uniform(-np.log1p(spread), np.log1p(spread))))


def _spectral(pcm: np.ndarray, gain_of_hz) -> np.ndarray:
    spec = np.fft.rfft(pcm)
    hz = np.fft.rfftfreq(len(pcm), 1.0 / SAMPLE_RATE)
    return np.fft.irfft(spec * gain_of_hz(hz), n=len(pcm)).astype(np.float32)


def equalise(pcm: np.ndarray, rng: np.random.Generator, max_db: float = 10.0) -> np.ndarray:
    """A random smooth equaliser curve (±``max_db`` over 6 log-spaced knots) plus band limits
    (high-pass 50–300 Hz, low-pass 3.4–8 kHz: phones, laptops, lapel mics)."""
    knots = np.geomspace(60.0, 7600.0, 6)
    db = rng.uniform(-max_db, max_db, len(knots))
    hp, lp = rng.uniform(50.0, 300.0), rng.uniform(3400.0, 8000.0)

    def curve(hz):
        g = np.interp(np.log(np.maximum(hz, 1.0)), np.log(knots), db)
        amp = 10 ** (g / 20)
        amp = amp / (1.0 + (hp / np.maximum(hz, 1.0)) ** 4) / (1.0 + (hz / lp) ** 8)
        return amp

    return _spectral(pcm, curve)


def noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """(n,) unit-RMS noise with a random spectral slope (white to brown)."""
    slope = rng.uniform(0.0, 2.0)
    white = rng.standard_normal(n).astype(np.float32)
    out = _spectral(white, lambda hz: 1.0 / np.maximum(hz, 20.0) ** (slope / 2))
    return out / max(float(np.sqrt(np.mean(out ** 2))), 1e-9)


def reverberate(pcm: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Convolve with a synthetic room: direct sound plus an exponentially decaying tail
    (RT60 0.15–0.9 s, direct-to-reverberant ratio 0–12 dB)."""
    rt60 = rng.uniform(0.15, 0.9)
    length = int(rt60 * SAMPLE_RATE)
    t = np.arange(length) / SAMPLE_RATE
    tail = rng.standard_normal(length) * np.exp(-6.9 * t / rt60)
    tail[: int(0.003 * SAMPLE_RATE)] = 0.0
    drr = 10 ** (rng.uniform(0.0, 12.0) / 20)
    tail *= 1.0 / (drr * max(float(np.sqrt(np.sum(tail ** 2))), 1e-9))
    rir = np.concatenate([[1.0], tail[1:]])
    n = len(pcm) + length
    return np.fft.irfft(np.fft.rfft(pcm, n) * np.fft.rfft(rir, n), n)[: len(pcm)].astype(np.float32)


def _align(decoded: np.ndarray, ref: np.ndarray, max_lag: int) -> np.ndarray:
    """``decoded`` shifted to line up with ``ref`` (codec priming delay found by cross-correlation)
    and cut or padded to ``ref``'s length."""
    n = len(ref) + max_lag
    spec = np.fft.rfft(np.pad(decoded, (0, max(0, n - len(decoded))))[:n], 2 * n)
    corr = np.fft.irfft(spec * np.conj(np.fft.rfft(ref, 2 * n)), 2 * n)[: max_lag + 1]
    lag = int(np.argmax(corr))
    out = decoded[lag:lag + len(ref)]
    return np.pad(out, (0, len(ref) - len(out))).astype(np.float32)


def codec(pcm: np.ndarray, name: str, bitrate: int) -> np.ndarray:
    """Encode and decode 16 kHz ``pcm`` with an FFmpeg audio codec (through PyAV, in memory);
    the same length back, re-aligned for the codec's delay."""
    import io

    from dhsdk._optional import require

    av = require("av")
    rate = _CODEC_RATE.get(name, SAMPLE_RATE)
    # resample() converts *to* 16 kHz: reading 16 kHz as 32 kHz halves the rate.
    src = resample(pcm, SAMPLE_RATE * SAMPLE_RATE // rate) if rate != SAMPLE_RATE else np.asarray(pcm, np.float32)
    buf = io.BytesIO()
    with av.open(buf, "w", format=_CODEC_CONTAINER[name]) as out:
        stream = out.add_stream(name, rate=rate, layout="mono")
        stream.bit_rate = bitrate
        frame = av.AudioFrame.from_ndarray((np.clip(src, -1, 1) * 32767).astype(np.int16)[None], format="s16",
                                           layout="mono")
        frame.sample_rate = rate
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            out.mux(packet)
    buf.seek(0)
    to_float = av.AudioResampler(format="flt", layout="mono", rate=rate)
    with av.open(buf) as inp:
        chunks = [g.to_ndarray().reshape(-1) for f in inp.decode(audio=0) for g in to_float.resample(f)]
    decoded = np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)
    decoded = resample(decoded, rate) if rate != SAMPLE_RATE else decoded
    return _align(decoded, np.asarray(pcm, np.float32), int(0.1 * SAMPLE_RATE))


def augment(pcm: np.ndarray, rng: np.random.Generator, speed: bool = True, strong: bool = True) -> Augmented:
    """One random augmented copy of 16 kHz speech.

    Args:
        pcm: (n,) float32 16 kHz mono.
        rng: the source of every random choice.
        speed: allow a speed change (0.9–1.1; the caller rescales its targets by ``speed``).
        strong: also reverb (p = 0.4), codec (p = 0.4) and heavier noise; False keeps the
            light chain (gain, equaliser, band limits, faint noise) for clean-ish copies.

    Returns:
        :class:`Augmented`.
    """
    out = np.asarray(pcm, np.float32)
    factor = float(rng.uniform(0.9, 1.1)) if speed else 1.0
    if factor != 1.0:
        out = resample(out, int(round(SAMPLE_RATE * factor)))  # read as faster audio: n / factor samples
    out = equalise(out, rng)
    if strong and rng.random() < 0.4:
        out = reverberate(out, rng)
    peak = float(np.sqrt(np.mean(out ** 2))) + 1e-9
    snr_db = rng.uniform(5.0, 40.0) if strong else rng.uniform(30.0, 60.0)
    out = out + noise(len(out), rng) * peak * 10 ** (-snr_db / 20)
    out = out * 10 ** (rng.uniform(-24.0, 6.0) / 20) / max(1.0, float(np.abs(out).max()) * 1.05)
    if strong and rng.random() < 0.4:
        name = CODECS[int(rng.integers(len(CODECS)))]
        lo, hi = _CODEC_BITRATE[name]
        out = codec(out, name, int(rng.uniform(lo, hi)))
    return Augmented(np.clip(out, -1.0, 1.0).astype(np.float32), factor, random_warp(rng) if strong else 1.0)
