"""The OpenAI-compatible LLM adapter against a local HTTP server that speaks the protocol:
streaming, retries with backoff, timeouts (a hung server, a stall mid-answer), broken
connections, and cancellation that is immediate even while the server is silent."""
from __future__ import annotations

import socket
import threading
import time

import pytest
from openai_fakes import PIECES, FakeServer

from dhsdk.adapters.llm.base import LLMError
from dhsdk.adapters.llm.openai_compat import OpenAICompatLLM
from dhsdk.errors import InputError

MESSAGES = [{"role": "user", "content": "how much is it?"}]
ANSWER = "".join(PIECES)


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
    assert pieces == PIECES
    path, headers, body = server.requests[0]
    assert path == "/v1/chat/completions"
    assert headers["Authorization"] == "Bearer sk-test"
    assert body["stream"] is True and body["model"] == "test-model" and body["messages"] == MESSAGES


@pytest.mark.parametrize("server", [["500", "429", "ok"]], indirect=True)
def test_retries_server_errors_before_the_first_piece(server):
    assert llm(server.url).chat(MESSAGES) == ANSWER
    assert len(server.requests) == 3


@pytest.mark.parametrize("server", [["500", "500", "500"]], indirect=True)
def test_retries_back_off_exponentially_then_give_up(server):
    t0 = time.monotonic()
    with pytest.raises(LLMError, match="HTTP 500"):
        OpenAICompatLLM(server.url, model="m", retries=2, backoff=0.1).chat(MESSAGES)
    assert len(server.requests) == 3
    assert time.monotonic() - t0 >= 0.1 + 0.2  # waited 0.1 s, then 0.2 s


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


@pytest.mark.parametrize("server", [["stall"]], indirect=True)
def test_a_stall_mid_answer_times_out_after_the_pieces_so_far(server):
    got = []
    t0 = time.monotonic()
    with pytest.raises(LLMError, match="sent nothing for 0.5 s mid-stream"):
        for piece in llm(server.url, read_timeout=0.5).stream_chat(MESSAGES):
            got.append(piece)
    assert got == PIECES[:2] and time.monotonic() - t0 < 2.5
    assert len(server.requests) == 1  # pieces were spoken already: no retry


@pytest.mark.parametrize("server", [["drop"]], indirect=True)
def test_a_connection_dropped_mid_answer_is_an_error(server):
    with pytest.raises(LLMError, match="broke mid-stream"):
        llm(server.url).chat(MESSAGES)


@pytest.mark.parametrize("server", [["error-event"]], indirect=True)
def test_an_error_event_mid_stream_is_an_error(server):
    with pytest.raises(LLMError, match="model crashed"):
        llm(server.url).chat(MESSAGES)


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


@pytest.mark.parametrize("server", [["stall"]], indirect=True)
def test_cancel_is_immediate_while_the_server_is_silent(server):
    """The superseded question's request is closed at once, not after the read timeout."""
    cancel = threading.Event()
    got = []
    stream = llm(server.url, read_timeout=10).stream_chat(MESSAGES, cancel=cancel)
    got.append(next(stream))
    got.append(next(stream))
    timer = threading.Timer(0.2, cancel.set)
    timer.start()
    t0 = time.monotonic()
    got += list(stream)  # blocked on the silent server until the cancel
    assert got == PIECES[:2]
    assert 0.15 < time.monotonic() - t0 < 4.0   # far below the 10 s read timeout, with room for a busy machine


@pytest.mark.parametrize("server", [["500"]], indirect=True)
def test_cancel_during_backoff_returns_without_retrying(server):
    cancel = threading.Event()
    threading.Timer(0.1, cancel.set).start()
    t0 = time.monotonic()
    assert list(OpenAICompatLLM(server.url, model="m", backoff=20.0).stream_chat(MESSAGES, cancel=cancel)) == []
    assert time.monotonic() - t0 < 5.0 and len(server.requests) == 1   # the backoff would be 20 s


def test_a_url_without_a_scheme_is_an_input_error():
    with pytest.raises(InputError, match="http://"):
        OpenAICompatLLM("127.0.0.1:8000/v1", model="m")
