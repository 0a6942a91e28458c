"""Lip closure on p/b/m: do the lips close where the speech has a bilabial?

**Phone timings** come from a transcript or an alignment file, on the video's timeline:

- ``--text "..."``: the soundtrack force-aligned to the transcript
  (:func:`dhsdk.audio.phones.align`, pocketsphinx);
- a GRID ``.align`` file (``start end word`` per line, times in 1/25000 s, ``sil`` for
  silence): its words are the transcript, aligned the same way (the file gives words, not phones);
- any other file: a phone table, one phone per line, ``start end label`` separated by tabs or
  spaces, times in seconds, ARPAbet labels (stress digits ignored); blank lines and lines
  starting with ``#`` are skipped.

**Closure** (:func:`pbm_closure`). The done-when of issue 13 asks for "frames inside p/b/m words
closed >= 80 %"; read literally that would include the vowels of "bin" and "place", which are
open by nature, so it is taken to mean the frames inside the *bilabial phones* P, B and M:

- ``frames``: the video frames whose centre lies inside a P/B/M phone (a phone shorter than a
  frame that holds no frame centre contributes the frame nearest its middle). A closure is
  silent, so the aligner cannot see where one after a pause begins and may stretch it over the
  pause (GRID's "place" in pbbc4n: P from 0.00 to 0.59 s, the word starts at 0.42 s); a P/B/M
  phone longer than :data:`MAX_CLOSURE_S` is therefore judged on its last 0.2 s, before the
  release the aligner does time; ``frames_closed``
  is the share of them with the inner-lip gap below the closed threshold. This is the verdict's
  value. The real GRID speaker scores 89 % (131 frames in 40 clips, audio timing corrected, see
  below), 48 % with the files as stored.
- ``phones_closed``: the share of P/B/M phones during which the lips close at least once, in
  any frame overlapping the phone widened by half a frame each side (the lips must close for a
  bilabial, however briefly). The real GRID speaker closes 55 of 55 (49 as stored).

(GRID's mp4 files carry 1024 samples of AAC encoder priming without an edit list, so their
audio plays 64 ms late; the figures above were measured with it moved back.)
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from dhsdk.errors import InputError

BILABIAL = ("P", "B", "M")
MAX_CLOSURE_S = 0.2          # a longer P/B/M phone is judged on its last 0.2 s (see pbm_closure)
GRID_UNITS_PER_S = 25000.0   # GRID .align times: 1/1000 of a 25 fps video frame


def read_grid_words(path: str | os.PathLike) -> list[tuple[float, float, str]]:
    """(start s, end s, word) of a GRID ``.align`` file, silences (``sil``, ``sp``) left out."""
    words = []
    for n, line in enumerate(Path(path).read_text().splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 3 or not (parts[0].isdigit() and parts[1].isdigit()):
            raise InputError(f"{path}:{n}: expected 'start end word' with integer GRID times, got {line!r}")
        if parts[2].lower() not in ("sil", "sp"):
            words.append((int(parts[0]) / GRID_UNITS_PER_S, int(parts[1]) / GRID_UNITS_PER_S, parts[2].lower()))
    return words


def read_phone_table(path: str | os.PathLike) -> list[Any]:
    """Phones of a ``start end label`` table (seconds, ARPAbet); see the module docstring."""
    from dhsdk.audio.phones import Phone

    phones = []
    for n, line in enumerate(Path(path).read_text().splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.split()
        try:
            start, end = float(parts[0]), float(parts[1])
            label = re.sub(r"\d", "", parts[2]).upper()
        except (ValueError, IndexError):
            raise InputError(f"{path}:{n}: expected 'start end label' (seconds, ARPAbet phone), got {line!r}; "
                             f"a GRID word file must end in .align") from None
        if end < start:
            raise InputError(f"{path}:{n}: the phone ends ({end}) before it starts ({start})")
        phones.append(Phone(start, end, label))
    return phones


def load_phones(pcm16k: np.ndarray | None, text: str | None = None,
                align_file: str | os.PathLike | None = None) -> list[Any] | None:
    """Phone timings from a transcript or an alignment file (see the module docstring).

    Args:
        pcm16k: the soundtrack on the video's timeline (needed to align a transcript).
        text: what is said.
        align_file: a GRID ``.align`` word file or a phone table.

    Returns:
        :class:`dhsdk.audio.phones.Phone` list, or None when neither is given.
    """
    if align_file is not None and Path(align_file).suffix.lower() != ".align":
        return read_phone_table(align_file)
    if align_file is not None:
        text = " ".join(w for _, _, w in read_grid_words(align_file))
    if text is None:
        return None
    if pcm16k is None:
        raise InputError("the video has no audio track to align the transcript with: give a phone table "
                         "(--align phones.tsv) instead")
    from dhsdk.audio.phones import align

    return align(pcm16k, text)


def pbm_closure(opening: np.ndarray, fps: float, phones: Sequence[Any], closed_gap: float,
                valid: np.ndarray | None = None) -> dict[str, Any]:
    """How the lips close on the P, B and M phones (see the module docstring).

    Args:
        opening: (T,) inner-lip gap per frame, canonical units.
        fps: frame rate.
        phones: objects with ``start``, ``end`` (seconds) and ``label``.
        closed_gap: gap below which the lips count as closed.
        valid: (T,) bool frames to use (face found); None uses all.

    Returns:
        ``phones`` (P/B/M phones inside the video), ``phones_closed`` (share), ``frames``,
        ``frames_closed`` (share; NaN when there are none), and ``unclosed`` ((T,) bool frames
        inside a P/B/M phone that were open).
    """
    opening = np.asarray(opening, np.float64)
    t = len(opening)
    ok = np.ones(t, bool) if valid is None else np.asarray(valid, bool)
    centres = (np.arange(t) + 0.5) / fps
    closed = opening < closed_gap
    inside = np.zeros(t, bool)
    shut = []
    for p in phones:
        start = max(p.start, p.end - MAX_CLOSURE_S)
        if p.label.upper() not in BILABIAL or start >= t / fps:
            continue
        own = (centres >= start) & (centres < p.end)
        if not own.any():
            own[min(t - 1, int((start + p.end) / 2 * fps))] = True
        near = (centres + 0.5 / fps > start - 0.5 / fps) & (centres - 0.5 / fps < p.end + 0.5 / fps) & ok
        inside |= own & ok
        if near.any():
            shut.append(bool(closed[near].any()))
    frames = int(inside.sum())
    return {"phones": len(shut), "phones_closed": float(np.mean(shut)) if shut else float("nan"),
            "frames": frames, "frames_closed": float(closed[inside].mean()) if frames else float("nan"),
            "unclosed": inside & ~closed}
