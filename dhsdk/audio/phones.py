"""Phone timings of real speech, offline, from pocketsphinx's en-us acoustic model.

A recogniser trained on many real voices is the a2k trainer's teacher for speech that has no
video (and the evaluation's source of p/b/m timings): :func:`align` force-aligns a known
transcript, :func:`recognize` transcribes words with the bundled language model and then aligns
them, :func:`recognize_phones` decodes phones directly with the bundled phone language model
(any language, coarser). Times are in seconds at pocketsphinx's 10 ms frame resolution; labels
are ARPAbet without stress (``"AA"``, ``"P"``, ...) and ``"SIL"`` for silence and noise.

Needs the ``pocketsphinx`` wheel (``pip install 'dhsdk[train]'``), which carries its models.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from dhsdk.audio.load import SAMPLE_RATE
from dhsdk.errors import InputError

FRAME_S = 0.01                       # pocketsphinx frame period
ARPABET = ("AA", "AE", "AH", "AO", "AW", "AY", "B", "CH", "D", "DH", "EH", "ER", "EY", "F", "G", "HH",
           "IH", "IY", "JH", "K", "L", "M", "N", "NG", "OW", "OY", "P", "R", "S", "SH", "T", "TH",
           "UH", "UW", "V", "W", "Y", "Z", "ZH", "SIL")
BILABIAL = frozenset({"P", "B", "M"})
_INSTALL = "pip install 'dhsdk[train]'"


@dataclass(frozen=True)
class Phone:
    """One phone of an alignment.

    Attributes:
        start: seconds from the start of the signal.
        end: seconds (exclusive).
        label: ARPAbet without stress, or ``"SIL"``.
    """

    start: float
    end: float
    label: str


def _label(name: str) -> str:
    """ARPAbet phone of a pocketsphinx phone/word-filler name (fillers and noise -> SIL)."""
    core = re.sub(r"\d", "", name.strip("+").upper())
    return core if core in ARPABET else "SIL"


def _pocketsphinx() -> Any:
    from dhsdk._optional import require

    return require("pocketsphinx", _INSTALL)


@functools.lru_cache(maxsize=1)
def _words() -> frozenset[str]:
    """Words of the bundled pronunciation dictionary (lower case)."""
    ps = _pocketsphinx()
    with open(ps.get_model_path("en-us/cmudict-en-us.dict"), encoding="utf-8") as f:
        return frozenset(line.split(" ", 1)[0].split("(", 1)[0] for line in f if line.strip())


def _raw(pcm16k: np.ndarray) -> bytes:
    pcm = np.asarray(pcm16k, np.float32).reshape(-1)
    if pcm.size == 0:
        raise InputError("no audio samples to align: give speech")
    if not np.all(np.isfinite(pcm)):
        raise InputError("the audio contains NaN or infinite samples: clean the signal first")
    return (np.clip(pcm, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()


def normalise_text(text: str) -> list[str]:
    """Lower-case words of ``text`` that the bundled dictionary knows, in order (numbers and
    words it lacks are dropped: the alignment then treats their sound as silence/noise)."""
    known = _words()
    return [w for w in re.findall(r"[a-z']+", text.lower()) if w in known]


def _decoder(**kw: Any) -> Any:
    ps = _pocketsphinx()
    return ps.Decoder(samprate=SAMPLE_RATE, loglevel="FATAL", **kw)


def _phones_of(alignment: Any) -> list[Phone]:
    out = []
    for word in alignment:
        for ph in word:
            out.append(Phone(ph.start * FRAME_S, (ph.start + ph.duration) * FRAME_S, _label(ph.name)))
    return out


def align(pcm16k: np.ndarray, text: str) -> list[Phone]:
    """Force-align a transcript: the phones of ``text`` with their times in ``pcm16k``.

    Args:
        pcm16k: (n,) float32 16 kHz mono speech.
        text: what is said (English; punctuation and unknown words are ignored).

    Returns:
        Phones in time order covering the whole signal (silences included).

    Raises:
        InputError: empty/NaN audio, or no known English word in ``text``.
    """
    words = normalise_text(text)
    if not words:
        raise InputError(f"no English word of {text!r} is in the pronunciation dictionary: give the "
                         f"transcript in English words")
    raw = _raw(pcm16k)
    dec = _decoder(lm=None, bestpath=False)
    dec.set_align_text(" ".join(words))
    dec.start_utt()
    dec.process_raw(raw, full_utt=True)
    dec.end_utt()
    if dec.hyp() is None:
        return [Phone(0.0, len(raw) / 2 / SAMPLE_RATE, "SIL")]
    dec.set_alignment()
    dec.start_utt()
    dec.process_raw(raw, full_utt=True)
    dec.end_utt()
    return _phones_of(dec.get_alignment())


def recognize(pcm16k: np.ndarray) -> tuple[str, list[Phone]]:
    """Transcribe English speech with the bundled language model, then align the words.

    Returns:
        (the recognised text, its phones); ``("", [SIL])`` when nothing was recognised.
    """
    raw = _raw(pcm16k)
    dec = _decoder()
    dec.start_utt()
    dec.process_raw(raw, full_utt=True)
    dec.end_utt()
    hyp = dec.hyp()
    text = hyp.hypstr.strip() if hyp is not None else ""
    if not normalise_text(text):
        return "", [Phone(0.0, len(raw) / 2 / SAMPLE_RATE, "SIL")]
    return text, align(pcm16k, text)


def recognize_phones(pcm16k: np.ndarray) -> list[Phone]:
    """Phones decoded directly with the bundled phone language model (no words, any language).

    Coarser than :func:`align`: confusions within a place of articulation are common, but
    vowels, closures and silences come out at the right times.
    """
    ps = _pocketsphinx()
    raw = _raw(pcm16k)
    dec = _decoder(allphone=ps.get_model_path("en-us/en-us-phone.lm.bin"), lm=None, beam=1e-20, pbeam=1e-20,
                   lw=2.0, bestpath=False)
    dec.start_utt()
    dec.process_raw(raw, full_utt=True)
    dec.end_utt()
    return [Phone(s.start_frame * FRAME_S, (s.end_frame + 1) * FRAME_S, _label(s.word)) for s in dec.seg()]


def phones_at(phones: list[Phone], times: np.ndarray) -> list[str]:
    """The phone label at each time in ``times`` (seconds); ``"SIL"`` outside the alignment."""
    starts = np.array([p.start for p in phones])
    idx = np.searchsorted(starts, np.asarray(times, np.float64), side="right") - 1
    out = []
    for i, t in zip(idx, np.asarray(times, np.float64)):
        out.append(phones[i].label if 0 <= i < len(phones) and t < phones[i].end else "SIL")
    return out
