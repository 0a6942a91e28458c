"""Fetching a render's ``audio_url`` without opening the server's network to its callers.

The host name is resolved once and every address is checked (no loopback, private,
link-local, multicast or reserved address unless the server allows them); the connection
then goes to that checked address (so a second DNS answer cannot redirect it), redirects are
not followed, and the body is bounded in size and time.
"""
from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from typing import BinaryIO
from urllib.parse import urlsplit

from dhsdk.serve.files import UploadError

TIMEOUT_S = 15.0


def _checked_address(host: str, port: int, allow_private: bool) -> str:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        raise UploadError(f"audio_url: cannot resolve {host!r} ({e.strerror})") from None
    addresses = [info[4][0] for info in infos]
    for a in addresses:
        ip = ipaddress.ip_address(a.split("%")[0])
        if not allow_private and not ip.is_global:
            raise UploadError(f"audio_url: {host} is a private or local address ({ip}); upload the audio "
                              f"with POST /v1/uploads instead", status=400)
    return addresses[0]


class _Pinned(http.client.HTTPSConnection):
    """HTTPS to a fixed address, with the certificate checked for the URL's host name."""

    def __init__(self, address: str, host: str, port: int, timeout: float):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


class _Body:
    """The response body as a file-like object (what :meth:`FileStore.save_upload` reads)."""

    def __init__(self, response: http.client.HTTPResponse):
        self.response = response

    def read(self, n: int = -1) -> bytes:
        return self.response.read(n)


def open_url(url: str, allow_private: bool = False) -> tuple[BinaryIO, http.client.HTTPConnection]:
    """GET ``url`` (http or https) and return (its body, the connection to close).

    Raises:
        UploadError: a bad URL, a refused address, or an answer other than 200.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UploadError(f"audio_url must be an http(s) URL, got {url[:200]!r}")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    address = _checked_address(parts.hostname, port, allow_private)
    if parts.scheme == "https":
        conn: http.client.HTTPConnection = _Pinned(address, parts.hostname, port, TIMEOUT_S)
    else:
        conn = http.client.HTTPConnection(address, port, timeout=TIMEOUT_S)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    try:
        conn.request("GET", path, headers={"Host": parts.netloc.rpartition("@")[2], "User-Agent": "dhsdk-serve"})
        response = conn.getresponse()
    except (OSError, http.client.HTTPException) as e:
        conn.close()
        raise UploadError(f"audio_url: cannot fetch {parts.hostname}: {e}") from None
    if response.status != 200:
        conn.close()
        raise UploadError(f"audio_url answered HTTP {response.status} (redirects are not followed): "
                          f"give the file's final URL or upload it")
    return _Body(response), conn
