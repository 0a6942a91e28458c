"""TTS from any OpenAI-compatible ``/v1/audio/speech`` server, hosted or self-hosted
(OpenAI, Kokoro-FastAPI, openedai-speech, LocalAI, ...), through
:class:`dhsdk.adapters.openai_http.Endpoint` (``pip install 'dhsdk[openai]'``).

Each sentence is one request, so the first sentence plays while the next are synthesised.
With ``response_format="pcm"`` (the default) or ``"wav"`` the audio is streamed: chunks come
out while the server is still sending, resampled continuously to 16 kHz. Compressed formats
arrive whole per sentence. Retries, timeouts and early close follow the shared endpoint policy.
"""
from __future__ import annotations

from typing import Any, Iterator

import numpy as np

from dhsdk.adapters.openai_http import Endpoint
from dhsdk.adapters.tts.base import TTS, TTSError, sentences
from dhsdk.adapters.tts.pcm import COMPRESSED_FORMATS, SAMPLE_RATE, STREAMING_FORMATS, PcmDecoder
from dhsdk.errors import InputError
from dhsdk.frames import AudioChunk


class OpenAITTS(TTS):
    """Speech from an OpenAI-compatible server.

    Args:
        base_url: the API root, e.g. ``https://api.openai.com/v1`` or ``http://127.0.0.1:8880/v1``.
        model: the server's TTS model (``tts-1``, ``gpt-4o-mini-tts``, ``kokoro`` ...).
        voice: the server's voice name (``alloy``, ``af_bella`` ...).
        api_key: bearer token; ``OPENAI_API_KEY`` from the environment when None.
        response_format: ``pcm`` (raw 16-bit mono at ``sample_rate``), ``wav``, or a compressed
            format (``mp3``, ``opus``, ``aac``, ``flac``; not streamed).
        sample_rate: Hz of raw ``pcm`` from this server (OpenAI's is 24000).
        speed: speaking rate, 0.25 .. 4.0.
        chunk_s: streamed audio is yielded in chunks of at least this many seconds.
        connect_timeout, read_timeout, retries, backoff: see :class:`Endpoint`.
        extra_body: more request fields (``{"instructions": "cheerful"}``, server options).
    """

    def __init__(self, base_url: str, model: str = "tts-1", voice: str = "alloy", api_key: str | None = None,
                 response_format: str = "pcm", sample_rate: int = 24000, speed: float = 1.0, chunk_s: float = 0.1,
                 connect_timeout: float = 5.0, read_timeout: float = 30.0, retries: int = 3, backoff: float = 0.5,
                 extra_body: dict[str, Any] | None = None):
        if response_format not in STREAMING_FORMATS + COMPRESSED_FORMATS:
            raise InputError(f"TTS response_format {response_format!r} is not supported: use one of "
                             f"{', '.join(STREAMING_FORMATS + COMPRESSED_FORMATS)} (pcm and wav stream)")
        if not 0.25 <= speed <= 4.0:
            raise InputError(f"TTS speed {speed} is out of range: use 0.25 .. 4.0")
        if sample_rate <= 0:
            raise InputError(f"TTS sample_rate {sample_rate} must be a positive number of Hz")
        self.endpoint = Endpoint(base_url, api_key, connect_timeout, read_timeout, retries, backoff, error=TTSError)
        self.model, self.voice, self.response_format = model, voice, response_format
        self.sample_rate, self.speed, self.chunk_s = int(sample_rate), float(speed), float(chunk_s)
        self.extra_body = extra_body or {}

    def synthesize_stream(self, text: str) -> Iterator[AudioChunk]:
        """Chunks of 16 kHz speech, sentence by sentence, ``pts`` = seconds from the start of the text."""
        pts = 0.0
        for sentence in sentences(text):
            for chunk in self._sentence(sentence):
                chunk.pts = pts
                pts += chunk.duration
                yield chunk

    def _sentence(self, sentence: str) -> Iterator[AudioChunk]:
        body = {"model": self.model, "input": sentence, "voice": self.voice,
                "response_format": self.response_format, "speed": self.speed, **self.extra_body}
        decoder = PcmDecoder(self.response_format, self.sample_rate)
        pending: list[np.ndarray] = []
        produced = False
        min_samples = int(self.chunk_s * SAMPLE_RATE)
        with self.endpoint.post("/audio/speech", body) as resp:
            if resp.headers.get("content-type", "").startswith("application/json"):
                raise TTSError(f"{self.endpoint.url('/audio/speech')} answered JSON, not audio: "
                               f"{resp.read()[:200]!r}")
            for data in resp.iter_bytes():
                pending.append(decoder.push(data))
                if sum(len(p) for p in pending) >= min_samples:
                    yield AudioChunk(np.concatenate(pending), SAMPLE_RATE, text=sentence)
                    pending, produced = [], True
        pending.append(decoder.flush())
        tail = np.concatenate(pending)
        if len(tail):
            yield AudioChunk(tail, SAMPLE_RATE, text=sentence)
        elif not produced:
            raise TTSError(f"{self.endpoint.url('/audio/speech')} returned no audio for {sentence!r}")
