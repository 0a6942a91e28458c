"""TTS base class: streaming synthesis of timestamped PCM chunks with phoneme events."""
from __future__ import annotations

import abc
from typing import Iterator

import numpy as np

from dhsdk.adapters.openai_http import ServiceError
from dhsdk.frames import AudioChunk


class TTSError(ServiceError):
    """A TTS server failed, timed out or refused the request (the message says which)."""


def sentences(text: str) -> list[str]:
    """The non-empty sentences of ``text``, each synthesised (and streamed) on its own, so
    speech starts after the first sentence (see :mod:`dhsdk.adapters.segment`)."""
    from dhsdk.adapters.segment import split_sentences

    return [s for s in split_sentences(text) if s.strip()]


class TTS(abc.ABC):
    """A text-to-speech engine.

    Chunks carry the engine's own sample rate (a :class:`~dhsdk.pipeline.stream.Stream`
    resamples whole chunks); an engine that streams small pieces of one sentence resamples
    them to 16 kHz itself, continuously, so chunk edges do not click.
    """

    @abc.abstractmethod
    def synthesize_stream(self, text: str) -> Iterator[AudioChunk]:
        """Yield audio chunks (at least one per sentence) in order, ``pts`` from the start of ``text``.

        Closing the iterator early (``close()``, or dropping it) stops synthesis and releases
        what it holds (an open HTTP request).
        """

    def synthesize(self, text: str) -> AudioChunk:
        """The whole utterance as one chunk; phoneme times are seconds from its start."""
        chunks = list(self.synthesize_stream(text))
        if not chunks:
            return AudioChunk(pcm=np.zeros(0, np.float32), sample_rate=16000, text=text)
        rate = chunks[0].sample_rate
        phonemes = [(c.pts + t, p) for c in chunks for t, p in c.phonemes]
        return AudioChunk(pcm=np.concatenate([c.pcm for c in chunks]).astype(np.float32), sample_rate=rate,
                          text=text, phonemes=phonemes)
