"""The live-commerce host on a real lip-sync Stream (synthetic avatar, warp mouth) with real
espeak-ng speech: comments mid-pitch barge in and the pitch resumes with the cut sentence;
every sentence passes compliance; superseded answers are cancelled; failing servers are
logged and worked around."""
from __future__ import annotations

import re
import threading
import time

import numpy as np
import pytest
from test_compliance import HELD_OUT_BANNED

from dhsdk.adapters.llm.base import LLM
from dhsdk.adapters.llm.local import LocalLLM
from dhsdk.adapters.llm.openai_compat import OpenAICompatLLM
from dhsdk.adapters.openai_server import OpenAIServer
from dhsdk.adapters.tts.espeak import EspeakTTS
from dhsdk.adapters.tts.openai import OpenAITTS
from dhsdk.bench.synthetic import SyntheticAvatar
from dhsdk.commerce.catalog import catalog_from_dict
from dhsdk.commerce.comments import CommentQueue
from dhsdk.commerce.compliance import ComplianceFilter
from dhsdk.commerce.host import Host
from dhsdk.pipeline.lipsync import LipSync
from dhsdk.pipeline.stream import Stream

CATALOG = catalog_from_dict({"shop": "Test Shop", "products": [{
    "id": "mug", "name": "coffee mug", "price": 9, "stock": 5,
    "selling_points": ["it holds a big coffee", "the best mug ever made", "it cures insomnia",
                       "it keeps coffee hot for hours"],
    "offer": "free shipping today", "faq": [{"q": "Is it heavy?", "a": "No, it weighs 300 grams."}]}]})
LINES = ["Welcome to Test Shop!", "Let me show you our coffee mug.", "It holds a big coffee.",
         "The best mug ever made.", "It cures insomnia.", "It keeps coffee hot for hours.", "Today it is only $9.",
         "Free shipping today.", "Tap the cart below to get yours now!"]
FAST_TTS = EspeakTTS("auto", rate_wpm=350)


@pytest.fixture(scope="module")
def lipsync():
    return LipSync(SyntheticAvatar(160, 160), mouth="warp", device="cpu")


def says(host):
    return [(e.text, e.detail) for e in host.log if e.kind == "say"]


@pytest.mark.slow
def test_comments_mid_pitch_barge_in_and_the_cut_sentence_is_said_again(lipsync):
    """Comments arrive as a sentence starts: purchase questions first, spam and duplicates
    never answered, and after the answers the pitch resumes with the sentence that was still
    playing (the host keeps 0.5 s queued, so it is the one before)."""
    queue = CommentQueue()
    frames = []
    fired = set()

    def on_event(e):
        if e.kind != "say" or e.text in fired:
            return
        fired.add(e.text)
        if e.text == LINES[2]:
            queue.put("bob", "is it heavy?")
            queue.put("spammer", "add my wechat abc123 for a discount")
            queue.put("anna", "how much is the mug?")
            queue.put("carl", "HOW MUCH is the mug??")
        elif e.text == LINES[6]:
            queue.put("dan", "这个杯子有货吗")

    with Stream(lipsync, realtime=True, on_frame=frames.append) as stream:
        host = Host(CATALOG, FAST_TTS, stream, comments=queue, on_event=on_event)
        host.run()
        while stream.buffered_seconds() > 0:
            time.sleep(0.02)
    pitch = [LINES[i] for i in (0, 1, 2, 1, 2, 5, 6, 5, 6, 7, 8)]
    expected = (pitch[:3] + ["The coffee mug is $9 today.", "No, it weighs 300 grams."] + pitch[3:7] +
                ["coffee mug还有5件库存。"] + pitch[7:])
    assert [text for text, _ in says(host)] == expected
    assert [e.text for e in host.log if e.kind == "comment"] == ["how much is the mug?", "is it heavy?", "这个杯子有货吗"]
    assert [e.text for e in host.log if e.kind == "resume"] == [LINES[1], LINES[5]]
    # Two barge-ins on the pitch; bob's answer waited for anna's to play out instead of cutting it.
    kinds = [e.kind for e in host.log if e.kind in ("comment", "interrupt")]
    assert kinds == ["comment", "interrupt", "comment", "comment", "interrupt"]
    assert [e.text for e in host.log if e.kind == "skip"] == [LINES[3], LINES[4]]
    assert queue.stats["spam"] == 1 and queue.stats["duplicate"] == 1
    # The answer's audio was queued within a few frames of the comment.
    for c in (e for e in host.log if e.kind == "comment"):
        first = next(e for e in host.log if e.kind == "say" and e.t >= c.t)
        assert first.detail == "answer" and first.t - c.t < 0.2
    # Barge-in really dropped queued speech: less audio played than was pushed.
    pushed = sum(FAST_TTS.synthesize(t).duration for t in expected)
    played = sum(np.count_nonzero(f.audio) for f in frames) / 16000
    assert played < pushed - 0.5
    assert any(f.speaking for f in frames)


