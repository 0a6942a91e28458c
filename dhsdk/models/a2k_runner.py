"""a2k at run time (ONNX Runtime, no torch): 16 kHz speech -> (T, 40, 2) canonical lip deltas, one per
video frame, in batch (:meth:`A2K.predict`) or streaming (:meth:`A2K.stream`) with identical results.

Video frame ``t`` (centred at ``t / fps`` s) uses the mel window around mel frame
``c = floor(t * 100 / fps)`` (the mel frame whose centre is nearest): ``c - PAST .. c + FUTURE``,
frames outside the signal are the log-mel of silence.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from dhsdk.audio.load import SAMPLE_RATE
from dhsdk.audio.mel import HOP, N_MELS, LogMel, log_mel, silence_value
from dhsdk.errors import BundleError, InputError
from dhsdk.runtime.ort import session_from_onnx

PAST, FUTURE = 20, 8          # must match dhsdk.models.a2k
WINDOW = PAST + 1 + FUTURE
DEFAULT_PATH = Path(__file__).resolve().parents[1] / "assets" / "a2k" / "a2k.onnx"
_BATCH = 1024


def mel_centre(t: np.ndarray, fps: float) -> np.ndarray:
    """Mel frame (100 per second) at the start of video frame(s) ``t`` at ``fps``: the centre of
    the window a2k reads for that frame (int64, like ``t``)."""
    return np.floor(np.asarray(t, np.float64) * (SAMPLE_RATE / HOP) / fps + 1e-9).astype(np.int64)


def frame_count(samples: int, fps: float) -> int:
    """Video frames for ``samples`` of 16 kHz audio: ``round(samples / 16000 * fps)``."""
    return int(round(samples / SAMPLE_RATE * fps))


def mel_windows(mel: np.ndarray, first: int, centres: np.ndarray) -> np.ndarray:
    """Gather (B, 80, WINDOW) model inputs around mel frames ``centres``.

    Args:
        mel: (F, 80) log-mel; row 0 is mel frame ``first``.
        first: mel frame index of ``mel[0]``.
        centres: (B,) int mel frame indices; frames outside ``mel`` are the log-mel of silence.
    """
    idx = np.asarray(centres, np.int64)[:, None] - first + np.arange(-PAST, FUTURE + 1)[None]
    valid = (idx >= 0) & (idx < len(mel))
    out = np.full(idx.shape + (N_MELS,), silence_value(), np.float32)
    out[valid] = mel[idx[valid]]
    return np.ascontiguousarray(out.transpose(0, 2, 1))


class A2K:
    """The audio-to-keypoints model on ONNX Runtime.

    Attributes:
        lookahead_s: seconds of audio after a frame's time needed to predict it (<= 0.12).
    """

    lookahead_s = FUTURE * HOP / SAMPLE_RATE + 0.0175 + 0.010

    def __init__(self, session):
        self._session = session

    @classmethod
    def load(cls, path: str | os.PathLike | None = None, device: str = "cpu") -> "A2K":
        """Load an a2k ONNX model (``None`` = the shipped default weights).

        Args:
            path: ``.onnx`` file with input ``mel`` (B, 80, 29) and output ``deltas`` (B, 40, 2).
            device: ``cpu`` or ``cuda`` (CUDA execution provider when available).
        """
        from dhsdk._optional import require

        fix = ("reinstall dhsdk or regenerate it with `dhsdk train a2k`" if path is None else
               "check the path; an avatar's a2k_model is made by `dhsdk train a2k-adapt --avatar DIR`")
        path = Path(path) if path is not None else DEFAULT_PATH
        if not path.is_file():
            raise BundleError(f"a2k model not found at {path}: {fix}")
        ort = require("onnxruntime")
        providers = ["CPUExecutionProvider"]
        if str(device).startswith("cuda") and "CUDAExecutionProvider" in ort.get_available_providers():
            providers.insert(0, "CUDAExecutionProvider")
        return cls(session_from_onnx(path, providers, intra_op_threads=1)())

    def infer(self, windows: np.ndarray) -> np.ndarray:
        """(B, 80, WINDOW) float32 log-mel windows -> (B, 40, 2) float32 deltas."""
        if len(windows) == 0:
            return np.zeros((0, 40, 2), np.float32)
        outs = [self._session.run(["deltas"], {"mel": np.ascontiguousarray(windows[i:i + _BATCH], np.float32)})[0]
                for i in range(0, len(windows), _BATCH)]
        return np.concatenate(outs).astype(np.float32)

    def predict(self, pcm16k: np.ndarray, fps: float) -> np.ndarray:
        """Lip deltas for a whole signal.

        Args:
            pcm16k: (n,) float32 16 kHz mono.
            fps: video frame rate.

        Returns:
            (round(n / 16000 * fps), 40, 2) float32 canonical lip deltas from the neutral mouth.
        """
        _check_fps(fps)
        pcm16k = np.asarray(pcm16k, np.float32).reshape(-1)
        t = np.arange(frame_count(len(pcm16k), fps))
        return self.infer(mel_windows(log_mel(pcm16k), 0, mel_centre(t, fps)))

    def stream(self, fps: float) -> "A2KStream":
        """A streaming predictor at ``fps``; see :class:`A2KStream`."""
        _check_fps(fps)
        return A2KStream(self, fps)


def _check_fps(fps: float) -> None:
    if not (isinstance(fps, (int, float, np.integer, np.floating)) and 1 <= fps <= 240):
        raise InputError(f"fps {fps!r} is not in 1..240")


class A2KStream:
    """Incremental a2k: push PCM chunks, get the frames whose look-ahead audio has arrived.

    The concatenation of all :meth:`push` outputs and :meth:`flush` equals :meth:`A2K.predict` on
    the whole signal.
    """

    def __init__(self, model: A2K, fps: float):
        self.model, self.fps = model, float(fps)
        self._mel = LogMel()
        self._frames = np.zeros((0, N_MELS), np.float32)
        self._first = 0        # mel frame index of self._frames[0]
        self._next = 0         # next video frame to emit
        self._samples = 0

    def push(self, pcm16k_chunk: np.ndarray) -> np.ndarray:
        """Add 16 kHz samples; return (k, 40, 2) deltas for the frames now complete."""
        return self.model.infer(self.windows(pcm16k_chunk))

    def windows(self, pcm16k_chunk: np.ndarray) -> np.ndarray:
        """Add 16 kHz samples; return the (k, 80, WINDOW) model inputs of the frames now
        complete, in frame order: :meth:`push` without the inference, so a caller can run the
        windows of many streams through :meth:`A2K.infer` as one batch."""
        chunk = np.asarray(pcm16k_chunk, np.float32).reshape(-1)
        self._samples += len(chunk)
        self._append(self._mel.push(chunk))
        have = self._first + len(self._frames)
        end = frame_count(self._samples, self.fps)
        t = self._next
        while t < end and mel_centre(t, self.fps) + FUTURE < have:
            t += 1
        return self._windows(t)

    def flush(self) -> np.ndarray:
        """Zero-pad the future and return the remaining frames' deltas; the stream is then reset."""
        self._append(self._mel.flush())
        out = self.model.infer(self._windows(frame_count(self._samples, self.fps)))
        self.__init__(self.model, self.fps)
        return out

    def _append(self, mel: np.ndarray) -> None:
        if len(mel):
            self._frames = np.concatenate([self._frames, mel])

    def _windows(self, end: int) -> np.ndarray:
        centres = mel_centre(np.arange(self._next, end), self.fps)
        out = mel_windows(self._frames, self._first, centres)
        self._next = max(end, self._next)
        keep_from = int(mel_centre(self._next, self.fps)) - PAST
        drop = max(0, keep_from - self._first)
        self._frames, self._first = self._frames[drop:], self._first + drop
        return out
