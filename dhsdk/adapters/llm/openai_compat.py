"""OpenAI-compatible chat-completions adapter (vLLM, Ollama, llama.cpp server, hosted APIs).

Streams ``/v1/chat/completions`` server-sent events through
:class:`dhsdk.adapters.openai_http.Endpoint` (``pip install 'dhsdk[openai]'``), which gives
the retry, timeout and cancellation policy: failures are retried with exponential backoff
until the first piece of the answer has arrived, never after (that would repeat speech); a
server that stops sending raises :class:`LLMError` after ``read_timeout``; ``cancel`` ends the
stream at once, even while a read is blocked.
"""
from __future__ import annotations

import json
import threading
from typing import Any, Iterator, Sequence

from dhsdk.adapters.llm.base import LLM, LLMError, Message
from dhsdk.adapters.openai_http import Endpoint


class OpenAICompatLLM(LLM):
    """Chat with any server that speaks the OpenAI chat-completions protocol.

    Args:
        base_url: e.g. ``http://127.0.0.1:8000/v1`` (vLLM), ``http://127.0.0.1:11434/v1`` (Ollama).
        model: model name the server knows.
        api_key: bearer token; ``OPENAI_API_KEY`` from the environment when None.
        temperature: sampling temperature.
        max_tokens: cap on the reply length.
        connect_timeout: seconds to establish the connection.
        read_timeout: seconds to wait for the next piece before giving up (a hung server).
        retries: attempts after the first, before any piece has arrived.
        backoff: first retry delay in seconds, doubled each time.
        extra_body: more request fields (``{"top_p": 0.9}``, server-specific options).
    """

    def __init__(self, base_url: str, model: str, api_key: str | None = None, temperature: float = 0.7,
                 max_tokens: int = 256, connect_timeout: float = 5.0, read_timeout: float = 30.0,
                 retries: int = 3, backoff: float = 0.5, extra_body: dict[str, Any] | None = None):
        self.endpoint = Endpoint(base_url, api_key, connect_timeout, read_timeout, retries, backoff, error=LLMError)
        self.model = model
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.extra_body = extra_body or {}

    def stream_chat(self, messages: Sequence[Message], cancel: threading.Event | None = None) -> Iterator[str]:
        body = {"model": self.model, "messages": list(messages), "stream": True,
                "temperature": self.temperature, "max_tokens": self.max_tokens, **self.extra_body}
        with self.endpoint.post("/chat/completions", body, cancel, accept="text/event-stream") as resp:
            if resp is not None:
                yield from _pieces(resp, cancel, self.endpoint.url("/chat/completions"))


def _pieces(resp: Any, cancel: threading.Event | None, url: str) -> Iterator[str]:
    """The ``delta.content`` texts of a server-sent-events stream, up to ``[DONE]``."""
    for line in resp.iter_lines():
        if cancel is not None and cancel.is_set():
            return
        if not line.startswith("data:"):
            continue  # blank separators, ": keep-alive" comments, "event:" lines
        data = line[5:].strip()
        if data == "[DONE]":
            return
        try:
            event = json.loads(data)
        except json.JSONDecodeError as e:
            raise LLMError(f"{url} sent a malformed stream event: {data[:120]!r}") from e
        if "error" in event:
            raise LLMError(f"{url} reported an error mid-stream: {event['error']}")
        for choice in event.get("choices", []):
            piece = (choice.get("delta") or {}).get("content")
            if piece:
                yield piece
