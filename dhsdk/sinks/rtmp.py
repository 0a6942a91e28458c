"""``RtmpSink``: push FLV (H.264 + AAC) to an RTMP ingest without ever blocking the stream.

``write`` only checks the frame and puts it on a bounded queue (:mod:`dhsdk.sinks.worker`:
the oldest frame is dropped when full, so latency stays bounded); a worker thread encodes with
the shared encoder (:class:`~dhsdk.sinks.encoder.AvEncoder`: x264 ultrafast/zerolatency, or NVENC
with ``encoder=``; a keyframe every second so viewers can join at any time) and sends. When the
server goes away the worker drops frames, counted, and reconnects with exponential backoff
capped at half a second, so viewers get frames again within a second of the server's return;
each new connection starts a fresh FLV stream (timestamps from 0, a keyframe first), which
ingests accept as the same publisher coming back.

FFmpeg opens an RTMP connection holding Python's GIL and without a timeout, so a host or a
server that does not answer would freeze the whole process (signals included); each attempt
therefore first probes the server from Python with ``connect_timeout`` (GIL released): a TCP
connection and, for ``rtmp://``, the first leg of the RTMP handshake (C0+C1 out, S0+S1 back).
Only a server that answers is handed to FFmpeg.
"""
from __future__ import annotations

import logging
import os
import socket
import time
from urllib.parse import urlsplit

from dhsdk.errors import InputError
from dhsdk.frames import VideoFrame
from dhsdk.sinks.base import Sink
from dhsdk.sinks.encoder import LIVE, AvEncoder, FixedFormat, H264Settings, encoder_class
from dhsdk.sinks.worker import FrameWorker

log = logging.getLogger(__name__)


def redact(url: str) -> str:
    """``url`` with its stream key (the last path element) hidden, for logs and errors."""
    head, _, key = url.rpartition("/")
    return f"{head}/****" if key and head.count("/") >= 3 else url


def check_url(url: str) -> str:
    """Raise InputError unless ``url`` looks like ``rtmp[s]://host[:port]/app/key``."""
    parts = urlsplit(url)
    if parts.scheme not in ("rtmp", "rtmps") or not parts.hostname or parts.path.count("/") < 2:
        raise InputError(f"{redact(url)!r} is not an RTMP ingest URL: use rtmp://HOST[:PORT]/APP/STREAM_KEY "
                         f"(e.g. rtmp://127.0.0.1:1935/live/demo)")
    return url


_HANDSHAKE = 1536   # bytes of C1/S1 (RTMP 1.0, 5.2)


def probe(address: tuple[str, int], timeout: float, handshake: bool = True) -> None:
    """Check that an RTMP server answers at ``address`` within ``timeout`` seconds.

    Args:
        address: (host, port).
        timeout: seconds for the connection and for each read.
        handshake: also send C0+C1 and wait for S0+S1 (plain ``rtmp://`` only: ``rtmps://``
            speaks TLS first).

    Raises:
        OSError: refused, unreachable, timed out, or an answer that is not RTMP.
    """
    with socket.create_connection(address, timeout=timeout) as conn:
        if not handshake:
            return
        conn.sendall(b"\x03" + bytes(8) + os.urandom(_HANDSHAKE - 8))
        got = b""
        while len(got) < 1 + _HANDSHAKE:
            chunk = conn.recv(1 + _HANDSHAKE - len(got))
            if not chunk:
                raise ConnectionResetError("the server closed the connection during the RTMP handshake")
            got += chunk
        if got[0] != 3:
            raise ConnectionError(f"the server at {address[0]}:{address[1]} does not speak RTMP")


