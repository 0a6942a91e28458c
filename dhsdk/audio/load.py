"""Load speech from a file or an array into 16 kHz mono float32 PCM (PyAV decodes and resamples)."""
from __future__ import annotations

import contextlib
import os
from typing import Any, Iterator

import numpy as np

from dhsdk.errors import InputError

SAMPLE_RATE = 16000


def _check(pcm: np.ndarray, what: str, max_seconds: float) -> np.ndarray:
    if pcm.size == 0:
        raise InputError(f"{what} has no audio samples: give a file or array with speech in it")
    if not np.all(np.isfinite(pcm)):
        raise InputError(f"{what} contains NaN or infinite samples: clean the signal first")
    if pcm.size > max_seconds * SAMPLE_RATE:
        raise InputError(f"{what} is {pcm.size / SAMPLE_RATE:.0f} s long, more than the {max_seconds:.0f} s limit: "
                         "split it or stream it")
    return np.ascontiguousarray(pcm, dtype=np.float32)


def _to_float(a: np.ndarray, what: str) -> np.ndarray:
    a = np.asarray(a)
    if a.dtype.kind == "i":
        return a.astype(np.float32) / float(np.iinfo(a.dtype).max + 1)
    if a.dtype.kind == "u":
        info = np.iinfo(a.dtype)
        return (a.astype(np.float32) - (info.max + 1) / 2) / ((info.max + 1) / 2)
    if a.dtype.kind == "f":
        return a.astype(np.float32)
    raise InputError(f"{what} has dtype {a.dtype}: give int16/int32/float PCM")


def _mono(a: np.ndarray, what: str) -> np.ndarray:
    if a.ndim == 1:
        return a
    if a.ndim == 2:  # (n, channels) when channels is the short axis, else (channels, n)
        return a.mean(axis=1) if a.shape[1] <= a.shape[0] else a.mean(axis=0)
    raise InputError(f"{what} has shape {a.shape}: give (n,) or (n, channels) PCM")


def resample(pcm: np.ndarray, rate: int) -> np.ndarray:
    """Resample mono float32 PCM from ``rate`` Hz to 16 kHz with PyAV's (libswresample) resampler.

    Args:
        pcm: (n,) float32.
        rate: source sample rate in Hz.

    Returns:
        (m,) float32 at 16 kHz.
    """
    if rate == SAMPLE_RATE:
        return pcm.astype(np.float32, copy=False)
    import av

    frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(pcm, dtype=np.float32)[None], format="flt", layout="mono")
    frame.sample_rate = int(rate)
    rs = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
    parts = [f.to_ndarray().reshape(-1) for f in rs.resample(frame)]
    parts += [f.to_ndarray().reshape(-1) for f in rs.resample(None)]
    return np.concatenate(parts).astype(np.float32, copy=False) if parts else np.zeros(0, np.float32)


@contextlib.contextmanager
def _audio_stream(path: str) -> Iterator[tuple[Any, Any]]:
    """``(container, first audio stream)`` of a media file, opened with PyAV.

    Raises:
        InputError: no such file, no audio stream, or FFmpeg cannot read it.
    """
    import av

    if not os.path.isfile(path):
        raise InputError(f"audio file not found: {path}")
    try:
        with av.open(path) as container:
            if not container.streams.audio:
                raise InputError(f"{path} has no audio stream: give a file with speech in it")
            yield container, container.streams.audio[0]
    except InputError:
        raise
    except Exception as exc:  # PyAV raises many FFmpeg error types
        raise InputError(f"cannot decode audio from {path} ({exc}): give wav, mp3, m4a, ogg or flac") from exc


def audio_seconds(path: str | os.PathLike) -> float:
    """Duration of a file's audio in seconds, from its header (nothing is decoded).

    Raises:
        InputError: see :func:`_audio_stream`.
    """
    with _audio_stream(os.fspath(path)) as (container, stream):
        if stream.duration is not None and stream.time_base:
            return float(stream.duration * stream.time_base)
        return (container.duration or 0) / 1e6


def _decode(path: str) -> np.ndarray:
    import av

    with _audio_stream(path) as (container, stream):
        # Planar float at the source layout, then a plain channel mean (swresample's downmix
        # applies a -3 dB pan law, which would change the level of identical channels).
        rs = av.AudioResampler(format="fltp", layout=stream.layout.name, rate=SAMPLE_RATE)
        parts = []
        for frame in container.decode(stream):
            parts += [f.to_ndarray().mean(axis=0) for f in rs.resample(frame)]
        parts += [f.to_ndarray().mean(axis=0) for f in rs.resample(None)]
    return np.concatenate(parts).astype(np.float32, copy=False) if parts else np.zeros(0, np.float32)


def load_audio(source: Any, *, max_seconds: float = 7200) -> np.ndarray:
    """Load speech as 16 kHz mono float32 PCM.

    Args:
        source: a file path (any format FFmpeg decodes: wav, mp3, m4a/aac, ogg/opus, flac; any rate,
            mono or stereo), a ``(array, sample_rate)`` tuple, or an int/float array already at 16 kHz.
            Arrays are (n,) or (n, channels); integer PCM is scaled to [-1, 1].
        max_seconds: longer input is rejected (stream it instead).

    Returns:
        (n,) float32 PCM at :data:`SAMPLE_RATE`.

    Raises:
        InputError: no samples, NaN/inf, unreadable or unsupported file, too long.
    """
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        return _check(_decode(path), path, max_seconds)
    if isinstance(source, tuple):
        if len(source) != 2:
            raise InputError("audio tuple must be (array, sample_rate)")
        array, rate = source
        if not isinstance(rate, (int, np.integer, float)) or rate <= 0:
            raise InputError(f"sample rate {rate!r} is not a positive number")
        pcm = _mono(_to_float(array, "audio array"), "audio array")
        _check(pcm, "audio array", max_seconds * rate / SAMPLE_RATE)
        return _check(resample(pcm, int(rate)), "audio array", max_seconds)
    if isinstance(source, (np.ndarray, list)):
        pcm = _mono(_to_float(np.asarray(source), "audio array"), "audio array")
        return _check(pcm, "audio array", max_seconds)
    raise InputError(f"cannot read audio from {type(source).__name__}: give a path, an array or (array, rate)")
