"""BrowserSink in real headless Chromium: the page connects, draws the frames it is sent (the
canvas follows a colour change), plays audio where autoplay is allowed (as in OBS) and keeps
drawing when muted. Chromium is driven over its DevTools WebSocket with the SDK's own framing."""
from __future__ import annotations

import base64
import json
import shutil
import socket
import struct
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from sink_helpers import clip, stop_process
from dhsdk.errors import InputError
from dhsdk.sinks import websocket as ws
from dhsdk.sinks.browser import BrowserSink, encode_message

RED, GREEN = (220, 30, 30), (30, 200, 60)
CENTRE = ("(() => { const c = document.getElementById('view');"
          " return [...c.getContext('2d').getImageData(c.width >> 1, c.height >> 1, 1, 1).data]; })()")


class Chromium:
    """Headless Chromium on ``url``, controlled through the DevTools protocol."""

    def __init__(self, url: str, profile: Path, autoplay: bool):
        exe = shutil.which("chromium") or shutil.which("chromium-browser")
        args = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--mute-audio",
                "--remote-debugging-port=0", f"--user-data-dir={profile}", "--window-size=320,240"]
        if autoplay:
            args.append("--autoplay-policy=no-user-gesture-required")
        self.proc = subprocess.Popen([*args, url], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 20
        while not (port_file.exists() and port_file.read_text().strip()):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("chromium did not open its DevTools port")
            time.sleep(0.05)
        port = int(port_file.read_text().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as r:
            page = next(t for t in json.load(r) if t["type"] == "page")
        path = page["webSocketDebuggerUrl"].split(f":{port}", 1)[1]
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sock.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {ws.client_key()}\r\n"
                           "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        self.buf = bytearray()
        while b"\r\n\r\n" not in self.buf:
            self.buf += self.sock.recv(4096)
        status, _, self.buf = bytes(self.buf).partition(b"\r\n\r\n")
        assert b" 101 " in status.split(b"\r\n")[0], status
        self.buf, self.next_id = bytearray(self.buf), 0

    def call(self, method: str, **params):
        self.next_id += 1
        self.sock.sendall(ws.encode(ws.TEXT, json.dumps({"id": self.next_id, "method": method, "params": params})
                                    .encode(), mask=True))
        message = b""
        while True:
            frame = ws.parse(self.buf, max_size=64 << 20)
            if frame is None:
                self.buf += self.sock.recv(1 << 16)
                continue
            _, fin, payload, used = frame
            del self.buf[:used]
            message += payload
            if not fin:
                continue
            reply, message = json.loads(message), b""
            if reply.get("id") == self.next_id:
                assert "error" not in reply, reply
                return reply["result"]

    def js(self, expression: str):
        return self.call("Runtime.evaluate", expression=expression, returnByValue=True)["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.js(expression)
            if value:
                return value
            time.sleep(0.05)
        raise AssertionError(f"page never satisfied {expression}: state {self.js('JSON.stringify(window.dhsdk)')}")

    def close(self) -> None:
        self.sock.close()
        stop_process(self.proc)


class Presenter(threading.Thread):
    """Writes 320x240 frames to ``sink`` at 25 fps in ``colour`` (switchable) until stopped."""

    def __init__(self, sink: BrowserSink):
        super().__init__(daemon=True)
        self.sink, self.colour, self.stop = sink, RED, threading.Event()
        self.start()

    def run(self) -> None:
        t0 = time.perf_counter()
        for f in clip(25 * 30, size=(320, 240)):
            if self.stop.is_set():
                return
            f.image[:] = self.colour
            self.sink.write(f)
            time.sleep(max(0.0, t0 + (f.index + 1) / 25 - time.perf_counter()))


def near(rgba, colour, tol=16) -> bool:
    return rgba is not None and all(abs(int(a) - b) <= tol for a, b in zip(rgba[:3], colour))


@pytest.fixture
def page(tmp_path):
    """A BrowserSink on a free port with a Presenter writing to it; yields (sink, presenter, open_browser)."""
    if not (shutil.which("chromium") or shutil.which("chromium-browser")):
        pytest.skip("needs Chromium (Debian chromium): bash scripts/install-system-deps.sh")
    sink = BrowserSink(port=0)
    browsers = []

    def open_browser(autoplay: bool) -> Chromium:
        browsers.append(Chromium(sink.url, tmp_path / f"profile{len(browsers)}", autoplay))
        return browsers[-1]

    presenter = Presenter(sink)
    yield sink, presenter, open_browser
    presenter.stop.set()
    presenter.join(5)
    for b in browsers:
        b.close()
    sink.close()


@pytest.mark.slow
def test_muted_page_draws_the_frames_and_follows_changes(page, tmp_path):
    sink, presenter, open_browser = page
    browser = open_browser(autoplay=False)          # a browser with no user gesture: no sound
    browser.wait_for("window.dhsdk && window.dhsdk.connected")
    assert sink.viewers == 1
    browser.wait_for("window.dhsdk.frames > 10")
    assert near(browser.js(CENTRE), RED)
    presenter.colour = GREEN
    browser.wait_for(f"(() => {{ const p = {CENTRE}; return Math.abs(p[1] - {GREEN[1]}) < 16; }})()", timeout=5)
    state = browser.js("window.dhsdk")
    assert state["frames"] > 10 and state["index"] > 10
    assert state["audio"] != "running" and state["audioChunks"] == 0   # muted, and still drawing
    assert browser.js("getComputedStyle(document.getElementById('sound')).display") == "block"
    browser.call("Emulation.setDeviceMetricsOverride", width=320, height=240, deviceScaleFactor=1, mobile=False)
    time.sleep(0.1)
    shot = tmp_path / "browser_sink.png"
    shot.write_bytes(base64.b64decode(browser.call("Page.captureScreenshot", format="png")["data"]))
    import cv2

    image = cv2.imread(str(shot))[..., ::-1]
    assert near(image[image.shape[0] // 2, image.shape[1] // 2], GREEN)
    assert sink.metrics.written > 10


@pytest.mark.slow
def test_page_with_autoplay_plays_the_audio_as_obs_would(page):
    sink, _, open_browser = page
    browser = open_browser(autoplay=True)           # what OBS's Browser Source allows
    browser.wait_for("window.dhsdk && window.dhsdk.audio === 'running' && window.dhsdk.audioChunks > 10")
    state = browser.js("window.dhsdk")
    assert state["frames"] > 5                      # drawn on the audio clock
    assert browser.js("getComputedStyle(document.getElementById('sound')).display") == "none"


def test_page_and_socket_over_plain_http(tmp_path):
    with BrowserSink(port=0) as sink:
        with urllib.request.urlopen(sink.url, timeout=5) as r:
            assert r.status == 200 and b"new WebSocket" in r.read()
        with pytest.raises(urllib.error.HTTPError, match="404"):
            urllib.request.urlopen(sink.url + "nope", timeout=5)
        # A hand-made WebSocket viewer receives the frame message, byte for byte.
        s = socket.create_connection(("127.0.0.1", sink.port), timeout=5)
        s.sendall(f"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  f"Sec-WebSocket-Key: {ws.client_key()}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            buf += s.recv(4096)
        assert b" 101 " in buf.split(b"\r\n")[0]
        buf = bytearray(buf.partition(b"\r\n\r\n")[2])
        deadline = time.monotonic() + 5
        while sink.viewers == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        frame = next(clip(1, marks=(0,)))
        frame.speaking = True
        sink.write(frame)
        got = None
        while got is None:
            got = ws.parse(buf, max_size=1 << 24)
            if got is None:
                buf += s.recv(65536)
        assert got[0] == ws.BINARY and got[2] == encode_message(frame, sink.quality)
        s.sendall(ws.encode(ws.CLOSE, b"\x03\xe8", mask=True))
        s.close()


def test_message_layout_matches_the_page():
    from dhsdk.sinks.browser_page import HEADER_BYTES

    assert struct.calcsize("<BBHIdII") == HEADER_BYTES
    frame = next(clip(1, marks=(0,)))
    message = encode_message(frame)
    version, flags, _, index, pts, rate, n = struct.unpack_from("<BBHIdII", message)
    assert (version, flags, index, pts, rate, n) == (1, 0, 0, 0.0, 16000, 640)
    pcm = np.frombuffer(message, "<i2", n, 24) / 32767
    assert np.abs(pcm - frame.audio).max() < 1e-4
    assert message[24 + 2 * n:24 + 2 * n + 2] == b"\xff\xd8"    # JPEG SOI


def test_a_port_in_use_is_a_clear_error():
    with BrowserSink(port=0) as first:
        with pytest.raises(InputError, match="another port"):
            BrowserSink(port=first.port)


@pytest.mark.parametrize("port", [99999, 65536, -1])
def test_a_port_out_of_range_is_a_clear_error_not_a_hang(port):
    with pytest.raises(InputError, match="out of range.*1-65535"):
        BrowserSink(port=port)


def test_a_host_that_cannot_be_served_is_a_clear_error_not_a_hang():
    with pytest.raises(InputError, match="cannot serve"):
        BrowserSink(port=0, host="256.1.1.1")
