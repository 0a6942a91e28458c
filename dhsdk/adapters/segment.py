"""Streaming sentence segmentation for text flowing from an LLM into a TTS engine.

Speech should start after the first sentence, not after the whole answer, so text is cut
at sentence ends as soon as they are certain. Handles Chinese and English punctuation,
decimal numbers and prices (``$19.99``, ``¥199.00``, ``3.5 kg``), abbreviations (``Mr.``,
``e.g.``), ellipses, and product codes (``SKU-2024.A``), which never end a sentence.
"""
from __future__ import annotations

import re

# Ends a sentence at once (CJK full-width marks never need a following space).
_CJK_END = "。！？；…"
# Ends a sentence when followed by whitespace/end of text and not part of a token.
_LATIN_END = ".!?;"
_CLOSERS = "\"'”’)]）】」』"
_ABBREV = {"mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "vs", "etc", "e.g", "i.e", "no", "approx",
           "inc", "ltd", "co", "dept", "fig", "min", "max", "oz", "lb", "pcs"}


def _is_boundary(text: str, i: int, final: bool) -> int | None:
    """If a sentence ends at text[i], the index just past it (closers included); else None.

    Returns None when it cannot be decided yet (the next character has not arrived).
    """
    ch = text[i]
    j = i + 1
    while j < len(text) and (text[j] in _CJK_END or text[j] in _LATIN_END or text[j] in _CLOSERS):
        j += 1  # "?!", "。」", '."' stay with the sentence
    if ch in _CJK_END:
        return j
    if ch not in _LATIN_END:
        return None
    if j >= len(text):
        return j if final else None  # "19." may become "19.99"
    if not text[j].isspace():
        return None  # "19.99", "SKU-2024.A", "e.g.x"
    if ch == ".":
        word = re.search(r"([A-Za-z](?:\.[A-Za-z])*|[A-Za-z]+)$", text[:i])
        if word and word.group(1).lower() in _ABBREV:
            return None
        if i >= 1 and text[i - 1].isdigit() and j < len(text) and text[j:].lstrip()[:1].isdigit():
            return None  # "version 2. 5" is rare; "2. 5" reads as a list otherwise
    return j


class SentenceSplitter:
    """Feed text pieces as they arrive; take complete sentences out.

    Args:
        max_chars: a sentence longer than this is cut at the last comma/space before it,
            so one long sentence does not delay speech.
    """

    def __init__(self, max_chars: int = 160):
        self.max_chars = max_chars
        self._buf = ""

    def feed(self, piece: str) -> list[str]:
        """Add text; return the sentences it completed (stripped, non-empty)."""
        self._buf += piece
        return self._drain(final=False)

    def flush(self) -> list[str]:
        """End of text: return whatever remains as the last sentence(s)."""
        out = self._drain(final=True)
        rest = self._buf.strip()
        self._buf = ""
        return out + ([rest] if rest else [])

    def _drain(self, final: bool) -> list[str]:
        out: list[str] = []
        start = 0
        i = 0
        while i < len(self._buf):
            end = _is_boundary(self._buf, i, final)
            if end is not None:
                sentence = self._buf[start:end].strip()
                if sentence:
                    out.extend(self._cut_long(sentence))
                start = i = end
                continue
            i += 1
        self._buf = self._buf[start:]
        if len(self._buf) > self.max_chars:
            head, tail = _cut_at_pause(self._buf, self.max_chars)
            if head:
                out.append(head)
                self._buf = tail
        return out

    def _cut_long(self, sentence: str) -> list[str]:
        parts = []
        while len(sentence) > self.max_chars:
            head, sentence = _cut_at_pause(sentence, self.max_chars)
            if not head:
                break
            parts.append(head)
        return parts + ([sentence] if sentence else [])


def _cut_at_pause(text: str, limit: int) -> tuple[str, str]:
    """Split at the last comma-like pause (or space) before ``limit``: (head, tail)."""
    window = text[:limit]
    for marks in (",，、:：", " "):
        k = max(window.rfind(m) for m in marks)
        if k > limit // 3:
            return text[:k + 1].strip(), text[k + 1:].lstrip()
    return "", text


def split_sentences(text: str, max_chars: int = 160) -> list[str]:
    """All sentences of a complete text (see :class:`SentenceSplitter`)."""
    splitter = SentenceSplitter(max_chars)
    return splitter.feed(text) + splitter.flush()
