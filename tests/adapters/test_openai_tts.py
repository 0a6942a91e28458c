"""The OpenAI-compatible TTS adapter against local servers that speak ``/v1/audio/speech``:
real espeak-ng speech sent as PCM, WAV or FLAC, streamed in small pieces, with errors,
hangs and early close."""
from __future__ import annotations

import time

import numpy as np
import pytest
from openai_fakes import FakeServer

from dhsdk.adapters.openai_server import OpenAIServer
from dhsdk.adapters.tts.base import TTSError
from dhsdk.adapters.tts.openai import OpenAITTS
from dhsdk.adapters.tts.pcm import Resampler
from dhsdk.errors import InputError

TEXT = "Only $19.99 today. Tap the cart below!"
SENTENCES = ["Only $19.99 today.", "Tap the cart below!"]


@pytest.fixture
def server(request):
    s = FakeServer(getattr(request, "param", []))
    yield s
    s.close()


def tts(url, **kw):
    return OpenAITTS(url, model="tts-test", voice="nova", api_key="sk-test", backoff=0.01, **kw)


def resampled(pcm24k: np.ndarray) -> np.ndarray:
    """What the server sent, at 16 kHz, resampled in one piece."""
    rs = Resampler(24000)
    return np.concatenate([rs.push(pcm24k.astype(np.float32)), rs.push(None)])


@pytest.mark.parametrize("fmt", ["pcm", "wav", "flac"])
def test_speech_arrives_as_16khz_chunks_per_sentence_in_order(server, fmt):
    server.script = ["flac", "flac"] if fmt == "flac" else []
    chunks = list(tts(server.url, response_format=fmt).synthesize_stream(TEXT))
    assert {c.sample_rate for c in chunks} == {16000}
    order = [SENTENCES.index(c.text) for c in chunks]
    assert order == sorted(order) and set(order) == {0, 1}  # every sentence, in order
    assert np.allclose([c.pts for c in chunks], np.cumsum([0] + [c.duration for c in chunks[:-1]]))
    for sentence in SENTENCES:
        got = np.concatenate([c.pcm for c in chunks if c.text == sentence])
        ref = resampled(server.sent[sentence])
        assert np.sqrt(np.mean(ref ** 2)) > 0.02  # real speech
        if fmt == "flac":  # decoded by FFmpeg whole, resampled its own way
            n = min(len(got), len(ref))
            assert abs(len(got) - len(ref)) <= 160 and np.corrcoef(got[:n], ref[:n])[0, 1] > 0.99
        else:  # pieces of odd byte counts split samples; none is lost or doubled, none clicks
            assert len(got) == len(ref) and np.allclose(got, ref, atol=2 / 32768)
    _, headers, body = server.requests[0]
    assert body == {"model": "tts-test", "input": SENTENCES[0], "voice": "nova", "response_format": fmt, "speed": 1.0}
    assert headers["Authorization"] == "Bearer sk-test"


@pytest.mark.parametrize("server", [["slow"]], indirect=True)
def test_audio_streams_while_the_server_is_still_sending(server):
    t0 = time.monotonic()
    stream = tts(server.url).synthesize_stream("Welcome to the live room.")
    first = next(stream)
    t_first = time.monotonic() - t0
    rest = list(stream)
    total = time.monotonic() - t0
    assert 0.1 <= first.duration < 0.3 and len(rest) >= 5
    assert t_first < 0.6 * total  # the server sends in real time; the first chunk did not wait for the end (slack: busy machines)


def test_the_bundled_openai_server_speaks_the_offline_voice():
    with OpenAIServer() as s:
        chunk = OpenAITTS(s.url, response_format="wav").synthesize("Hello and welcome.")
        assert s.requests[0][0] == "/v1/audio/speech"
    assert chunk.duration > 0.5 and np.sqrt(np.mean(chunk.pcm ** 2)) > 0.02


@pytest.mark.parametrize("server", [["500", "429"]], indirect=True)
def test_server_errors_are_retried(server):
    assert tts(server.url).synthesize("Hello there.").duration > 0.3
    assert len(server.requests) == 3


@pytest.mark.parametrize("server,match", [(["400"], "HTTP 400"), (["json"], "answered JSON"),
                                          (["hang"], "sent nothing")], indirect=["server"])
def test_failures_are_tts_errors_that_say_what_happened(server, match):
    with pytest.raises(TTSError, match=match):
        tts(server.url, read_timeout=0.5).synthesize("Hello there.")


@pytest.mark.parametrize("server", [["slow"]], indirect=True)
def test_closing_the_stream_early_closes_the_request(server):
    stream = tts(server.url).synthesize_stream("Welcome to the live room, everyone.")
    next(stream)
    stream.close()
    assert server.aborted.wait(2.0)


@pytest.mark.parametrize("kw,match", [({"response_format": "ogg"}, "response_format"), ({"speed": 9}, "speed"),
                                      ({"sample_rate": 0}, "sample_rate")])
def test_bad_settings_are_input_errors(kw, match):
    with pytest.raises(InputError, match=match):
        OpenAITTS("http://127.0.0.1:1/v1", **kw)
