"""Audio front-end: loading any common format to 16 kHz mono float32, and log-mel features.

Public API: :func:`load_audio`, :func:`audio_seconds`, :data:`SAMPLE_RATE`, :class:`LogMel`
(streaming) and :func:`log_mel` (batch).
"""
from dhsdk.audio.load import SAMPLE_RATE, audio_seconds, load_audio
from dhsdk.audio.mel import HOP, N_MELS, LogMel, log_mel

__all__ = ["SAMPLE_RATE", "audio_seconds", "load_audio", "LogMel", "log_mel", "HOP", "N_MELS"]
