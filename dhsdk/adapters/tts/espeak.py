"""espeak-ng TTS through ``espeakng-loader`` (bundled library and data, no system package) via ctypes.

The library is process-global and not thread-safe; a module lock serialises synthesis.
Phoneme events carry espeak's phoneme mnemonics and their time in the utterance.
"""
from __future__ import annotations

import ctypes
import re
import threading
from typing import Iterator

import numpy as np

from dhsdk.adapters.tts.base import TTS, sentences
from dhsdk.errors import InputError
from dhsdk.frames import AudioChunk

_LOCK = threading.Lock()
_LIB: list = []
_RATE: list[int] = []
_EVENT_PHONEME = 7
_EVENT_END = 0


class _Event(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("unique_identifier", ctypes.c_uint), ("text_position", ctypes.c_int),
                ("length", ctypes.c_int), ("audio_position", ctypes.c_int), ("sample", ctypes.c_int),
                ("user_data", ctypes.c_void_p), ("id", ctypes.c_char * 8)]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))
_STATE: dict = {}


@_CALLBACK
def _on_audio(wav, count, events):  # pragma: no cover - called from C
    if count > 0:
        _STATE["pcm"].append(np.ctypeslib.as_array(wav, shape=(count,)).copy())
    i = 0
    while events[i].type != _EVENT_END:
        if events[i].type == _EVENT_PHONEME:
            name = events[i].id.decode("utf-8", "replace")
            _STATE["phonemes"].append((events[i].audio_position / 1000.0, name))
        i += 1
    return 0


def _lib() -> ctypes.CDLL:
    if not _LIB:
        import espeakng_loader

        lib = ctypes.CDLL(espeakng_loader.get_library_path())
        lib.espeak_Initialize.restype = ctypes.c_int
        rate = lib.espeak_Initialize(1, 0, espeakng_loader.get_data_path().encode(), 1)  # retrieval, phoneme events
        if rate <= 0:
            raise InputError("espeak-ng failed to initialise: reinstall espeakng-loader")
        lib.espeak_SetSynthCallback(_on_audio)
        lib.espeak_Synth.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint,
                                     ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
        _LIB.append(lib)
        _RATE.append(rate)
    return _LIB[0]


_CJK = re.compile(r"[\u3400-\u9fff]")


class EspeakTTS(TTS):
    """espeak-ng voices (``en-us``, ``cmn``, any espeak voice name, with ``+variant`` e.g. ``en-us+f3``).

    Args:
        voice: espeak voice name, or ``"auto"``: ``cmn`` for sentences with Chinese characters,
            ``en-us`` otherwise (a bilingual live room).
        rate_wpm: speaking rate in words per minute (80..450).
        pitch: base pitch 0..100.
    """

    def __init__(self, voice: str = "en-us", rate_wpm: int = 170, pitch: int = 50):
        if not 80 <= rate_wpm <= 450 or not 0 <= pitch <= 100:
            raise InputError(f"espeak rate {rate_wpm} wpm / pitch {pitch} out of range: use 80..450 wpm "
                             "and pitch 0..100")
        self.voice, self.rate_wpm, self.pitch = voice, int(rate_wpm), int(pitch)

    def voice_for(self, text: str) -> str:
        """The espeak voice that speaks ``text``."""
        if self.voice != "auto":
            return self.voice
        return "cmn" if _CJK.search(text) else "en-us"

    def _synth(self, text: str) -> AudioChunk:
        lib = _lib()
        voice = self.voice_for(text)
        with _LOCK:
            if lib.espeak_SetVoiceByName(voice.encode()) != 0:
                raise InputError(f"unknown espeak voice {voice!r}: try 'en-us', 'cmn' or 'auto'")
            lib.espeak_SetParameter(1, self.rate_wpm, 0)  # espeakRATE
            lib.espeak_SetParameter(3, self.pitch, 0)     # espeakPITCH
            _STATE.update(pcm=[], phonemes=[])
            data = text.encode("utf-8") + b"\0"
            lib.espeak_Synth(data, len(data), 0, 1, 0, 1, None, None)  # POS_CHARACTER, espeakCHARS_UTF8
            lib.espeak_Synchronize()
            pcm = np.concatenate(_STATE["pcm"]) if _STATE["pcm"] else np.zeros(0, np.int16)
            phonemes = list(_STATE["phonemes"])
        return AudioChunk(pcm=pcm.astype(np.float32) / 32768.0, sample_rate=_RATE[0], text=text, phonemes=phonemes)

    def synthesize_stream(self, text: str) -> Iterator[AudioChunk]:
        """One chunk per sentence, ``pts`` = seconds from the start of the text."""
        pts = 0.0
        for sentence in sentences(text):
            chunk = self._synth(sentence)
            chunk.pts = pts
            pts += chunk.duration
            yield chunk
