"""A local HTTP server speaking the OpenAI protocol (chat completions and audio speech) whose
behaviour per request is scripted by the test: normal, HTTP errors, hangs, stalls, drops.

Chat answers stream fixed pieces; speech is real espeak-ng audio sent as 24 kHz PCM16 (or a
WAV stream, or FLAC), in small pieces over chunked transfer encoding.
"""
from __future__ import annotations

import io
import json
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np

PIECES = ["The ", "dress ", "is ", "$19.99", " today."]
PCM_RATE = 24000
MODES = {"ok", "slow", "stall", "drop", "error-event", "hang", "json", "flac", "400", "429", "500"}


def espeak_24k(text: str) -> np.ndarray:
    """Real speech for ``text`` at 24 kHz float32 (what a hosted TTS would send)."""
    from dhsdk.adapters.tts.espeak import EspeakTTS
    from dhsdk.adapters.tts.pcm import Resampler

    chunk = EspeakTTS("en-us").synthesize(text)
    rs = Resampler(chunk.sample_rate, PCM_RATE)
    return np.concatenate([rs.push(chunk.pcm), rs.push(None)])


def flac_bytes(pcm: np.ndarray, rate: int) -> bytes:
    import av

    buf = io.BytesIO()
    with av.open(buf, "w", format="flac") as out:
        stream = out.add_stream("flac", rate=rate, layout="mono")
        frame = av.AudioFrame.from_ndarray((np.clip(pcm, -1, 1) * 32767).astype(np.int16)[None], format="s16",
                                           layout="mono")
        frame.sample_rate = rate
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            out.mux(packet)
    return buf.getvalue()


class FakeServer:
    """Args: script: one mode per request (see MODES); "ok" once the script is used up."""

    def __init__(self, script=()):
        self.script = list(script)
        assert set(self.script) <= MODES, self.script
        self.requests = []  # (path, headers, body)
        self.sent = {}  # speech input text -> the float32 24 kHz audio sent for it
        self.aborted = threading.Event()  # a client hung up while we were still sending
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append((self.path, dict(self.headers), body))
                mode = outer.script.pop(0) if outer.script else "ok"
                if mode in ("500", "429", "400") or mode == "json":
                    data = b'{"error": {"message": "nope"}}'
                    self.send_response(200 if mode == "json" else int(mode))
                    if mode == "429":
                        self.send_header("Retry-After", "0.05")
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                if mode == "hang":
                    time.sleep(3)
                    return
                speech = self.path.endswith("/audio/speech")
                if speech and mode == "flac":
                    outer.sent[body["input"]] = espeak_24k(body["input"])
                    data = flac_bytes(outer.sent[body["input"]], PCM_RATE)
                    self.send_response(200)
                    self.send_header("Content-Type", "audio/flac")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "audio/pcm" if speech else "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                parts = self._speech(body) if speech else self._chat(mode)
                for i, data in enumerate(parts):
                    if mode in ("stall", "drop") and i == 2:
                        if mode == "stall":
                            time.sleep(3)
                        self.close_connection = True  # close without finishing the chunked body
                        return
                    if not self._chunk(data):
                        outer.aborted.set()
                        return
                    if mode in ("slow", "stall"):
                        time.sleep(0.05)
                self._chunk(b"")

            def _chat(self, mode):
                words = PIECES * (20 if mode == "slow" else 1)
                for k, w in enumerate(words):
                    if mode == "error-event" and k == 2:
                        yield b'data: {"error": {"message": "model crashed"}}\n\n'
                    yield f"data: {json.dumps({'choices': [{'delta': {'content': w}, 'index': 0}]})}\n\n".encode()
                yield b"data: [DONE]\n\n"

            def _speech(self, body):
                outer.sent[body["input"]] = np.clip(espeak_24k(body["input"]), -1, 1)
                pcm = (outer.sent[body["input"]] * 32767).astype("<i2").tobytes()
                if body.get("response_format") == "wav":
                    yield (b"RIFF" + struct.pack("<I", 0xFFFFFFFF) + b"WAVE" + b"fmt " +
                           struct.pack("<IHHIIHH", 16, 1, 1, PCM_RATE, 2 * PCM_RATE, 2, 16) + b"LIST" +
                           struct.pack("<I", 4) + b"INFO" + b"data" + struct.pack("<I", 0xFFFFFFFF))
                step = 2401  # odd byte count: pieces split samples
                for a in range(0, len(pcm), step):
                    yield pcm[a:a + step]

            def _chunk(self, data: bytes) -> bool:
                try:
                    self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                    self.wfile.flush()
                    return True
                except (BrokenPipeError, ConnectionResetError):
                    return False

            def log_message(self, *a):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
