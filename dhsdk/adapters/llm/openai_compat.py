"""OpenAI-compatible chat-completions adapter (vLLM, Ollama, llama.cpp server, hosted APIs).

Streams ``/v1/chat/completions`` server-sent events with httpx (``pip install 'dhsdk[openai]'``).
Connection failures, 429 and 5xx answers are retried with exponential backoff (honouring
``Retry-After``) until the first piece of the answer has arrived; after that an error ends the
stream, since retrying would repeat speech.
"""
from __future__ import annotations

import json
import os
import threading
import time
from typing import Any, Iterator, Sequence

from dhsdk._optional import require
from dhsdk.adapters.llm.base import LLM, LLMError, Message

_RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}


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
    """

    def __init__(self, base_url: str, model: str, api_key: str | None = None, temperature: float = 0.7,
                 max_tokens: int = 256, connect_timeout: float = 5.0, read_timeout: float = 30.0,
                 retries: int = 3, backoff: float = 0.5, extra_body: dict[str, Any] | None = None):
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY", "")
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.retries = retries
        self.backoff = backoff
        self.extra_body = extra_body or {}

    def _request(self, messages: Sequence[Message]) -> tuple[str, dict[str, str], dict[str, Any]]:
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        body = {"model": self.model, "messages": list(messages), "stream": True,
                "temperature": self.temperature, "max_tokens": self.max_tokens, **self.extra_body}
        return f"{self.base_url}/chat/completions", headers, body

    def stream_chat(self, messages: Sequence[Message], cancel: threading.Event | None = None) -> Iterator[str]:
        httpx = require("httpx", "the OpenAI-compatible LLM adapter")
        url, headers, body = self._request(messages)
        timeout = httpx.Timeout(connect=self.connect_timeout, read=self.read_timeout, write=10.0, pool=5.0)
        attempt = 0
        with httpx.Client(timeout=timeout) as client:
            while True:
                delay = self.backoff * (2 ** attempt)
                try:
                    with client.stream("POST", url, headers=headers, json=body) as resp:
                        if resp.status_code != 200:
                            resp.read()
                            if resp.status_code in _RETRY_STATUS and attempt < self.retries:
                                delay = max(delay, _retry_after(resp.headers.get("retry-after")))
                                raise _Retry(f"HTTP {resp.status_code}")
                            raise LLMError(f"{url} answered HTTP {resp.status_code}: {resp.text[:200]!r}")
                        yield from self._pieces(resp, cancel, url)
                        return
                except _Retry:
                    pass
                except (httpx.ConnectError, httpx.ConnectTimeout) as e:
                    if attempt >= self.retries:
                        raise LLMError(f"cannot reach the LLM server at {self.base_url} after "
                                       f"{attempt + 1} attempts ({e}): is it running?") from e
                except httpx.ReadTimeout as e:
                    raise LLMError(f"the LLM server at {self.base_url} sent nothing for "
                                   f"{self.read_timeout:.0f} s (hung or overloaded)") from e
                if cancel is not None and cancel.wait(delay):
                    return
                if cancel is None:
                    time.sleep(delay)
                attempt += 1

    def _pieces(self, resp: Any, cancel: threading.Event | None, url: str) -> Iterator[str]:
        for line in resp.iter_lines():
            if cancel is not None and cancel.is_set():
                return
            if not line.startswith("data:"):
                continue
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


class _Retry(Exception):
    """Internal: the answer was retryable and no piece has been yielded yet."""


def _retry_after(value: str | None) -> float:
    try:
        return min(float(value), 30.0) if value else 0.0
    except ValueError:
        return 0.0
