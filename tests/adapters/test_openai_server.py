"""The bundled OpenAI-compatible server over dhsdk's own LLM and TTS, spoken to with plain
HTTP (as curl or any OpenAI client would) and with dhsdk's adapters."""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

import dhsdk
from dhsdk.adapters.llm.local import LocalLLM
from dhsdk.adapters.llm.openai_compat import OpenAICompatLLM
from dhsdk.adapters.openai_server import OpenAIServer
from dhsdk.commerce.catalog import load_catalog

QUESTION = [{"role": "user", "content": "how much is the dress?"}]


@pytest.fixture(scope="module")
def server():
    catalog = load_catalog(Path(dhsdk.__file__).parent / "assets" / "commerce" / "sample_catalog.yaml")
    with OpenAIServer(LocalLLM(catalog)) as s:
        yield s


def post(url, body):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers.get("Content-Type"), r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type"), e.read()


def test_chat_streams_and_answers_whole(server):
    expected = "The silk summer dress is $19.99 today, down from $39.99."
    assert OpenAICompatLLM(server.url, model="local").chat(QUESTION) == expected
    code, kind, data = post(f"{server.url}/chat/completions", {"model": "local", "messages": QUESTION})
    assert (code, kind) == (200, "application/json")
    assert json.loads(data)["choices"][0]["message"]["content"] == expected


def test_speech_is_24khz_pcm16(server):
    code, kind, data = post(f"{server.url}/audio/speech", {"input": "Hello and welcome.", "response_format": "pcm"})
    assert (code, kind) == (200, "audio/pcm") and len(data) % 2 == 0
    assert 0.5 < len(data) / 2 / 24000 < 3.0


def test_unknown_paths_formats_and_bodies_are_client_errors(server):
    assert post(f"{server.url}/audio/speech", {"input": "hi", "response_format": "mp3"})[0] == 400
    assert post(f"{server.url}/embeddings", {"input": "hi"})[0] == 404
    req = urllib.request.Request(f"{server.url}/chat/completions", data=b"{not json", method="POST")
    with pytest.raises(urllib.error.HTTPError, match="400"):
        urllib.request.urlopen(req, timeout=10)


def test_tokens_per_s_paces_the_chat_stream():
    catalog = load_catalog(Path(dhsdk.__file__).parent / "assets" / "commerce" / "sample_catalog.yaml")
    with OpenAIServer(LocalLLM(catalog), tokens_per_s=40) as s:
        t0 = time.monotonic()
        pieces = list(OpenAICompatLLM(s.url, model="local").stream_chat(QUESTION))
        assert time.monotonic() - t0 >= len(pieces) / 40 - 0.05
