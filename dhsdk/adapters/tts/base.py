"""TTS base class: streaming synthesis of timestamped PCM chunks with phoneme events."""
from __future__ import annotations

import abc
from typing import Iterator

import numpy as np

from dhsdk.frames import AudioChunk


class TTS(abc.ABC):
    """A text-to-speech engine."""

    @abc.abstractmethod
    def synthesize_stream(self, text: str) -> Iterator[AudioChunk]:
        """Yield audio chunks (at least one per sentence) in order, ``pts`` from the start of ``text``."""

    def synthesize(self, text: str) -> AudioChunk:
        """The whole utterance as one chunk; phoneme times are seconds from its start."""
        chunks = list(self.synthesize_stream(text))
        if not chunks:
            return AudioChunk(pcm=np.zeros(0, np.float32), sample_rate=16000, text=text)
        rate = chunks[0].sample_rate
        phonemes = [(c.pts + t, p) for c in chunks for t, p in c.phonemes]
        return AudioChunk(pcm=np.concatenate([c.pcm for c in chunks]).astype(np.float32), sample_rate=rate,
                          text=text, phonemes=phonemes)
