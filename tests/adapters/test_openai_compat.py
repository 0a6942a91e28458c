"""The OpenAI-compatible LLM adapter against a local HTTP server that speaks the protocol."""
from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from dhsdk.adapters.llm.base import LLMError
from dhsdk.adapters.llm.openai_compat import OpenAICompatLLM

MESSAGES = [{"role": "user", "content": "how much is it?"}]


class FakeServer:
    """A chat-completions server whose behaviour per request is scripted by the test."""

    def __init__(self, script):
        self.script = list(script)  # one behaviour per request: "ok", "500", "429", "400", "hang", "slow"
        self.requests = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append((self.path, dict(self.headers), body))
                mode = outer.script.pop(0) if outer.script else "ok"
                if mode in ("500", "429", "400"):
                    data = b'{"error": "nope"}'
                    self.send_response(int(mode))
                    if mode == "429":
                        self.send_header("Retry-After", "0.05")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                if mode == "hang":
                    time.sleep(3)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                words = ["The ", "dress ", "is ", "$19.99", " today."] * (20 if mode == "slow" else 1)
                for w in words:
                    event = {"choices": [{"delta": {"content": w}, "index": 0}]}
                    self._chunk(f"data: {json.dumps(event)}\n\n".encode())
                    if mode == "slow":
                        time.sleep(0.05)
                self._chunk(b"data: [DONE]\n\n")
                self._chunk(b"")

            def _chunk(self, data: bytes):
                try:
                    self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *a):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(request):
    s = FakeServer(getattr(request, "param", []))
    yield s
    s.close()


def llm(url, **kw):
    return OpenAICompatLLM(url, model="test-model", api_key="sk-test", backoff=0.01, **kw)


@pytest.mark.parametrize("server", [["ok"]], indirect=True)
def test_streams_pieces_in_order_with_the_protocol_fields(server):
    pieces = list(llm(server.url).stream_chat(MESSAGES))
    assert "".join(pieces) == "The dress is $19.99 today."
    path, headers, body = server.requests[0]
    assert path == "/v1/chat/completions"
    assert headers["Authorization"] == "Bearer sk-test"
    assert body["stream"] is True and body["model"] == "test-model" and body["messages"] == MESSAGES


@pytest.mark.parametrize("server", [["500", "429", "ok"]], indirect=True)
def test_retries_server_errors_before_the_first_piece(server):
    assert llm(server.url).chat(MESSAGES) == "The dress is $19.99 today."
    assert len(server.requests) == 3


@pytest.mark.parametrize("server", [["400"]], indirect=True)
def test_client_errors_are_not_retried(server):
    with pytest.raises(LLMError, match="HTTP 400"):
        llm(server.url).chat(MESSAGES)
    assert len(server.requests) == 1


@pytest.mark.parametrize("server", [["hang"]], indirect=True)
def test_a_hung_server_times_out_with_a_clear_error(server):
    t0 = time.monotonic()
    with pytest.raises(LLMError, match="sent nothing"):
        llm(server.url, read_timeout=0.5).chat(MESSAGES)
    assert time.monotonic() - t0 < 2.5


def test_an_absent_server_is_retried_then_named():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(LLMError, match="cannot reach .* after 3 attempts"):
        llm(f"http://127.0.0.1:{port}/v1", retries=2).chat(MESSAGES)


@pytest.mark.parametrize("server", [["slow"]], indirect=True)
def test_cancel_stops_the_stream_early(server):
    cancel = threading.Event()
    got = []
    for piece in llm(server.url).stream_chat(MESSAGES, cancel=cancel):
        got.append(piece)
        if len(got) == 3:
            cancel.set()
    assert len(got) == 3
