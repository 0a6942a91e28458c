"""The live-commerce host: runs the show, answers viewers, and keeps speech compliant.

The host speaks one sentence at a time into an audio output (a real-time
:class:`dhsdk.pipeline.stream.Stream`, or anything with the same four members) and keeps at
most ``max_lead_s`` of speech queued there, so a viewer's question interrupts the pitch
quickly: barge-in through ``interrupt()``, the answer streamed sentence by sentence from the
LLM, then the pitch resumes with the sentence that was cut off (the output's buffer depth at
the interrupt tells which). Every sentence, scripted or answered, passes the compliance
filter first. A failing LLM or TTS server is logged and worked around (catalogue answers,
template scripts), never fatal: the show runs unattended.
"""
from __future__ import annotations

import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from dhsdk.adapters.llm.base import LLM, Message
from dhsdk.adapters.llm.local import LocalLLM
from dhsdk.adapters.openai_http import ServiceError
from dhsdk.adapters.segment import SentenceSplitter
from dhsdk.commerce.catalog import Catalog, Product
from dhsdk.commerce.comments import Comment, CommentQueue
from dhsdk.commerce.compliance import ComplianceFilter
from dhsdk.commerce.script import llm_script, product_facts, template_script

_POLL_S = 0.02  # how often the host looks at the output's buffer while it waits
_SAID_S = 0.15  # a sentence with less than this left unplayed at a barge-in counts as said (its tail pause)


class AudioOut(Protocol):
    """Where the host's speech goes (a ``Stream`` satisfies it)."""

    def push_audio(self, chunk: Any) -> None: ...
    def end_speech(self) -> None: ...
    def interrupt(self) -> None: ...
    def buffered_seconds(self) -> float: ...