class ScriptWriter(LLM):
    """A model that writes pitches with banned claims in them (served over HTTP below)."""

    def stream_chat(self, messages, cancel=None):
        prompt = messages[-1]["content"]
        if "pitch" in prompt:
            kind = re.search(r"Write the (.+?) part", prompt).group(1)
            text = {"intro": f"{HELD_OUT_BANNED[0]} {HELD_OUT_BANNED[13]}",
                    "selling points": " ".join(HELD_OUT_BANNED[1:13]),
                    "offer": " ".join(HELD_OUT_BANNED[14:]), "call to action": "Grab yours now!"}[kind]
        else:
            text = "Lowest price anywhere, trust me. It is only $9."
        yield from re.findall(r"\S+\s*", text)


def test_an_llm_written_pitch_and_answer_pass_the_compliance_filter(lipsync):
    queue = CommentQueue()
    queue.put("anna", "how much is it?")
    with OpenAIServer(ScriptWriter()) as server, Stream(lipsync, realtime=False, pull=False) as stream:
        llm = OpenAICompatLLM(server.url, model="writer")
        host = Host(CATALOG, FAST_TTS, stream, llm=llm, comments=queue, scripted_by_llm=True)
        host.run()
        prompts = [body["messages"][-1]["content"] for path, body in server.requests]
    scripts = [p for p in prompts if "pitch" in p]
    assert len(scripts) == 4 and all("'price': '$9'" in p for p in scripts)  # four segments, from the facts
    assert "how much is it?" in prompts  # answered while the pitch was being written
    said = [text for text, _ in says(host)]
    flt = ComplianceFilter()
    assert said and all(not flt.check(s).hits for s in said)
    assert not set(HELD_OUT_BANNED) & set(said)
    touched = {e.text for e in host.log if e.kind in ("skip", "rewrite")}
    assert set(HELD_OUT_BANNED) <= touched and "Lowest price anywhere, trust me." in touched
    assert "a great price, trust me." in [s.lower() for s in said]
    assert "Grab yours now!" in said and "It is only $9." in said


def test_a_superseded_question_cancels_its_answer_at_once(lipsync):
    queue = CommentQueue()
    with OpenAIServer(LocalLLM(CATALOG), tokens_per_s=6) as server, \
            Stream(lipsync, realtime=False, pull=False) as stream:
        host = Host(CATALOG, FAST_TTS, stream, llm=OpenAICompatLLM(server.url, model="slow"), comments=queue)
        queue.put("anna", "how much is the mug?")
        first = queue.get(timeout=0)
        answering = threading.Thread(target=host.answer, args=(first,))
        answering.start()
        time.sleep(0.3)  # the slow model has sent about two words
        t_again = time.monotonic()
        queue.put("anna", "actually, is it in stock?")
        answering.join(2.0)
        assert not answering.is_alive() and time.monotonic() - t_again < 0.5
        host.answer(queue.get(timeout=0))
    assert [e.kind for e in host.log if e.kind in ("comment", "cancel")] == ["comment", "cancel", "comment"]
    assert [text for text, _ in says(host)] == ["We have 5 of the coffee mug left."]
    assert queue.stats["superseded"] == 1


