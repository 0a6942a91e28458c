"""Viewers' comments: a priority queue with deduplication and spam/abuse filtering, fed
from stdin, a tailed file or a small HTTP endpoint.

Purchase questions (price, size, stock, shipping, offers) come first, then other
questions; chatter and cheers ("666", "❤️") are kept out of the answer queue. A viewer's
newer question supersedes their earlier one: a queued one is replaced, and the one being
answered has its :attr:`Comment.cancel` set, so the host stops that answer (and its LLM
request) and moves on.
"""
from __future__ import annotations

import heapq
import itertools
import json
import re
import threading
import time
import unicodedata
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import IO, Callable

from dhsdk.adapters.llm.local import detect_intent
from dhsdk.httpserve import JSONHandler

PURCHASE, QUESTION, CHATTER = 2, 1, 0
ANONYMOUS = "viewer"  # comments without a user name never supersede each other

_LINK = re.compile(r"(?i)https?://|www\.|\.(com|cn|net|top|xyz)\b|t\.me/")
_CONTACT = re.compile(r"(?i)(wechat|weixin|vx|微信|加我|qq\s*\d|whatsapp|telegram)|\b1[3-9]\d{9}\b|\+?\d[\d -]{9,}\d")
_REPEAT = re.compile(r"(.)\1{5,}")
_QUESTION = re.compile(r"(?i)[?？]|\b(how|what|when|where|which|who|why|can|could|do|does|is|are|will)\b|吗|呢|怎么|多少|几|什么|哪")
_CHEER = re.compile(r"^(6+|[!！.。]+|[❤♥👍🔥]+|(ha)+|h+|lol|哈+|赞+|好+)$", re.I)
_MAX_BODY = 64 * 1024  # bytes of one HTTP comment request
DEFAULT_ABUSE = ("idiot", "stupid", "scam", "fuck", "shit", "骗子", "垃圾", "傻", "滚")


@dataclass(order=True)
class Comment:
    """One viewer comment (ordered by priority, then arrival).

    Attributes:
        cancel: set when answering it should stop: the viewer asked again, or the show ended.
    """

    sort_key: tuple[int, int] = field(repr=False)
    user: str = field(compare=False)
    text: str = field(compare=False)
    ts: float = field(compare=False)
    priority: int = field(compare=False)
    cancel: threading.Event = field(default_factory=threading.Event, compare=False, repr=False)


def normalize(text: str) -> str:
    """Case-, width- and punctuation-folded text for duplicate detection."""
    text = unicodedata.normalize("NFKC", text).lower()
    return "".join(ch for ch in text if ch.isalnum())


def classify(text: str) -> int:
    """PURCHASE, QUESTION or CHATTER."""
    if detect_intent(text) is not None:
        return PURCHASE
    return QUESTION if _QUESTION.search(text) else CHATTER


class CommentQueue:
    """Thread-safe queue of comments worth answering.

    Args:
        dedup_window_s: the same text (normalised) within this window counts once.
        max_len: comments longer than this are rejected as spam.
        capacity: at most this many queued; the lowest-priority oldest is evicted.
        abuse_words: words that reject a comment (case-insensitive substrings).
        supersede: a viewer's newer question replaces their queued one and cancels the answer
            to their current one (see the module docstring).
        clock: time source (seconds), injectable for tests.
    """

    def __init__(self, dedup_window_s: float = 60.0, max_len: int = 300, capacity: int = 200,
                 abuse_words: tuple[str, ...] = DEFAULT_ABUSE, supersede: bool = True,
                 clock: Callable[[], float] = time.monotonic):
        self.dedup_window_s = dedup_window_s
        self.max_len = max_len
        self.capacity = capacity
        self.abuse_words = tuple(w.lower() for w in abuse_words)
        self.supersede = supersede
        self.clock = clock
        self.stats = {"accepted": 0, "duplicate": 0, "spam": 0, "abuse": 0, "chatter": 0, "evicted": 0,
                      "superseded": 0}
        self._heap: list[Comment] = []
        self._active: dict[str, Comment] = {}  # user -> the comment being answered
        self._seen: dict[str, float] = {}
        self._order = itertools.count()
        self._cv = threading.Condition()

    def reject_reason(self, text: str) -> str | None:
        """Why a comment is not queued (``spam``, ``abuse``, ``chatter``), or None."""
        t = text.strip()
        if not t or len(t) > self.max_len or _LINK.search(t) or _CONTACT.search(t) or _REPEAT.search(t):
            return "spam"
        low = t.lower()
        if any(w in low for w in self.abuse_words):
            return "abuse"
        if _CHEER.match(normalize(t) or t) or classify(t) == CHATTER:
            return "chatter"
        return None

    def put(self, user: str, text: str) -> Comment | None:
        """Queue a comment; returns it, or None when it was filtered (see ``stats``)."""
        now = self.clock()
        reason = self.reject_reason(text)
        key = normalize(text)
        with self._cv:
            if reason:
                self.stats[reason] += 1
                return None
            if key in self._seen and now - self._seen[key] < self.dedup_window_s:
                self.stats["duplicate"] += 1
                return None
            self._seen = {k: t for k, t in self._seen.items() if now - t < self.dedup_window_s}
            self._seen[key] = now
            prio = classify(text)
            c = Comment((-prio, next(self._order)), user, text.strip(), now, prio)
            if self.supersede and user != ANONYMOUS:
                self._supersede(user)
            heapq.heappush(self._heap, c)
            if len(self._heap) > self.capacity:
                self._remove(max(self._heap))
                self.stats["evicted"] += 1
            self.stats["accepted"] += 1
            self._cv.notify()
            return c

    def _supersede(self, user: str) -> None:
        """(Lock held.) Drop ``user``'s queued comment and cancel the answer to their current one."""
        for old in [c for c in self._heap if c.user == user]:
            self._remove(old)
            self.stats["superseded"] += 1
        active = self._active.get(user)
        if active is not None and not active.cancel.is_set():
            active.cancel.set()
            self.stats["superseded"] += 1

    def _remove(self, comment: Comment) -> None:
        self._heap.remove(comment)
        heapq.heapify(self._heap)

    def get(self, timeout: float | None = None) -> Comment | None:
        """The most urgent comment, waiting up to ``timeout`` seconds; None if none came.

        The comment counts as being answered until :meth:`done`.
        """
        with self._cv:
            if not self._cv.wait_for(lambda: bool(self._heap), timeout):
                return None
            c = heapq.heappop(self._heap)
            if c.user != ANONYMOUS:
                self._active[c.user] = c
            return c

    def done(self, comment: Comment) -> None:
        """The host has finished (or abandoned) answering ``comment``."""
        with self._cv:
            if self._active.get(comment.user) is comment:
                del self._active[comment.user]

    def __len__(self) -> int:
        with self._cv:
            return len(self._heap)


