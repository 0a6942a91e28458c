"""Audio bytes from a TTS server to 16 kHz float32 PCM, incrementally.

:class:`PcmDecoder` takes a response body in pieces of any size (a piece may split a sample
or the WAV header) and returns 16 kHz mono float32 as soon as samples are complete, through
one stateful resampler per utterance, so the output is continuous across pieces.
Raw ``pcm`` (signed 16-bit little-endian mono) and ``wav`` (PCM16 or float32, any channel
count; the sizes in a streamed header are ignored) decode incrementally; compressed formats
(mp3, opus, aac, flac) are decoded by FFmpeg once the body is complete.
"""
from __future__ import annotations

import struct
import tempfile

import numpy as np

from dhsdk.adapters.tts.base import TTSError

SAMPLE_RATE = 16000
STREAMING_FORMATS = ("pcm", "wav")
COMPRESSED_FORMATS = ("mp3", "opus", "aac", "flac")


class Resampler:
    """Continuous resampling of mono float32 pieces (libswresample through PyAV).

    Args:
        rate: Hz of the input.
        out_rate: Hz of the output.
    """

    def __init__(self, rate: int, out_rate: int = SAMPLE_RATE):
        self.rate = int(rate)
        self._rs = None
        if self.rate != out_rate:
            import av

            self._av = av
            self._rs = av.AudioResampler(format="flt", layout="mono", rate=int(out_rate))

    def push(self, pcm: np.ndarray | None) -> np.ndarray:
        """Resample the next piece (None flushes the resampler's delay line at the end)."""
        if self._rs is None:
            return np.zeros(0, np.float32) if pcm is None else pcm
        frame = None
        if pcm is not None:
            if not len(pcm):
                return np.zeros(0, np.float32)
            frame = self._av.AudioFrame.from_ndarray(np.ascontiguousarray(pcm, np.float32)[None], format="flt",
                                                     layout="mono")
            frame.sample_rate = self.rate
        parts = [f.to_ndarray().reshape(-1) for f in self._rs.resample(frame)]
        return np.concatenate(parts).astype(np.float32) if parts else np.zeros(0, np.float32)


class PcmDecoder:
    """Incremental decoder of one utterance's audio bytes.

    Args:
        fmt: ``pcm``, ``wav``, or one of :data:`COMPRESSED_FORMATS`.
        sample_rate: Hz of raw ``pcm`` (OpenAI's is 24000); read from the header for ``wav``.
    """

    def __init__(self, fmt: str, sample_rate: int = 24000):
        self.fmt = fmt
        self._buf = b""
        self._frame_bytes = 2  # bytes per sample frame (all channels) once known
        self._dtype = np.dtype("<i2")
        self._channels = 1
        self._resampler = Resampler(sample_rate) if fmt == "pcm" else None

    def push(self, data: bytes) -> np.ndarray:
        """Add body bytes; return the 16 kHz samples they complete (possibly none)."""
        self._buf += data
        if self.fmt in COMPRESSED_FORMATS:
            return np.zeros(0, np.float32)
        if self._resampler is None and not self._read_wav_header():
            return np.zeros(0, np.float32)
        n = len(self._buf) // self._frame_bytes * self._frame_bytes
        raw, self._buf = self._buf[:n], self._buf[n:]
        return self._resampler.push(self._samples(raw))

    def flush(self) -> np.ndarray:
        """End of the body: the remaining samples (compressed formats: all of them)."""
        if self.fmt in COMPRESSED_FORMATS:
            return _decode_compressed(self._buf, self.fmt) if self._buf else np.zeros(0, np.float32)
        if self._resampler is None:
            if self._buf:
                raise TTSError(f"the server's WAV ended inside its header ({len(self._buf)} bytes)")
            return np.zeros(0, np.float32)
        return self._resampler.push(None)

    def _samples(self, raw: bytes) -> np.ndarray:
        a = np.frombuffer(raw, self._dtype)
        pcm = a.astype(np.float32) / 32768.0 if self._dtype.kind == "i" else a.astype(np.float32)
        return pcm.reshape(-1, self._channels).mean(axis=1) if self._channels > 1 else pcm

    def _read_wav_header(self) -> bool:
        """Parse RIFF/fmt/data from the buffer once enough has arrived; True when done."""
        b = self._buf
        if len(b) < 12:
            return False
        if b[:4] != b"RIFF" or b[8:12] != b"WAVE":
            raise TTSError(f"the server's audio is not WAV (starts with {b[:12]!r}): ask for response_format 'wav'")
        pos, fmt = 12, None
        while True:
            if len(b) < pos + 8:
                return False
            tag, size = b[pos:pos + 4], struct.unpack("<I", b[pos + 4:pos + 8])[0]
            if tag == b"data":
                break
            if len(b) < pos + 8 + size:
                return False
            if tag == b"fmt ":
                fmt = struct.unpack("<HHIIHH", b[pos + 8:pos + 24])
            pos += 8 + size + (size & 1)
        if fmt is None:
            raise TTSError("the server's WAV has no 'fmt ' chunk before its data")
        code, channels, rate, _, _, bits = fmt
        if (code, bits) == (1, 16):
            self._dtype = np.dtype("<i2")
        elif (code, bits) == (3, 32):
            self._dtype = np.dtype("<f4")
        else:
            raise TTSError(f"the server's WAV is format {code} with {bits}-bit samples: dhsdk reads 16-bit PCM or "
                           "32-bit float WAV")
        self._channels = max(1, channels)
        self._frame_bytes = self._dtype.itemsize * self._channels
        self._resampler = Resampler(rate)
        self._buf = b[pos + 8:]
        return True


def _decode_compressed(data: bytes, fmt: str) -> np.ndarray:
    """A complete compressed body to 16 kHz mono float32 through FFmpeg (dhsdk.audio.load_audio)."""
    from dhsdk.audio import load_audio
    from dhsdk.errors import InputError

    with tempfile.NamedTemporaryFile(suffix=f".{fmt}") as f:
        f.write(data)
        f.flush()
        try:
            return load_audio(f.name)
        except InputError as e:
            raise TTSError(f"the server's {fmt} audio cannot be decoded: {e}") from e