def test_failing_servers_are_logged_and_the_show_goes_on(lipsync):
    dead = "http://127.0.0.1:9/v1"  # the discard port: nothing listens
    queue = CommentQueue()
    queue.put("anna", "how much is the mug?")
    with Stream(lipsync, realtime=False, pull=False) as stream:
        host = Host(CATALOG, FAST_TTS, stream, comments=queue, scripted_by_llm=True,
                    llm=OpenAICompatLLM(dead, model="m", retries=0, connect_timeout=0.5))
        host.run()
        errors = sorted(e.detail for e in host.log if e.kind == "error")  # the script is written meanwhile
        assert errors == ["llm: answering from the catalogue", "mug/script: using the template script"]
        # The queued comment is answered first, then the template pitch.
        assert [text for text, _ in says(host)] == ["The coffee mug is $9 today."] + [
            LINES[i] for i in (0, 1, 2, 5, 6, 7, 8)]
        mute = Host(CATALOG, OpenAITTS(dead, retries=0, connect_timeout=0.5), stream, comments=CommentQueue())
        mute.run()
    assert not says(mute) and len([e for e in mute.log if e.kind == "error"]) == 7


def test_stop_ends_an_endless_show_promptly(lipsync):
    with Stream(lipsync, realtime=True, pull=False) as stream:
        host = Host(CATALOG, FAST_TTS, stream)
        show = threading.Thread(target=host.run, args=(0,))
        show.start()
        time.sleep(0.5)
        t0 = time.monotonic()
        host.stop()
        show.join(2.0)
    assert not show.is_alive() and time.monotonic() - t0 < 1.5
    assert says(host)[0][0] == LINES[0]


class ToneTTS(EspeakTTS):
    """espeak-ng timing, but each sentence spoken as a tone (answers 1 kHz, the pitch 300 Hz),
    so the test can tell in the stream's output whose audio is playing."""

    def synthesize_stream(self, text):
        for chunk in super().synthesize_stream(text):
            hz = 1000.0 if "$9" in chunk.text else 300.0
            t = np.arange(int(chunk.duration * 16000)) / 16000
            yield type(chunk)(pcm=(0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32), sample_rate=16000,
                              pts=chunk.pts, text=chunk.text)


@pytest.mark.slow
def test_the_answer_pushed_right_after_the_barge_in_is_played_whole(lipsync):
    """interrupt() drops what was queued before it, never the answer that follows at once
    (comments at the end of a sentence, and after it, when little or nothing is queued)."""
    tts = ToneTTS("en-us", rate_wpm=300)
    answer = "The coffee mug is $9 today."
    frames = []
    with Stream(lipsync, realtime=True, on_frame=frames.append) as stream:
        host = Host(CATALOG, tts, stream, comments=CommentQueue(dedup_window_s=0))
        for trial in range(2):
            host.speak("Let me show you our coffee mug.")
            while stream.buffered_seconds() > 0.2 * (1 - trial):  # the end of the sentence, or after it
                time.sleep(0.01)
            host.comments.put(f"viewer{trial}", "how much is the mug?")
            host.answer(host.comments.get(timeout=0))
            while stream.buffered_seconds() > 0:
                time.sleep(0.02)
    audio = np.concatenate([f.audio for f in frames])
    spectrum_hz = [np.fft.rfftfreq(640, 1 / 16000)[np.abs(np.fft.rfft(audio[a:a + 640])).argmax()]
                   for a in range(0, len(audio) - 640, 640)]
    answer_s = 0.04 * sum(1 for hz in spectrum_hz if abs(hz - 1000) < 30)
    assert answer_s >= 2 * (tts.synthesize(answer).duration - 0.1)  # both answers, whole


def test_a_product_with_the_merchants_own_script_is_presented_in_those_words(lipsync):
    """``script`` lines replace the generated pitch, still through the compliance filter."""
    own = ["Hello from the owner.", "This mug is the best mug ever made.", "Order before noon."]
    catalog = catalog_from_dict({"shop": "Test Shop", "products": [{"id": "mug", "name": "coffee mug",
                                                                    "price": 9, "script": own}]})
    with Stream(lipsync, realtime=False, pull=False) as stream:
        host = Host(catalog, FAST_TTS, stream)
        host.run(1)
    said = [text for text, _ in says(host)]
    assert said[0] == own[0] and said[-1] == own[2]
    assert all("$9" not in s and "Welcome" not in s for s in said)   # no template lines
    assert [e.kind for e in host.log if e.text == own[1]] in (["skip"], ["rewrite"])   # "best ever" never said
