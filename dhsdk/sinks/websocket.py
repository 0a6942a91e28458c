"""The small part of WebSocket (RFC 6455) the browser sink needs: the handshake and framing.

Pure functions over bytes, so the asyncio server and a blocking client (tests driving
Chromium's DevTools socket) share one implementation. No extensions; each sent message is one
frame; :func:`parse` returns frames as they come (``fin`` tells a fragment's end) and leaves
reassembly to the caller.
"""
from __future__ import annotations

import base64
import hashlib
import os
import struct

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
TEXT, BINARY, CLOSE, PING, PONG = 0x1, 0x2, 0x8, 0x9, 0xA
MAX_MESSAGE = 1 << 20  # bytes accepted in one received frame (clients send small JSON only)


class ProtocolError(ValueError):
    """The peer broke the WebSocket protocol (the connection should be closed)."""


def accept_key(key: str) -> str:
    """``Sec-WebSocket-Accept`` for a client's ``Sec-WebSocket-Key``."""
    return base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()


def client_key() -> str:
    """A fresh random ``Sec-WebSocket-Key``."""
    return base64.b64encode(os.urandom(16)).decode()


def encode(opcode: int, payload: bytes, mask: bool = False) -> bytes:
    """One final frame carrying ``payload`` (clients must mask, servers must not)."""
    n = len(payload)
    head = bytes([0x80 | opcode])
    bit = 0x80 if mask else 0
    if n < 126:
        head += bytes([bit | n])
    elif n < 1 << 16:
        head += bytes([bit | 126]) + struct.pack(">H", n)
    else:
        head += bytes([bit | 127]) + struct.pack(">Q", n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + _unmask(payload, key)


def parse(buf: bytes | bytearray, max_size: int = MAX_MESSAGE) -> tuple[int, bool, bytes, int] | None:
    """The first complete frame in ``buf``.

    Returns:
        ``(opcode, fin, payload, consumed bytes)``, or None when ``buf`` holds no complete frame yet.

    Raises:
        ProtocolError: a frame larger than ``max_size`` or with reserved bits set.
    """
    if len(buf) < 2:
        return None
    b0, b1 = buf[0], buf[1]
    if b0 & 0x70:
        raise ProtocolError("reserved bits set (no extensions were negotiated)")
    n, pos = b1 & 0x7F, 2
    if n == 126:
        if len(buf) < 4:
            return None
        n, pos = struct.unpack_from(">H", buf, 2)[0], 4
    elif n == 127:
        if len(buf) < 10:
            return None
        n, pos = struct.unpack_from(">Q", buf, 2)[0], 10
    if n > max_size:
        raise ProtocolError(f"frame of {n} bytes is over the {max_size}-byte limit")
    key = None
    if b1 & 0x80:
        if len(buf) < pos + 4:
            return None
        key, pos = bytes(buf[pos:pos + 4]), pos + 4
    if len(buf) < pos + n:
        return None
    payload = bytes(buf[pos:pos + n])
    return b0 & 0x0F, bool(b0 & 0x80), _unmask(payload, key) if key else payload, pos + n


def _unmask(data: bytes, key: bytes) -> bytes:
    """XOR ``data`` with the repeating 4-byte ``key`` (masking is its own inverse)."""
    n = len(data)
    whole = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "little") ^ int.from_bytes(whole, "little")).to_bytes(n, "little")
