"""HTTP plumbing shared by the OpenAI-compatible adapters (chat completions and audio speech).

One streaming POST with the policy both need (httpx, ``pip install 'dhsdk[openai]'``):

- connection failures, broken connections and 408/409/425/429/5xx answers are retried with
  exponential backoff (honouring ``Retry-After``) until the response has started; after that
  an error ends the stream, since retrying would repeat speech;
- ``read_timeout`` bounds the wait for every next piece, so a hung server is an error with a
  clear message, not a silent stall;
- ``cancel`` stops at once, during backoff and while a read is blocked (the socket is shut
  down under it), and the request is closed.
"""
from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any, Iterator

from dhsdk._optional import require
from dhsdk.errors import DhsdkError, InputError

_RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}
_CANCEL_POLL_S = 0.02  # how often a blocked read looks at ``cancel``
_MAX_RETRY_AFTER_S = 30.0


class ServiceError(DhsdkError):
    """A model server (LLM or TTS) failed, timed out or refused the request (the message says which)."""


@dataclass
class Endpoint:
    """An OpenAI-compatible server and how patiently to talk to it.

    Args:
        base_url: the API root, e.g. ``http://127.0.0.1:8000/v1`` (vLLM) or
            ``https://api.openai.com/v1``.
        api_key: bearer token; ``OPENAI_API_KEY`` from the environment when None; ``""`` sends none.
        connect_timeout: seconds to establish a connection.
        read_timeout: seconds to wait for the response to start and for each next piece.
        retries: attempts after the first, before the response has started.
        backoff: first retry delay in seconds, doubled on each retry.
        error: the :class:`ServiceError` subclass raised (``LLMError``, ``TTSError``).
    """

    base_url: str
    api_key: str | None = None
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    retries: int = 3
    backoff: float = 0.5
    error: type[ServiceError] = ServiceError

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        if not self.base_url.startswith(("http://", "https://")):
            raise InputError(f"server URL {self.base_url!r} must start with http:// or https://, "
                             "e.g. http://127.0.0.1:8000/v1")
        if self.api_key is None:
            self.api_key = os.environ.get("OPENAI_API_KEY", "")

    def url(self, path: str) -> str:
        """The full URL of an API path such as ``/chat/completions``."""
        return f"{self.base_url}/{path.lstrip('/')}"

    @contextlib.contextmanager
    def post(self, path: str, body: dict[str, Any], cancel: threading.Event | None = None,
             accept: str = "*/*") -> Iterator[Any]:
        """Open a streaming POST of JSON ``body``.

        Yields:
            the httpx response (status 200, body not yet read), or None when ``cancel`` was set
            before the response started. Reading it inside the ``with`` block: a hung server
            raises ``error``; a cancel ends the read quietly (the block exits normally).

        Raises:
            ServiceError (``self.error``): unreachable after the retries, an HTTP error status,
                a hung server, or a connection broken mid-stream.
        """
        httpx = require("httpx", "OpenAI-compatible servers")
        url = self.url(path)
        headers = {"Content-Type": "application/json", "Accept": accept}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        timeout = httpx.Timeout(connect=self.connect_timeout, read=self.read_timeout, write=10.0, pool=5.0)
        with httpx.Client(timeout=timeout) as client:
            resp = self._open(httpx, client, client.build_request("POST", url, headers=headers, json=body), cancel)
            if resp is None:
                yield None
                return
            done = threading.Event()
            if cancel is not None:
                threading.Thread(target=_shutdown_on_cancel, args=(resp, cancel, done), daemon=True,
                                 name="dhsdk-http-cancel").start()
            try:
                yield resp
            except httpx.TimeoutException as e:
                if not _is_set(cancel):
                    raise self.error(f"{url} sent nothing for {self.read_timeout:g} s mid-stream "
                                     "(hung or overloaded)") from e
            except httpx.TransportError as e:  # dropped by the server, or shut down by cancel
                if not _is_set(cancel):
                    raise self.error(f"the connection to {url} broke mid-stream ({e})") from e
            finally:
                done.set()
                resp.close()

    def _open(self, httpx: Any, client: Any, request: Any, cancel: threading.Event | None) -> Any:
        """Send with retries until a 200 response starts; None when cancelled first."""
        attempt = 0
        while True:
            delay = self.backoff * (2 ** attempt)
            try:
                resp = client.send(request, stream=True)
            except (httpx.ConnectError, httpx.ConnectTimeout) as e:
                if attempt >= self.retries:
                    raise self.error(f"cannot reach the server at {self.base_url} after {attempt + 1} attempts "
                                     f"({e}): is it running?") from e
            except httpx.TimeoutException as e:
                raise self.error(f"the server at {self.base_url} sent nothing for {self.read_timeout:g} s "
                                 "(hung or overloaded)") from e
            except httpx.TransportError as e:  # connection dropped before an answer: transient
                if attempt >= self.retries:
                    raise self.error(f"the server at {self.base_url} dropped the connection {attempt + 1} "
                                     f"times ({e})") from e
            else:
                if resp.status_code == 200:
                    return resp
                resp.read()
                resp.close()
                if resp.status_code not in _RETRY_STATUS or attempt >= self.retries:
                    raise self.error(f"{request.url} answered HTTP {resp.status_code}: {resp.text[:200]!r}")
                delay = max(delay, _retry_after(resp.headers.get("retry-after")))
            if cancel is not None:
                if cancel.wait(delay):
                    return None
            else:
                time.sleep(delay)
            attempt += 1


def _is_set(cancel: threading.Event | None) -> bool:
    return cancel is not None and cancel.is_set()


def _shutdown_on_cancel(resp: Any, cancel: threading.Event, done: threading.Event) -> None:
    """Until ``done``: when ``cancel`` is set, shut the socket down so a blocked read returns now."""
    while not done.is_set():
        if cancel.wait(_CANCEL_POLL_S):
            stream = resp.extensions.get("network_stream")
            sock = stream.get_extra_info("socket") if stream is not None else None
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            return


def _retry_after(value: str | None) -> float:
    """Seconds from a ``Retry-After`` header (delta-seconds form; dates count as 0), capped."""
    try:
        return min(float(value), _MAX_RETRY_AFTER_S) if value else 0.0
    except ValueError:
        return 0.0
