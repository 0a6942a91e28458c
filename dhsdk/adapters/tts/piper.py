"""Piper neural TTS (``pip install piper-tts``, 1.3 or newer) with a voice the user already has.

A Piper voice is an ONNX model plus its JSON config (``en_US-lessac-medium.onnx`` and
``en_US-lessac-medium.onnx.json``). dhsdk loads it from the given path and never downloads a
voice. Text is cut into sentences by :mod:`dhsdk.adapters.segment` (prices and product codes
stay whole), each synthesised on its own so speech starts after the first sentence. When the
voice model exposes phoneme alignments, chunks carry timed phoneme events.
"""
from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from dhsdk.adapters.tts.base import TTS, sentences
from dhsdk.errors import InputError
from dhsdk.frames import AudioChunk


def _piper_api() -> tuple[Any, Any]:
    """``(PiperVoice, SynthesisConfig)`` of piper-tts >= 1.3.

    Not through :func:`dhsdk._optional.require`: the module name ``piper`` is also taken by an
    unrelated PyPI package (and older piper-tts lacks this API), so the hint names the
    distribution and version.
    """
    try:
        from piper import PiperVoice, SynthesisConfig
    except ImportError as e:
        raise ImportError("the Piper TTS adapter needs the Python package piper-tts (1.3 or newer), which is not "
                          "installed: pip install piper-tts") from e
    return PiperVoice, SynthesisConfig


class PiperTTS(TTS):
    """A Piper voice loaded from disk.

    Args:
        model: path of the voice's ``.onnx`` file.
        config: path of its JSON config; ``<model>.json`` when None.
        speaker_id: speaker of a multi-speaker voice (its default when None).
        length_scale: phoneme duration scale (> 1 is slower); the voice's own when None.
        noise_scale, noise_w: generator and duration noise; the voice's own when None.
        volume: output gain.

    Raises:
        InputError: the model or config file does not exist.
        ImportError: piper-tts is not installed (with the command that installs it).
    """

    def __init__(self, model: str | Path, config: str | Path | None = None, speaker_id: int | None = None,
                 length_scale: float | None = None, noise_scale: float | None = None, noise_w: float | None = None,
                 volume: float = 1.0):
        model = Path(model)
        config = Path(config) if config is not None else Path(f"{model}.json")
        for path, what in ((model, "voice model (.onnx)"), (config, "voice config (.onnx.json)")):
            if not path.is_file():
                raise InputError(f"Piper {what} {path} does not exist: give the path of a voice you have "
                                 "(model.onnx with model.onnx.json beside it); dhsdk never downloads voices")
        voice_cls, config_cls = _piper_api()
        try:
            self.voice = voice_cls.load(model, config_path=config)
        except (OSError, ValueError, KeyError) as e:
            raise InputError(f"Piper voice {model} cannot be loaded ({e}): is it a Piper voice with its config?") from e
        except Exception as e:  # noqa: BLE001 - onnxruntime raises its own types for a bad model
            raise InputError(f"Piper voice model {model} is not a usable ONNX model ({e})") from e
        self.syn_config = config_cls(speaker_id=speaker_id, length_scale=length_scale, noise_scale=noise_scale,
                                     noise_w_scale=noise_w, volume=volume)
        self._aligned = "include_alignments" in inspect.signature(self.voice.synthesize).parameters

    @property
    def sample_rate(self) -> int:
        """Hz of the voice's audio."""
        return int(self.voice.config.sample_rate)

    def synthesize_stream(self, text: str) -> Iterator[AudioChunk]:
        """One chunk per sentence (or per Piper sentence within it), ``pts`` from the start of ``text``."""
        options = {"include_alignments": True} if self._aligned else {}
        pts = 0.0
        for sentence in sentences(text):
            for part in self.voice.synthesize(sentence, syn_config=self.syn_config, **options):
                pcm = np.asarray(part.audio_float_array, np.float32).reshape(-1)
                chunk = AudioChunk(pcm=pcm, sample_rate=part.sample_rate, pts=pts, text=sentence,
                                   phonemes=_phoneme_events(part))
                pts += chunk.duration
                yield chunk


def _phoneme_events(part: Any) -> list[tuple[float, str]]:
    """(start time in s, phoneme) from Piper's alignments; [] when the voice has none."""
    events, samples = [], 0
    for a in getattr(part, "phoneme_alignments", None) or []:
        events.append((samples / part.sample_rate, a.phoneme))
        samples += int(a.num_samples)
    return events
