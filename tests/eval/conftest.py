"""Session fixtures of the evaluation tests: real renders made once with ``dhsdk render`` on the
default avatar (built into a temporary DHSDK_CACHE, never ~/.cache), and desynced copies of
them made the way real ones come about (:mod:`eval_media`).

Every known answer comes from how a file was made: a render is in sync by construction (the
renderer times lips and sound from one clock), a re-mux moves the audio by an exact amount.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from eval_media import GRID_CLIP, GRID_PRIMING_S, SHIFT_S, render, shift_audio, write_wav


@pytest.fixture(scope="session")
def eval_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("eval")


@pytest.fixture(scope="session")
def avatar_dir(tmp_path_factory) -> Path:
    """The default avatar's bundle, built once into a session DHSDK_CACHE."""
    from dhsdk.avatar import Avatar

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DHSDK_CACHE", str(tmp_path_factory.mktemp("dhsdk-cache")))
        return Avatar.default().path


@pytest.fixture(scope="session")
def tts_render(avatar_dir, eval_dir) -> Path:
    """0.8 s silence, :data:`eval_media.SENTENCE` from espeak-ng, 1 s silence, rendered (5.7 s)."""
    from dhsdk.adapters.tts.espeak import EspeakTTS
    from dhsdk.audio import load_audio

    from eval_media import SENTENCE

    chunk = EspeakTTS(voice="en-us").synthesize(SENTENCE)
    voice = load_audio((chunk.pcm, chunk.sample_rate))
    pcm = np.concatenate([np.zeros(12800, np.float32), voice, np.zeros(16000, np.float32)])
    return render(avatar_dir, write_wav(eval_dir / "tts.wav", pcm), eval_dir / "tts.mp4")


@pytest.fixture(scope="session")
def tts_frames(tts_render) -> int:
    """Video frames of the TTS render, from its soundtrack's length (espeak-ng's output varies by
    a few milliseconds with what the process synthesised before, so the count is not fixed)."""
    import wave

    from dhsdk.models.a2k_runner import frame_count

    with wave.open(str(tts_render.with_suffix(".wav"))) as w:
        return frame_count(w.getnframes(), 25.0)


@pytest.fixture(scope="session")
def tts_desynced(tts_render, eval_dir) -> dict[float, Path]:
    """The TTS render with its audio 120 ms late (+) and 120 ms early (-)."""
    return {s: shift_audio(tts_render, eval_dir / f"tts_{s:+.2f}.mp4", s) for s in (SHIFT_S, -SHIFT_S)}


@pytest.fixture(scope="session")
def grid_clip(shared_data) -> tuple[Path, Path]:
    """(video, .align) of one real GRID sentence."""
    video = shared_data / "grid_s1" / f"{GRID_CLIP}.mp4"
    if not video.is_file():
        pytest.skip(f"{video} not present")
    return video, video.with_suffix(".align")


@pytest.fixture(scope="session")
def grid_in_sync(grid_clip, eval_dir) -> Path:
    """The GRID clip with its AAC priming undone (audio 64 ms earlier): truly in sync."""
    return shift_audio(grid_clip[0], eval_dir / f"{GRID_CLIP}_sync.mp4", -GRID_PRIMING_S)
