"""The checks and their pooling (dhsdk/eval/checks.py) on constructed clips with known numbers."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dhsdk.eval import checks as ck
from dhsdk.eval.lipsync import LagCurve, MouthTrack
from dhsdk.eval.soundtrack import Envelope

FPS = 25.0


def clip(opening: np.ndarray, silent: np.ndarray, lips: np.ndarray | None = None, phones=None) -> ck.EvalClip:
    """A clip with a given mouth and silence (no video behind it: the mouth checks read only these)."""
    n = len(opening)
    lips = np.zeros((n, 40, 2)) if lips is None else lips
    track = MouthTrack(Path("made.mp4"), FPS, np.asarray(opening, np.float64), lips, np.ones(n, bool), None,
                       np.zeros(16000, np.float32), (64, 64))
    activity = np.where(silent, 0.0, 1.0).astype(np.float32)
    env = Envelope(np.zeros(n, np.float32), -45.0, activity * 10, activity)
    return ck.EvalClip(track, env, phones=phones)


def test_grade_limits():
    assert [ck.grade(v, 0.6, 0.3) for v in (0.6, 0.59, 0.3, 0.29)] == ["pass", "warn", "warn", "fail"]
    assert [ck.grade(v, 60, 100, higher_is_better=False) for v in (60, 61, 100, 101)] == ["pass", "warn", "warn",
                                                                                          "fail"]
    assert ck.examples(np.zeros(5, bool)) == [] and ck.examples(np.arange(10) > 5) == [6, 7, 8, 9]


def test_silence_closure_and_jitter_from_known_numbers():
    rng = np.random.default_rng(1)
    n = 100
    silent = np.zeros(n, bool)
    silent[:40] = True
    opening = np.full(n, 0.15)
    opening[:40] = 0.01
    opening[[5, 6]] = 0.2                      # two open frames in silence: 38 / 40 closed
    sigma = 0.004
    lips = rng.normal(0, sigma, (n, 40, 2))    # white noise: second difference has variance 6 sigma^2 per axis
    m = ck.MouthGroup().measure(clip(opening, silent, lips))
    assert m["silent_frames"] == 40 and m["silence_closed"] == pytest.approx(38 / 40)
    assert m["jitter"] == pytest.approx(sigma * np.sqrt(12), rel=0.1)
    checks = {c.name: c for c in ck.MouthGroup().grade(m)}
    assert checks["silence_closed"].status == "pass"              # 95 %: just at the limit
    assert checks["silence_closed"].frames == [5, 6]
    assert checks["pbm_closure"].status == "skip"
    assert checks["jitter"].status == ck.grade(m["jitter"], *ck.JITTER, higher_is_better=False)


def test_pooling_counts_frames_not_clips():
    """Shares pool over all frames: 40 of 40 and 0 of 10 silent frames closed is 80 %, not 50 %."""
    n = 60
    a_silent, b_silent = np.arange(n) < 40, np.arange(n) < 10
    a = ck.MouthGroup().measure(clip(np.zeros(n), a_silent))
    b = ck.MouthGroup().measure(clip(np.full(n, 0.3), b_silent))
    pooled = ck.MouthGroup().pool([a, b])
    assert pooled["silent_frames"] == 50 and pooled["silence_closed"] == pytest.approx(0.8)
    assert ck.MouthGroup().grade(pooled)[0].status == "warn"


def test_no_audio_and_no_reference_skip():
    t = clip(np.zeros(30), np.ones(30, bool))
    t.envelope = None
    assert {c.status for c in ck.MouthGroup().grade(ck.MouthGroup().measure(t))} == {"skip"}
    assert ck.SyncGroup().grade(ck.SyncGroup().measure(t))[0].status == "skip"
    quiet = clip(np.zeros(30), np.ones(30, bool))
    assert ck.SyncGroup().grade(ck.SyncGroup().measure(quiet))[0].reason == "no speech in the soundtrack"
    still = clip(np.zeros(30), np.arange(30) < 10)                  # speech, but the mouth never moves
    assert ck.SyncGroup().grade(ck.SyncGroup().measure(still))[0].status == "warn"
    ref = ck.ReferenceGroup()
    assert [c.status for c in ref.grade(ref.measure(t))] == ["skip", "skip"]
    assert [c.status for c in ref.grade(ref.pool([ref.measure(t)]))] == ["skip", "skip"]


def _sync(lag_frames: float, r: float, edge: bool = False) -> dict:
    lags = np.arange(-8, 9)
    corr = r - 0.05 * (lags - lag_frames) ** 2
    if edge:
        corr = r - 0.05 * (lags - 8.0) ** 2
    curve = LagCurve(lags, corr, FPS)
    return {"av_offset_ms": curve.best_ms, "av_corr": curve.peak, "av_at_edge": curve.at_edge, "av_frames": 100,
            "_curve": curve}


def test_av_offset_verdicts():
    g = ck.SyncGroup()
    ok = g.grade(_sync(1, 0.8))[0]
    assert ok.status == "pass" and ok.value == pytest.approx(40) and "audio leads" in ok.reason
    late = g.grade(_sync(-3, 0.8))[0]
    assert late.status == "fail" and "leads the sound by 120 ms" in late.reason and "audio lags" in late.reason
    assert "advance the audio by 120 ms" in late.fix
    assert g.grade(_sync(2, 0.8))[0].status == "warn"                    # 80 ms
    weak = g.grade(_sync(-3, 0.3))[0]
    assert weak.status == "warn" and "not trusted" in weak.reason        # the mouth barely follows the sound
    edge = g.grade(_sync(0, 0.8, edge=True))[0]
    assert edge.status == "fail" and "trails the sound by at least 320 ms" in edge.reason
    pooled = g.pool([_sync(1, 0.8), _sync(1, 0.6)])
    assert pooled["av_offset_ms"] == pytest.approx(40) and pooled["av_frames"] == 200


def test_closed_threshold_of_the_default_avatar(avatar_dir):
    from dhsdk.avatar import Avatar

    assert ck.closed_threshold(Avatar.load(avatar_dir)) == pytest.approx(ck.CLOSED_GAP, abs=0.005)
