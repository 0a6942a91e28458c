"""A local OpenAI-compatible server over any dhsdk LLM and TTS (the offline defaults by default).

``POST /v1/chat/completions`` streams the LLM's pieces as server-sent events (or one JSON
answer with ``"stream": false``); ``POST /v1/audio/speech`` streams the TTS's audio sentence
by sentence as raw 16-bit PCM at 24 kHz (``response_format: pcm``, OpenAI's convention) or
as a WAV stream. It lets the ``openai`` adapters be tried and measured end to end with no
model server; ``tokens_per_s`` paces the chat stream like a model of that speed. Standard
library HTTP in a thread; loopback only by default.
"""
from __future__ import annotations

import itertools
import json
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

import numpy as np

from dhsdk.adapters.llm.base import LLM
from dhsdk.adapters.tts.base import TTS
from dhsdk.httpserve import JSONHandler

PCM_RATE = 24000


class OpenAIServer:
    """Serve ``llm`` and ``tts`` over the OpenAI protocol until :meth:`close`.

    Args:
        llm: answers chat completions (any :class:`LLM`); chat answers 404 when None.
        tts: speaks ``/audio/speech`` (any :class:`TTS`); espeak ``auto`` when None.
        host: interface to bind (loopback by default).
        port: TCP port; 0 picks a free one (see :attr:`url`).
        tokens_per_s: pace of the chat stream (pieces per second); as fast as produced when None.
    """

    def __init__(self, llm: LLM | None = None, tts: TTS | None = None, host: str = "127.0.0.1", port: int = 0,
                 tokens_per_s: float | None = None):
        if tts is None:
            from dhsdk.adapters.tts.espeak import EspeakTTS

            tts = EspeakTTS("auto")
        self.llm, self.tts, self.tokens_per_s = llm, tts, tokens_per_s
        self.requests: list[tuple[str, dict[str, Any]]] = []  # (path, JSON body), for inspection
        self._httpd = ThreadingHTTPServer((host, port), _handler(self))
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="dhsdk-openai-server",
                         daemon=True).start()

    @property
    def url(self) -> str:
        """The API root to give an adapter's ``base_url``: ``http://HOST:PORT/v1``."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def chat_events(self, body: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """The chat-completion chunks answering ``body``, paced by ``tokens_per_s``."""
        start = time.perf_counter()
        for i, piece in enumerate(self.llm.stream_chat(body.get("messages", []))):
            if self.tokens_per_s:
                time.sleep(max(0.0, start + (i + 1) / self.tokens_per_s - time.perf_counter()))
            yield {"object": "chat.completion.chunk", "model": body.get("model", "dhsdk-local"),
                   "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}

    def speech(self, body: dict[str, Any]) -> Iterator[bytes]:
        """Audio bytes speaking ``body["input"]`` in the requested format, one piece per chunk."""
        from dhsdk.adapters.tts.pcm import Resampler

        fmt = body.get("response_format", "pcm")
        if fmt == "wav":  # a streamed WAV: the sizes are unknown, so they say "as long as it goes"
            yield b"RIFF" + struct.pack("<I", 0xFFFFFFFF) + b"WAVE" + b"fmt " + struct.pack(
                "<IHHIIHH", 16, 1, 1, PCM_RATE, 2 * PCM_RATE, 2, 16) + b"data" + struct.pack("<I", 0xFFFFFFFF)
        resampler = None
        for chunk in self.tts.synthesize_stream(str(body.get("input", ""))):
            resampler = resampler or Resampler(chunk.sample_rate, PCM_RATE)
            yield _int16(resampler.push(chunk.pcm))
        if resampler is not None:
            yield _int16(resampler.push(None))

    def close(self) -> None:
        """Stop serving and release the port."""
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> "OpenAIServer":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _handler(server: OpenAIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(JSONHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            try:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            except ValueError:
                self.send_json(400, {"error": {"message": "the body must be JSON"}})
                return
            path = self.path.rstrip("/")
            server.requests.append((path, body))
            if path == "/v1/chat/completions" and server.llm is not None:
                if body.get("stream"):
                    self._stream("text/event-stream", (f"data: {json.dumps(e)}\n\n".encode()
                                                       for e in server.chat_events(body)), b"data: [DONE]\n\n")
                else:
                    text = "".join(e["choices"][0]["delta"]["content"] for e in server.chat_events(body))
                    self.send_json(200, {"object": "chat.completion", "choices": [
                        {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}]})
            elif path == "/v1/audio/speech":
                if body.get("response_format", "pcm") not in ("pcm", "wav"):
                    self.send_json(400, {"error": {"message": "this server speaks response_format pcm or wav"}})
                    return
                self._stream("audio/pcm" if body.get("response_format", "pcm") == "pcm" else "audio/wav",
                             server.speech(body))
            else:
                self.send_json(404, {"error": {"message": f"no endpoint {self.path}"}})

        def _stream(self, content_type: str, pieces: Iterator[bytes], last: bytes = b"") -> None:
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            try:
                for data in itertools.chain(pieces, [last]):
                    if data:
                        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                        self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client hung up (cancelled): stop producing

    return Handler


def _int16(pcm: np.ndarray) -> bytes:
    """float32 [-1, 1] -> signed 16-bit little-endian bytes."""
    return (np.clip(pcm, -1.0, 1.0) * 32767).astype("<i2").tobytes()
