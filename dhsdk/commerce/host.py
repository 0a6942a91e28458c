"""The live-commerce host: runs the show, answers viewers, and keeps speech compliant.

The host speaks one sentence at a time into an audio output (a real-time
:class:`dhsdk.pipeline.stream.Stream`, or anything with the same three members), so a
viewer's question can interrupt the pitch between sentences (barge-in through
``interrupt()``); after the answer the pitch resumes with the sentence that was cut.
Every sentence, scripted or answered, passes the compliance filter first.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Protocol

from dhsdk.adapters.llm.base import LLM
from dhsdk.adapters.segment import SentenceSplitter
from dhsdk.commerce.catalog import Catalog
from dhsdk.commerce.comments import Comment, CommentQueue
from dhsdk.commerce.compliance import ComplianceFilter
from dhsdk.commerce.script import Segment, llm_script, template_script


class AudioOut(Protocol):
    """Where the host's speech goes (a ``Stream`` satisfies it)."""

    def push_audio(self, chunk: Any) -> None: ...
    def interrupt(self) -> None: ...
    def buffered_seconds(self) -> float: ...


@dataclass
class HostEvent:
    """One entry of the host's log: what it said, skipped, answered.

    Attributes:
        kind: ``say`` | ``skip`` | ``rewrite`` | ``comment`` | ``interrupt`` | ``resume``.
        text: the sentence or comment.
        t: seconds since the show started.
        detail: product id, segment, compliance reason.
    """

    kind: str
    text: str
    t: float
    detail: str = ""


@dataclass
class Host:
    """Runs a live session unattended.

    Args:
        catalog: the products and their facts.
        tts: a TTS adapter (``synthesize_stream(text) -> Iterator[AudioChunk]``).
        out: the audio output (a Stream).
        llm: answers comments and (optionally) writes scripts; the offline catalogue model
            when None.
        comments: the viewers' comment queue.
        compliance: the banned-claims filter.
        scripted_by_llm: write the pitch with ``llm`` instead of templates.
        max_lead_s: how much speech may wait in the output before the next sentence is
            pushed; bounds barge-in latency.
    """

    catalog: Catalog
    tts: Any
    out: AudioOut
    llm: LLM | None = None
    comments: CommentQueue = field(default_factory=CommentQueue)
    compliance: ComplianceFilter = field(default_factory=ComplianceFilter)
    scripted_by_llm: bool = False
    max_lead_s: float = 0.5
    log: list[HostEvent] = field(default_factory=list)
    clock: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        from dhsdk.adapters.llm.local import LocalLLM

        self.answerer = self.llm or LocalLLM(self.catalog)
        self._t0 = self.clock()
        self._stop = threading.Event()
        self._product: str | None = None

    def stop(self) -> None:
        """End the show after the current sentence."""
        self._stop.set()

    def _event(self, kind: str, text: str, detail: str = "") -> None:
        self.log.append(HostEvent(kind, text, self.clock() - self._t0, detail))

    def _script(self) -> Iterator[Segment]:
        for product in self.catalog.products:
            if self.scripted_by_llm and self.llm is not None:
                yield from llm_script(self.llm, self.catalog, product)
            else:
                yield from template_script(self.catalog, product)

    def speak(self, sentence: str, detail: str = "") -> bool:
        """Filter, synthesise and queue one sentence; False when compliance skipped it."""
        verdict = self.compliance.check(sentence)
        if verdict.text is None:
            self._event("skip", sentence, "; ".join(r.reason for r, _ in verdict.hits))
            return False
        if verdict.changed:
            self._event("rewrite", sentence, verdict.text)
        for chunk in self.tts.synthesize_stream(verdict.text):
            self.out.push_audio(chunk)
        self._event("say", verdict.text, detail)
        return True

    def _wait_for_room(self) -> Comment | None:
        """Wait until the output has room for another sentence; return a comment if one came."""
        while not self._stop.is_set():
            comment = self.comments.get(timeout=0)
            if comment is not None:
                return comment
            if self.out.buffered_seconds() <= self.max_lead_s:
                return None
            time.sleep(0.02)
        return None

    def answer(self, comment: Comment) -> None:
        """Interrupt the pitch and answer one comment, sentence by sentence as it streams."""
        self._event("comment", comment.text, comment.user)
        self.out.interrupt()
        self._event("interrupt", "")
        from dhsdk.adapters.llm.local import LocalLLM

        product = self.catalog.get(self._product) if self._product else self.catalog.products[0]
        if isinstance(self.answerer, LocalLLM):
            self.answerer.current = product.id
        splitter = SentenceSplitter()
        facts = {k: v for k, v in product.__dict__.items() if v not in (None, [], "")}
        messages = [{"role": "system", "content": f"You are the host of {self.catalog.shop}'s live stream, now "
                                                  f"presenting: {facts}. Answer in one or two short spoken "
                                                  "sentences, only from these facts; say you will check when "
                                                  "you do not know. Never invent prices or claims."},
                    {"role": "user", "content": comment.text}]
        for piece in self.answerer.stream_chat(messages):
            for sentence in splitter.feed(piece):
                self.speak(sentence, "answer")
        for sentence in splitter.flush():
            self.speak(sentence, "answer")

    def run(self, loops: int = 1) -> list[HostEvent]:
        """Present every product ``loops`` times (0 = until :meth:`stop`); returns the log."""
        n = 0
        while not self._stop.is_set() and (loops == 0 or n < loops):
            for segment in self._script():
                self._product = segment.product_id
                i = 0
                while i < len(segment.sentences) and not self._stop.is_set():
                    comment = self._wait_for_room()
                    if comment is not None:
                        self.answer(comment)
                        self._event("resume", segment.sentences[i], segment.product_id)
                        continue
                    self.speak(segment.sentences[i], f"{segment.product_id}/{segment.kind}")
                    i += 1
                if self._stop.is_set():
                    break
            n += 1
        while (comment := self.comments.get(timeout=0)) is not None:
            self.answer(comment)
        return self.log
