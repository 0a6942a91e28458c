"""Comment queue: priorities, deduplication, spam/abuse filtering, and its three feeds."""
from __future__ import annotations

import io
import json
import threading
import time
import urllib.error
import urllib.request

import pytest

from dhsdk.commerce.comments import (ANONYMOUS, PURCHASE, QUESTION, CommentQueue, feed_from_file, feed_from_stream,
                                     serve_comments)


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def test_purchase_questions_come_first_then_questions_in_arrival_order():
    q = CommentQueue()
    for n, text in enumerate(["is it see-through?", "how much is it?", "好看吗", "what sizes?", "这个多少钱"]):
        assert q.put(f"u{n}", text) is not None
    got = [(c.priority, c.text) for c in iter(lambda: q.get(timeout=0), None)]
    assert got == [(PURCHASE, "how much is it?"), (PURCHASE, "what sizes?"), (PURCHASE, "这个多少钱"),
                   (QUESTION, "is it see-through?"), (QUESTION, "好看吗")]


def test_duplicates_within_the_window_count_once():
    clock = Clock()
    q = CommentQueue(dedup_window_s=30, clock=clock)
    assert q.put("a", "How much is it?")
    assert q.put("b", "how much is it ??") is None
    clock.t = 31
    assert q.put("c", "How much is it?")
    assert q.stats["duplicate"] == 1 and q.stats["accepted"] == 2


def test_spam_abuse_and_chatter_are_filtered():
    q = CommentQueue()
    for text, reason in [("add my wechat abc123 for discount", "spam"), ("visit www.cheap.xyz", "spam"),
                         ("call 13812345678", "spam"), ("aaaaaaaaaa", "spam"), ("x" * 400, "spam"),
                         ("you are a scam", "abuse"), ("骗子", "abuse"), ("666", "chatter"),
                         ("nice", "chatter"), ("哈哈哈哈", "chatter")]:
        assert q.put("u", text) is None, text
        assert q.reject_reason(text) == reason, text
    assert len(q) == 0


def test_capacity_evicts_the_least_urgent():
    q = CommentQueue(capacity=2)
    q.put("a", "is it soft?")
    q.put("b", "how much?")
    q.put("c", "what sizes?")
    assert [c.text for c in iter(lambda: q.get(timeout=0), None)] == ["how much?", "what sizes?"]
    assert q.stats["evicted"] == 1


def test_feeds_stdin_file_and_http(tmp_path):
    q = CommentQueue()
    stop = threading.Event()
    feed_from_stream(q, io.StringIO("anna: how much is it?\nwhat sizes?\n"), stop).join(2)
    path = tmp_path / "comments.txt"
    path.write_text("")
    feed_from_file(q, path, stop, poll_s=0.02)
    time.sleep(0.1)
    with path.open("a") as f:
        f.write("bob: when does it ship?\n")
    server = serve_comments(q)
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/comment"
        req = urllib.request.Request(url, data=json.dumps({"user": "cy", "text": "is it in stock?"}).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=5) as r:
            assert r.status == 202 and json.loads(r.read())["queued"] is True
        deadline = time.monotonic() + 3
        while len(q) < 4 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        server.shutdown()
        stop.set()
    users = sorted(c.user for c in iter(lambda: q.get(timeout=0), None))
    assert users == ["anna", "bob", "cy", "viewer"]


def test_a_newer_question_from_the_same_viewer_supersedes_the_queued_one():
    q = CommentQueue()
    q.put("anna", "is it soft?")
    q.put("bob", "what colours?")
    q.put("anna", "how much is the dress?")
    q.put(ANONYMOUS, "when does it ship?")
    q.put(ANONYMOUS, "is it in stock?")  # anonymous comments never replace each other
    texts = [c.text for c in iter(lambda: q.get(timeout=0), None)]
    assert sorted(texts) == sorted(["what colours?", "how much is the dress?", "when does it ship?",
                                    "is it in stock?"])
    assert q.stats["superseded"] == 1


def test_a_newer_question_cancels_the_answer_in_progress_until_done():
    q = CommentQueue()
    q.put("anna", "how much is it?")
    answering = q.get(timeout=0)
    q.put("bob", "what sizes?")
    assert not answering.cancel.is_set()
    q.put("anna", "actually, what colours?")
    assert answering.cancel.is_set()
    q.done(answering)
    later = q.get(timeout=0)  # purchase questions in arrival order: bob's, then anna's new one
    q.done(later)
    newest = q.get(timeout=0)
    assert (later.user, newest.text) == ("bob", "actually, what colours?")
    q.done(newest)
    q.put("anna", "is it silk?")  # nothing of anna's is in progress now
    assert not newest.cancel.is_set()


def _post(url, obj):
    req = urllib.request.Request(url, data=json.dumps(obj).encode(), headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


@pytest.fixture
def http_queue():
    q = CommentQueue()
    server = serve_comments(q)
    yield q, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_http_endpoint_answers_why_a_comment_was_not_queued(http_queue):
    q, base = http_queue
    assert _post(f"{base}/comment", {"user": "a", "text": "how much?"}) == (202, {"queued": True, "reason": None})
    assert _post(f"{base}/comment", {"user": "b", "text": "How much??"})[1]["reason"] == "duplicate"
    assert _post(f"{base}/comment", {"user": "c", "text": "add my wechat abc123"})[1]["reason"] == "spam"
    assert _post(f"{base}/comment", {"user": "d", "text": "666"})[1]["reason"] == "chatter"
    assert _post(f"{base}/comment", {"user": "e"})[0] == 400
    assert _post(f"{base}/nope", {"text": "hi"})[0] == 404
    with urllib.request.urlopen(f"{base}/stats", timeout=5) as r:
        stats = json.loads(r.read())
    assert stats["accepted"] == 1 and stats["duplicate"] == 1 and stats["spam"] == 1 and stats["queued"] == 1


def test_http_endpoint_refuses_huge_bodies(http_queue):
    _, base = http_queue
    assert _post(f"{base}/comment", {"user": "a", "text": "x" * 70000})[0] == 413
