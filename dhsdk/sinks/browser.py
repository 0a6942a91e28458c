"""``BrowserSink``: a web page showing the presenter live, for an OBS Browser Source or any browser.

A small asyncio HTTP server on its own thread serves the page (:mod:`dhsdk.sinks.browser_page`)
at ``/`` and pushes every frame, as a JPEG with its PCM, over a WebSocket at ``/ws``
(:mod:`dhsdk.sinks.websocket`). ``write`` never waits: frames are JPEG-encoded on a worker
thread (:mod:`dhsdk.sinks.worker`) and only while someone is watching; each viewer has a
small queue of its own, so a slow viewer loses frames (counted) without slowing the others.
"""
from __future__ import annotations

import asyncio
import struct
import threading

import numpy as np

from dhsdk.errors import InputError
from dhsdk.frames import VideoFrame
from dhsdk.sinks import websocket as ws
from dhsdk.sinks.base import Sink
from dhsdk.sinks.browser_page import PAGE, PROTOCOL_VERSION
from dhsdk.sinks.worker import FrameWorker

_HEADER = struct.Struct("<BBHIdII")  # HEADER_BYTES (24) bytes: the table in dhsdk.sinks.browser_page


def encode_message(frame: VideoFrame, quality: int = 80) -> bytes:
    """One frame as the page's binary message (layout in :mod:`dhsdk.sinks.browser_page`).

    Args:
        frame: image (H, W, 3) uint8 RGB; audio (n,) float32 mono in [-1, 1].
        quality: JPEG quality, 1-100.
    """
    import cv2

    ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(frame.image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise InputError(f"frame {frame.index} could not be JPEG-encoded")
    pcm = (np.clip(frame.audio, -1.0, 1.0) * 32767).astype("<i2")
    head = _HEADER.pack(PROTOCOL_VERSION, 1 if frame.speaking else 0, 0, frame.index & 0xFFFFFFFF, float(frame.pts),
                        int(frame.sample_rate), len(pcm))
    return head + pcm.tobytes() + jpeg.tobytes()


class _Viewer:
    """One connected page: its socket and its own bounded queue of messages."""

    def __init__(self, writer: asyncio.StreamWriter, size: int):
        self.writer = writer
        self.queue: asyncio.Queue = asyncio.Queue(maxsize=size)


class BrowserSink(Sink):
    """Serve the presenter page on ``http://host:port/``.

    Args:
        port: TCP port (0 picks a free one; see :attr:`port`).
        host: address to listen on; ``127.0.0.1`` keeps it on this machine, ``0.0.0.0``
            serves the local network.
        quality: JPEG quality, 1-100.
        max_queue: frames waiting for the JPEG encoder.
        viewer_queue: messages waiting per viewer before its frames are dropped.

    Raises:
        InputError: the address is unusable (port out of range or in use, bad host).
    """

    def __init__(self, port: int = 8080, host: str = "127.0.0.1", quality: int = 80, max_queue: int = 4,
                 viewer_queue: int = 8):
        super().__init__()
        if not 1 <= quality <= 100:
            raise InputError(f"JPEG quality must be 1-100, got {quality}")
        if not 0 <= port <= 65535:
            raise InputError(f"port {port} is out of range: TCP ports are 1-65535 (0 picks a free one), "
                             f"e.g. --sink browser:8080")
        self.host, self.quality, self._viewer_queue = host, quality, viewer_queue
        self._viewers: set[_Viewer] = set()
        self._loop = asyncio.new_event_loop()
        started, failure = threading.Event(), []
        self._thread = threading.Thread(target=self._serve, args=(port, started, failure), name="dhsdk-browser",
                                        daemon=True)
        self._thread.start()
        started.wait()
        if failure:
            raise InputError(f"cannot serve the browser page on {host}:{port}: {failure[0]} "
                             f"(choose another port, e.g. --sink browser:8081)") from None
        self._worker = FrameWorker(self._encode, self.metrics, max_queue, "dhsdk-browser-jpeg", on_failure=self.fail)

    def __str__(self) -> str:
        return f"browser:{self.port}"

    @property
    def url(self) -> str:
        """The page's address."""
        return f"http://{self.host}:{self.port}/"

    @property
    def viewers(self) -> int:
        """Pages connected right now."""
        return len(self._viewers)

    # ---- caller's and encoder's threads -----------------------------------------------
    def _write(self, frame: VideoFrame) -> None:
        if self._viewers:          # nobody watching: nothing to encode
            self._worker.submit(frame)

    def _encode(self, frame: VideoFrame) -> None:
        message = ws.encode(ws.BINARY, encode_message(frame, self.quality))
        self._loop.call_soon_threadsafe(self._broadcast, message)

    def _close(self) -> None:
        self._worker.close(timeout=5.0)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5.0)

    # ---- the server's event loop ------------------------------------------------------
    def _broadcast(self, message: bytes) -> None:
        sent = False
        for viewer in self._viewers:
            if viewer.queue.full():
                self.metrics.count("dropped")
            else:
                viewer.queue.put_nowait(message)
                sent = True
        if sent:
            self.metrics.count("written")

    def _serve(self, port: int, started: threading.Event, failure: list) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            server = self._loop.run_until_complete(asyncio.start_server(self._handle, self.host, port))
        except Exception as e:  # noqa: BLE001  (raised as InputError on the caller's thread)
            failure.append(e)
            started.set()
            self._loop.close()
            return
        self.port = server.sockets[0].getsockname()[1]
        started.set()
        try:
            self._loop.run_forever()
        except Exception as e:  # noqa: BLE001  (raised to the caller by the next write)
            self.fail(f"its server stopped: {type(e).__name__}: {e}")
        server.close()
        for viewer in list(self._viewers):
            viewer.writer.close()
        tasks = [t for t in asyncio.all_tasks(self._loop) if not t.done()]
        for t in tasks:
            t.cancel()
        self._loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
        self._loop.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10.0)
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = (lines[0].split(" ", 2) + ["", ""])[:3]
            headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
            path = target.split("?", 1)[0]
            if method != "GET":
                await _respond(writer, "405 Method Not Allowed", b"GET only\n")
            elif path == "/ws" and "websocket" in headers.get("upgrade", "").lower():
                await self._websocket(reader, writer, headers)
            elif path in ("/", "/index.html"):
                await _respond(writer, "200 OK", PAGE.encode(), "text/html; charset=utf-8")
            else:
                await _respond(writer, "404 Not Found", b"the presenter page is at /\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.TimeoutError, ConnectionError,
                ws.ProtocolError):
            pass
        finally:
            writer.close()

    async def _websocket(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                         headers: dict[str, str]) -> None:
        key = headers.get("sec-websocket-key")
        if not key:
            await _respond(writer, "400 Bad Request", b"missing Sec-WebSocket-Key\n")
            return
        writer.write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      f"Sec-WebSocket-Accept: {ws.accept_key(key)}\r\n\r\n").encode())
        await writer.drain()
        viewer = _Viewer(writer, self._viewer_queue)
        self._viewers.add(viewer)
        sender = asyncio.ensure_future(self._send_to(viewer))
        try:
            await _read_until_close(reader, writer)
        finally:
            self._viewers.discard(viewer)
            sender.cancel()

    @staticmethod
    async def _send_to(viewer: _Viewer) -> None:
        while True:
            viewer.writer.write(await viewer.queue.get())
            await viewer.writer.drain()


async def _read_until_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Serve a viewer's control frames (ping, close) until it leaves; data it sends is ignored."""
    buf = bytearray()
    while True:
        chunk = await reader.read(65536)
        if not chunk:
            return
        buf += chunk
        while (frame := ws.parse(buf)) is not None:
            opcode, _, payload, used = frame
            del buf[:used]
            if opcode == ws.PING:
                writer.write(ws.encode(ws.PONG, payload))
            elif opcode == ws.CLOSE:
                writer.write(ws.encode(ws.CLOSE, payload[:2]))
                await writer.drain()
                return


async def _respond(writer: asyncio.StreamWriter, status: str, body: bytes, kind: str = "text/plain") -> None:
    writer.write((f"HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {len(body)}\r\n"
                  "Cache-Control: no-store\r\nConnection: close\r\n\r\n").encode() + body)
    await writer.drain()