def _parse_line(line: str) -> tuple[str, str]:
    """``"user: text"`` or plain ``"text"`` (user :data:`ANONYMOUS`)."""
    user, sep, text = line.partition(":")
    if sep and user.strip() and len(user) <= 32 and " " not in user.strip():
        return user.strip(), text.strip()
    return ANONYMOUS, line.strip()


def feed_from_stream(queue: CommentQueue, stream: IO[str], stop: threading.Event) -> threading.Thread:
    """Read ``user: text`` lines from a text stream (e.g. stdin) in a daemon thread."""

    def run() -> None:
        for line in stream:
            if stop.is_set():
                return
            if line.strip():
                queue.put(*_parse_line(line))

    t = threading.Thread(target=run, name="dhsdk-comments-stream", daemon=True)
    t.start()
    return t


def feed_from_file(queue: CommentQueue, path: str | Path, stop: threading.Event, poll_s: float = 0.2,
                   from_start: bool = False) -> threading.Thread:
    """Tail a file (like ``tail -F``): each new line is a comment."""

    def run() -> None:
        p = Path(path)
        while not p.exists() and not stop.wait(poll_s):
            pass
        with p.open(encoding="utf-8", errors="replace") as f:
            if not from_start:
                f.seek(0, 2)
            buf = ""
            while not stop.is_set():
                chunk = f.readline()
                if not chunk:
                    stop.wait(poll_s)
                    continue
                buf += chunk
                if buf.endswith("\n"):
                    if buf.strip():
                        queue.put(*_parse_line(buf))
                    buf = ""

    t = threading.Thread(target=run, name="dhsdk-comments-file", daemon=True)
    t.start()
    return t


def serve_comments(queue: CommentQueue, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    """HTTP endpoint for a platform's comment webhook or a moderator's tool.

    ``POST /comment`` with JSON ``{"user": ..., "text": ...}`` answers 202 when queued, 200 with
    the reason when filtered (spam, abuse, chatter, duplicate), 400 on a bad body, 413 on a
    body over 64 KiB. ``GET /stats`` answers the queue's counters and depth.
    Returns the running server (``server.server_address`` has the port; ``shutdown()`` stops it).
    """

    class Handler(JSONHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            if self.path.rstrip("/") != "/stats":
                self.send_json(404, {"error": "GET /stats or POST /comment"})
                return
            self.send_json(200, {**queue.stats, "queued": len(queue)})

        def do_POST(self) -> None:  # noqa: N802
            if self.path.rstrip("/") != "/comment":
                self.send_json(404, {"error": "POST to /comment"})
                return
            try:
                size = int(self.headers.get("Content-Length", 0))
                if size > _MAX_BODY:
                    self.send_json(413, {"error": f"body over {_MAX_BODY} bytes"})
                    return
                body = json.loads(self.rfile.read(size) or b"{}")
                text = str(body["text"])
            except (ValueError, KeyError, TypeError):
                self.send_json(400, {"error": 'body must be JSON {"user": "...", "text": "..."}'})
                return
            c = queue.put(str(body.get("user", ANONYMOUS)), text)
            self.send_json(202 if c else 200, {"queued": c is not None,
                                            "reason": None if c else queue.reject_reason(text) or "duplicate"})

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="dhsdk-comments-http",
                     daemon=True).start()
    return server