@dataclass
class HostEvent:
    """One entry of the host's log: what it said, skipped, answered.

    Attributes:
        kind: ``say`` (when its first audio was queued) | ``skip`` | ``rewrite`` | ``comment`` |
            ``interrupt`` | ``resume`` | ``cancel`` | ``error``.
        text: the sentence, comment or error message.
        t: seconds since the show started (the host's clock).
        detail: product id and segment, ``answer``, the rewrite, the compliance reason, the user.
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
        llm: answers comments and (with ``scripted_by_llm``) writes the pitch; the offline
            catalogue model when None.
        comments: the viewers' comment queue.
        compliance: the banned-claims filter.
        scripted_by_llm: write the pitch with ``llm`` instead of templates.
        max_lead_s: how much speech may wait in the output before the next sentence is
            pushed; bounds barge-in latency.
        on_event: called with every :class:`HostEvent` as it happens (from the host's thread,
            or the script writer's for its errors).
        clock: time source in seconds.
    """

    catalog: Catalog
    tts: Any
    out: AudioOut
    llm: LLM | None = None
    comments: CommentQueue = field(default_factory=CommentQueue)
    compliance: ComplianceFilter = field(default_factory=ComplianceFilter)
    scripted_by_llm: bool = False
    max_lead_s: float = 0.5
    on_event: Callable[[HostEvent], Any] | None = None
    clock: Callable[[], float] = time.monotonic
    log: list[HostEvent] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._catalogue = LocalLLM(self.catalog)
        self.answerer = self.llm or self._catalogue
        self._t0 = self.clock()
        self._stop = threading.Event()
        self._product: Product = self.catalog.products[0]
        self._answering: Comment | None = None

    # ---- control ----------------------------------------------------------------------
    def stop(self) -> None:
        """End the show: the current answer is cancelled, the pitch stops after this sentence."""
        self._stop.set()
        if self._answering is not None:
            self._answering.cancel.set()

    def _event(self, kind: str, text: str, detail: str = "") -> None:
        event = HostEvent(kind, text, self.clock() - self._t0, detail)
        self.log.append(event)
        if self.on_event is not None:
            self.on_event(event)

    # ---- the show ---------------------------------------------------------------------
    def run(self, loops: int = 1) -> list[HostEvent]:
        """Present every product ``loops`` times (0 = until :meth:`stop`), then answer the
        comments still queued; returns the log."""
        products = self.catalog.products
        scripts: dict[str, Future] = {}  # written once per product, the next one while this one is presented
        n = 0
        while not self._stop.is_set() and (loops == 0 or n < loops):
            for k, product in enumerate(products):
                lines = self._await(self._script(scripts, product))
                self._script(scripts, products[(k + 1) % len(products)])
                if lines is None:
                    break
                self._present(product, lines)
            n += 1
        if not self._stop.is_set() and (comment := self.comments.get(timeout=0)) is not None:
            self._answer_all(comment)
        return self.log

    def _script(self, scripts: dict[str, Future], product: Product) -> Future:
        """``product``'s lines, being written on a daemon thread (an LLM may take seconds)."""
        if product.id not in scripts:
            future: Future = Future()

            def write() -> None:
                try:
                    future.set_result(self._write_script(product))
                except BaseException as e:  # noqa: BLE001 - handed to the waiting host thread
                    future.set_exception(e)

            threading.Thread(target=write, name="dhsdk-script", daemon=True).start()
            scripts[product.id] = future
        return scripts[product.id]

    def _await(self, future: Future) -> list[tuple[str, str]] | None:
        """The script once written, answering comments meanwhile; None when the show stops first."""
        while not future.done():
            if self._stop.is_set():
                return None
            if (comment := self.comments.get(timeout=_POLL_S)) is not None:
                self._answer_all(comment)
        return future.result()

    def _write_script(self, product: Product) -> list[tuple[str, str]]:
        """The run of show of one product as (segment kind, sentence) lines: the merchant's own
        ``script`` when the product has one, else the LLM's or the templates'."""
        if product.script:
            return [("script", s) for s in product.script]
        segments = None
        if self.scripted_by_llm and self.llm is not None:
            try:
                segments = llm_script(self.llm, self.catalog, product)
            except ServiceError as e:
                self._event("error", str(e), f"{product.id}/script: using the template script")
        segments = segments or template_script(self.catalog, product)
        return [(seg.kind, s) for seg in segments for s in seg.sentences]

    def _present(self, product: Product, lines: list[tuple[str, str]]) -> None:
        """Say one product's lines, answering comments between them."""
        self._product = product
        pushed: list[tuple[int, float]] = []  # (line index, seconds of audio), oldest first
        answered = False
        i = 0
        while i < len(lines) and not self._stop.is_set():
            comment = self._wait_for_room(take_comments=True)
            if comment is not None:
                i = self._cut_line(pushed, i)
                pushed.clear()
                self._answer_all(comment)
                answered = True
                continue
            kind, sentence = lines[i]
            if answered:
                self._event("resume", sentence, product.id)
                answered = False
            seconds = self.speak(sentence, f"{product.id}/{kind}")
            if seconds:
                pushed.append((i, seconds))
            i += 1

    def _cut_line(self, pushed: list[tuple[int, float]], next_line: int) -> int:
        """The first line a barge-in now would cut off (``next_line`` when none is playing)."""
        left = self.out.buffered_seconds()
        while pushed and left > _SAID_S:
            line, seconds = pushed.pop()
            next_line, left = line, left - seconds
        return next_line

    def _wait_for_room(self, take_comments: bool = False, cancel: threading.Event | None = None) -> Comment | None:
        """Wait until at most ``max_lead_s`` is queued (or the show stops, or ``cancel``);
        with ``take_comments``, return early with a comment when one arrives."""
        while not self._stop.is_set() and not (cancel is not None and cancel.is_set()):
            if take_comments and (comment := self.comments.get(timeout=0)) is not None:
                return comment
            if self.out.buffered_seconds() <= self.max_lead_s:
                return None
            if take_comments:
                if (comment := self.comments.get(timeout=_POLL_S)) is not None:
                    return comment
            else:
                time.sleep(_POLL_S)
        return None

    def speak(self, sentence: str, detail: str = "") -> float | None:
        """Filter, synthesise and queue one sentence.

        Returns:
            seconds of audio queued, or None when compliance skipped it (or the TTS failed).
        """
        verdict = self.compliance.check(sentence)
        if verdict.text is None:
            self._event("skip", sentence, "; ".join(r.reason for r, _ in verdict.hits))
            return None
        if verdict.changed:
            self._event("rewrite", sentence, verdict.text)
        seconds = 0.0
        try:
            for chunk in self.tts.synthesize_stream(verdict.text):
                self.out.push_audio(chunk)
                if not seconds:
                    self._event("say", verdict.text, detail)
                seconds += chunk.duration
        except ServiceError as e:
            self._event("error", str(e), f"tts: {verdict.text}")
        self.out.end_speech()
        return seconds or None

    # ---- answers ----------------------------------------------------------------------
    def _answer_all(self, comment: Comment) -> None:
        """Barge in with ``comment``'s answer, then answer the comments that queued meanwhile,
        each once the previous answer has (nearly) played out: answers never cut each other,
        except a cancelled (superseded) one."""
        barge_in = True
        while comment is not None:
            self.answer(comment, barge_in=barge_in)
            barge_in = comment.cancel.is_set()
            self._wait_for_room()
            if self._stop.is_set():
                return
            comment = self.comments.get(timeout=0)

    def answer(self, comment: Comment, barge_in: bool = True) -> None:
        """Answer one comment, sentence by sentence as the LLM streams it.

        Args:
            comment: the viewer's comment (taken from :attr:`comments`).
            barge_in: interrupt the speech queued now (the pitch) first; False to let it play
                out before the answer (a previous answer).

        The answer stops early when ``comment.cancel`` is set (the viewer asked again, or
        :meth:`stop`); an LLM failure before anything was said falls back to the catalogue.
        """
        self._answering = comment
        if self._stop.is_set():
            comment.cancel.set()
        try:
            self._event("comment", comment.text, comment.user)
            if barge_in:
                self.out.interrupt()
                self._event("interrupt", "")
            if isinstance(self.answerer, LocalLLM):
                self.answerer.current = self._product.id
            if not self._say_answer(self.answerer, comment) and not comment.cancel.is_set() \
                    and self.answerer is not self._catalogue:
                self._catalogue.current = self._product.id
                self._say_answer(self._catalogue, comment)
            if comment.cancel.is_set():
                self._event("cancel", comment.text, comment.user)
        finally:
            self._answering = None
            self.comments.done(comment)

    def _say_answer(self, llm: LLM, comment: Comment) -> bool:
        """Stream ``llm``'s answer into speech; False when it failed before saying anything."""
        splitter = SentenceSplitter()
        said = False

        def say(sentences: list[str]) -> None:
            nonlocal said
            for s in sentences:
                self._wait_for_room(cancel=comment.cancel)
                if comment.cancel.is_set() or self._stop.is_set():
                    return
                said = self.speak(s, "answer") is not None or said

        try:
            for piece in llm.stream_chat(self._messages(comment.text), cancel=comment.cancel):
                say(splitter.feed(piece))
            if not comment.cancel.is_set():
                say(splitter.flush())
        except ServiceError as e:
            self._event("error", str(e), "llm" + ("" if said else ": answering from the catalogue"))
            return said
        return True

    def _messages(self, question: str) -> list[Message]:
        facts = product_facts(self.catalog, self._product)
        return [{"role": "system", "content": f"You are the host of {self.catalog.shop}'s live stream, now "
                                              f"presenting: {facts}. "
                                              "Answer in the viewer's language, in one or two short spoken "
                                              "sentences, only from these facts; say you will check when you do "
                                              "not know. Never invent prices or claims."},
                {"role": "user", "content": question}]