class RtmpSink(Sink):
    """Publish frames to an RTMP server.

    Args:
        url: ``rtmp://host[:port]/app/stream_key`` (or ``rtmps://``).
        fps: frame rate; inferred from the first frame's audio length when None.
        settings: encoder settings (default :data:`dhsdk.sinks.encoder.LIVE`).
        max_queue: frames buffered between ``write`` and the encoder (at 25 fps, 16 = 0.64 s).
        backoff: (first, longest) seconds between reconnection attempts; doubles per failure.
        encoder: ``"auto"`` (NVENC where it can run, else libx264), ``"x264"`` or ``"nvenc"``
            (see :func:`dhsdk.sinks.encoder.encoder_class`; checked here, on the caller's thread).
        connect_timeout: seconds a connection attempt may wait for the server's host to answer.

    Frames are encoded after ``write`` returns: do not modify a frame's arrays once written.
    ``metrics``: ``written`` frames sent, ``dropped`` frames lost (queue full, server away),
    ``reconnects`` connections re-established after a loss, ``outage_s`` seconds without a
    connection while frames came (from the first attempt when it never connected);
    ``connected`` and ``last_error`` tell the current state.
    """

    def __init__(self, url: str, fps: float | None = None, settings: H264Settings = LIVE, max_queue: int = 16,
                 backoff: tuple[float, float] = (0.1, 0.5), encoder: str = "auto", connect_timeout: float = 3.0):
        super().__init__()
        self.url = check_url(url)
        parts = urlsplit(url)
        self._address = (parts.hostname, parts.port or (443 if parts.scheme == "rtmps" else 1935))
        self._encoder_class = encoder_class(encoder)
        self.settings = settings
        self.backoff = backoff
        self.connect_timeout = connect_timeout
        self.connected = False
        self._format = FixedFormat(fps)
        self._encoder: AvEncoder | None = None   # worker thread only, like the fields below
        self._delay, self._retry_at, self._ever_connected = backoff[0], 0.0, False
        self._worker = FrameWorker(self._send, self.metrics, max_queue, "dhsdk-rtmp", finish=self._finish,
                                   on_failure=self.fail)

    def __repr__(self) -> str:
        return f"RtmpSink({redact(self.url)!r}, connected={self.connected})"

    def __str__(self) -> str:
        return redact(self.url)

    def _write(self, frame: VideoFrame) -> None:
        self._format.check(frame)   # bad frames raise here, on the caller's thread
        self._worker.submit(frame)

    def _close(self) -> None:
        """Send what is queued, finish the FLV stream and join the worker (at most 10 s)."""
        if not self._worker.close(timeout=10.0):
            log.warning("%r: the worker did not finish within 10 s (server not reading?)", self)

    # ---- worker thread ----------------------------------------------------------------
    def _send(self, frame: VideoFrame) -> None:
        if self._encoder is None:
            if time.monotonic() < self._retry_at:
                self.metrics.count("dropped")
                return
            try:  # a server that does not answer fails here, with the GIL released, not inside FFmpeg
                probe(self._address, self.connect_timeout, handshake=self.url.startswith("rtmp://"))
            except OSError as e:
                self._lost(e)
                return
            self._encoder = self._encoder_class(self.url, "flv", self.settings, fps=self._format.fps,
                                                container_options={"flvflags": "no_duration_filesize"})
        try:
            self._encoder.encode(frame)
        except Exception as e:  # noqa: BLE001  (any failure to send: the server or network is gone)
            self._lost(e)
            return
        if not self.connected:
            if self._ever_connected:
                self.metrics.count("reconnects")
                log.warning("%r: reconnected", self)
            self.metrics.up()
            self.connected, self._ever_connected, self._delay = True, True, self.backoff[0]
        self.metrics.count("written")

    def _lost(self, e: Exception) -> None:
        if self._encoder is not None:
            self._encoder.abort()
            self._encoder = None
        self.metrics.down()
        self.metrics.count("dropped")
        error = f"{type(e).__name__}: {e}".replace(self.url, redact(self.url))
        first = self.connected or self.last_error is None   # repeated failures go to debug
        log.log(logging.WARNING if first else logging.DEBUG, "%r: cannot send (%s); retrying in %.2f s",
                self, error, self._delay)
        self.connected, self.last_error = False, error
        self._retry_at = time.monotonic() + self._delay
        self._delay = min(self._delay * 2, self.backoff[1])

    def _finish(self) -> None:
        if self._encoder is not None:
            try:
                self._encoder.close()
            except Exception as e:  # noqa: BLE001  (the stream is over either way)
                log.warning("%r: could not finish the stream cleanly (%s)", self, e)
            self._encoder = None
        self.connected = False
