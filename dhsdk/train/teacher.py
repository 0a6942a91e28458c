"""Real speech without video, labelled with phone timings by pocketsphinx (the a2k teacher).

A source is an audio file and how to label it: ``"align"`` with its transcript (best),
``"en"`` English recognised then aligned, or ``"any"`` phones recognised directly (other
languages). :func:`default_sources` lists the real speech this machine has: Debian's
``pocketsphinx-testdata`` (LibriVox readings with transcripts, short commands and numbers; public
domain / BSD) and the speech files of ``../shared/data`` (English ``eng.wav``; ``sun.wav`` and
``yongen.wav``, not English). The held-out speakers of the evaluation are recordings no source
here lists (``benchmarks/bench_lipsync.py``). Labels are cached under ``<cache>/a2k-teacher/``
(recognition takes about real time).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

POCKETSPHINX_TESTDATA = Path("/usr/share/pocketsphinx/test/data")
_RAW_RATE = 16000


@dataclass(frozen=True)
class SpeechSource:
    """Real speech to label.

    Attributes:
        path: audio file (anything PyAV reads; ``.raw`` = 16 kHz mono int16).
        mode: ``"align"`` (with ``text``), ``"en"`` or ``"any"``.
        text: the transcript for ``"align"``.
    """

    path: Path
    mode: str
    text: str = ""


def _transcripts(path: Path) -> dict[str, str]:
    """fileid -> text of a Sphinx ``<s> text </s> (fileid)`` transcription file."""
    out = {}
    for line in path.read_text().splitlines():
        m = re.match(r"\s*<s>(.*)</s>\s*\((.+)\)\s*$", line)
        if m:
            out[m.group(2).strip()] = m.group(1).strip()
    return out


def default_sources(shared: Path | None = None) -> list[SpeechSource]:
    """The real speech on this machine besides the held-out evaluation speaker (see module doc).

    Args:
        shared: the ``../shared/data`` folder (its ``eng.wav``, ``sun.wav`` and ``yongen.wav``), if present.
    """
    out: list[SpeechSource] = []
    base = POCKETSPHINX_TESTDATA
    for folder, listing in (("librivox", "transcription"), ("cards", "cards.transcription")):
        if (base / folder / listing).is_file():
            for fileid, text in sorted(_transcripts(base / folder / listing).items()):
                wav = base / folder / f"{fileid}.wav"
                if wav.is_file():
                    out.append(SpeechSource(wav, "align", text))
    for raw in ("goforward.raw", "numbers.raw", "something.raw"):
        if (base / raw).is_file():
            out.append(SpeechSource(base / raw, "en"))
    if shared is not None:
        out += [SpeechSource(shared / name, mode) for name, mode in (("eng.wav", "en"), ("sun.wav", "any"),
                                                                     ("yongen.wav", "any")) if (shared / name).is_file()]
    return out


def read_pcm(path: Path) -> np.ndarray:
    """(n,) float32 16 kHz mono of an audio file (``.raw``: 16 kHz mono little-endian int16)."""
    from dhsdk.audio import load_audio

    if path.suffix == ".raw":
        return np.fromfile(path, "<i2").astype(np.float32) / 32768.0
    return load_audio(path)


def label(source: SpeechSource) -> list[tuple[float, float, str]]:
    """Phone timings (start s, end s, ARPAbet) of a source (no cache); a transcript that will not
    align falls back to recognition."""
    from dhsdk.audio.phones import align, recognize, recognize_phones

    pcm = read_pcm(source.path)
    if source.mode == "align":
        phones = align(pcm, source.text)
        if all(p.label == "SIL" for p in phones):   # the transcript would not align (overlapping talkers...)
            phones = recognize(pcm)[1]
    elif source.mode == "en":
        phones = recognize(pcm)[1]
    else:
        phones = recognize_phones(pcm)
    return [(p.start, p.end, p.label) for p in phones]


def labelled(sources: list[SpeechSource], cache: Path | None = None,
             show_progress: bool = True) -> list[tuple[str, np.ndarray, list[tuple[float, float, str]]]]:
    """(name, 16 kHz PCM, phones) of every source, labels cached by file content and mode."""
    from dhsdk.atomic import atomic_file
    from dhsdk.paths import cache_root, file_sha256
    from dhsdk.progress import progress

    cache = Path(cache) if cache is not None else cache_root() / "a2k-teacher"
    cache.mkdir(parents=True, exist_ok=True)
    out = []
    for src in progress(sources, total=len(sources), desc="label speech", unit="file", enabled=show_progress):
        key = cache / f"{src.path.stem}-{src.mode}-{file_sha256(src.path)[:16]}.json"
        if not key.is_file():
            with atomic_file(key) as tmp:
                Path(tmp).write_text(json.dumps(label(src)))
        out.append((src.path.stem, read_pcm(src.path), [tuple(p) for p in json.loads(key.read_text())]))
    return out
