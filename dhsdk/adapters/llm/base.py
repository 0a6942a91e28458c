"""The LLM adapter contract."""
from __future__ import annotations

import abc
import threading
from typing import Iterator, Sequence, TypedDict

from dhsdk.adapters.openai_http import ServiceError


class Message(TypedDict):
    """One chat message: ``{"role": "system" | "user" | "assistant", "content": str}``."""

    role: str
    content: str


class LLMError(ServiceError):
    """The model server failed, timed out or refused the request (the message says which)."""


class LLM(abc.ABC):
    """A chat model that streams its answer as text pieces."""

    @abc.abstractmethod
    def stream_chat(self, messages: Sequence[Message], cancel: threading.Event | None = None) -> Iterator[str]:
        """Stream the assistant's reply.

        Args:
            messages: the conversation, oldest first.
            cancel: when set (e.g. the viewer's question was superseded), the stream stops
                at the next piece and the request is closed.

        Yields:
            text pieces in order; their concatenation is the reply.
        """

    def chat(self, messages: Sequence[Message]) -> str:
        """The whole reply at once."""
        return "".join(self.stream_chat(messages))
