"""Comment queue: priorities, deduplication, spam/abuse filtering, and its three feeds."""
from __future__ import annotations

import io
import json
import threading
import time
import urllib.request

from dhsdk.commerce.comments import PURCHASE, QUESTION, CommentQueue, feed_from_file, feed_from_stream, serve_comments


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def test_purchase_questions_come_first_then_questions_in_arrival_order():
    q = CommentQueue()
    for text in ["is it see-through?", "how much is it?", "好看吗", "what sizes?", "这个多少钱"]:
        assert q.put("u", text) is not None
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
