"""Lip-sync measured on video (dhsdk/eval/lipsync.py): lag search on series with a known shift,
mouth tracks of real renders, and the A/V offset of renders desynced by a known amount (issue 13:
a render with audio shifted by 120 ms must be flagged at 120 +- 40 ms, the in-sync one passes)."""
from __future__ import annotations

import numpy as np
import pytest

from eval_media import SHIFT_S, render, shift_audio, write_wav
from dhsdk.eval import checks as ck
from dhsdk.eval.evaluate import evaluate
from dhsdk.eval.lipsync import LagCurve, av_offset, compare, lag_curve, mouth_track, pearson

FPS = 25.0


def smooth_series(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.convolve(rng.standard_normal(n + 8), np.hanning(9), "valid")[:n]


@pytest.mark.parametrize("shift", [-4, -1, 0, 3, 5])
def test_lag_curve_finds_a_whole_frame_shift(shift):
    s = smooth_series(200)
    x = np.roll(s, shift)          # x[t] = s[t - shift]: x trails s by `shift` frames
    curve = lag_curve(x[10:-10], s[10:-10], FPS, 240.0)
    assert curve.best == pytest.approx(shift, abs=0.05)
    assert curve.best_ms == pytest.approx(1000 * shift / FPS, abs=2)
    assert curve.peak > 0.99 and not curve.at_edge


def test_lag_curve_refines_a_fractional_shift():
    t = np.arange(300)
    s = np.sin(2 * np.pi * t / 37) + 0.5 * np.sin(2 * np.pi * t / 13 + 1)
    x = np.sin(2 * np.pi * (t - 2.5) / 37) + 0.5 * np.sin(2 * np.pi * (t - 2.5) / 13 + 1)
    assert lag_curve(x, s, FPS, 200.0).best == pytest.approx(2.5, abs=0.25)


def test_lag_curve_prefers_the_smallest_of_equal_peaks():
    """A rhythmic signal correlates again one period later: the smallest shift wins."""
    t = np.arange(400)
    s = np.sin(2 * np.pi * t / 6)
    x = np.roll(s, 1)
    curve = lag_curve(x, s, FPS, 300.0)   # peaks at 1, 7 and -5 frames, all r ~ 1
    assert np.sum(curve.corr > 0.95) >= 3
    assert round(curve.best) == 1


def test_lag_curve_masks_and_edges():
    s = smooth_series(120)
    x = np.roll(s, 2)
    valid = np.ones(120, bool)
    valid[40:60] = False
    x_bad = x.copy()
    x_bad[40:60] = 50.0          # garbage where the face was lost
    assert lag_curve(x_bad, s, FPS, 200.0, valid).best == pytest.approx(2, abs=0.05)
    assert lag_curve(np.roll(s, 9), s, FPS, 200.0).at_edge            # true lag beyond the window
    assert np.isnan(pearson(np.ones(50), s[:50])) and np.isnan(pearson(s[:5], s[:5]))
    assert np.isnan(LagCurve(np.arange(-2, 3), np.full(5, np.nan), FPS).best)


def test_mouth_track_of_a_render(tts_render, tts_frames):
    tr = mouth_track(tts_render)
    assert 140 <= tts_frames <= 146 and tr.frames == tts_frames and tr.fps == FPS and tr.size == (384, 512)
    assert tr.found.all()
    assert tr.lips.shape == (tts_frames, 40, 2)
    assert len(tr.pcm) == pytest.approx(tr.duration * 16000, abs=16000 / FPS)
    assert np.abs(tr.opening[:15]).max() < 0.02           # the leading 0.8 s of silence: closed
    assert tr.opening[25:115].max() > 0.15                 # speaking: open
    lag, r = av_offset(tr.opening, tr.pcm, tr.fps, tr.found)
    assert abs(lag) < ck.AV_OFFSET_MS[0] and r > 0.5


def _offset(path):
    report = evaluate(path, groups=[ck.SyncGroup()])
    return report.check("av_offset")


def _assert_flagged(sync, late, shift, bound=40.0):
    """``late``: the desynced copy's av_offset check; ``sync``: the in-sync render's."""
    assert sync.status == "pass", sync
    assert late.status in ("warn", "fail"), late
    assert abs(late.value) == pytest.approx(1000 * abs(shift), abs=bound), late
    assert late.value - sync.value == pytest.approx(-1000 * shift, abs=20), (sync, late)
    assert ("audio lags" if shift > 0 else "audio leads") in late.reason


def test_tts_render_desync_is_flagged(tts_render, tts_desynced):
    """espeak-ng speech (always available): the in-sync render passes, 120 ms either way is flagged."""
    sync = _offset(tts_render)
    for shift, path in tts_desynced.items():
        _assert_flagged(sync, _offset(path), shift)
    assert _offset(tts_desynced[-SHIFT_S]).status == "fail"     # audio ahead of the lips: the worse case


@pytest.mark.slow
def test_real_speech_render_desync_is_flagged(shared_data, avatar_dir, eval_dir):
    """Real English speech (eng.wav, 2.4-8.4 s: a pause, then talk) rendered, then desynced."""
    from dhsdk.audio import load_audio

    pcm = load_audio(shared_data / "eng.wav")[int(2.4 * 16000):int(8.4 * 16000)]
    out = render(avatar_dir, write_wav(eval_dir / "eng.wav", pcm), eval_dir / "eng.mp4")
    sync = _offset(out)
    for shift in (SHIFT_S, -SHIFT_S):
        _assert_flagged(sync, _offset(shift_audio(out, eval_dir / f"eng_{shift:+.2f}.mp4", shift)), shift)


def test_real_clip_against_itself(grid_clip, grid_in_sync):
    """A real GRID sentence as its own reference: r = 1 at lag 0. Its A/V offset as stored reads
    the 64 ms its AAC priming delays the audio by (plus the speaker's own timing), and near 0
    with the priming undone."""
    video, _ = grid_clip
    tr = mouth_track(video)
    same = compare(tr, tr)
    assert same["corr"] > 0.999 and same["best_lag_ms"] == 0 and same["frames"] == tr.frames
    report = evaluate(tr, reference=tr, groups=[ck.ReferenceGroup(), ck.SyncGroup()])
    assert [report.check(n).status for n in ("ref_corr", "ref_lag", "av_offset")] == ["pass"] * 3
    assert -100 < report.check("av_offset").value < 0
    fixed = evaluate(grid_in_sync, groups=[ck.SyncGroup()]).check("av_offset")
    assert fixed.status == "pass" and abs(fixed.value) <= 40, fixed


def test_reference_at_another_frame_rate(grid_clip):
    """A 25 fps reference judged against a 50 fps copy of itself (frames doubled): still r ~ 1, lag 0."""
    from dataclasses import replace

    tr = mouth_track(grid_clip[0])
    doubled = replace(tr, fps=50.0, opening=np.repeat(tr.opening, 2), found=np.repeat(tr.found, 2))
    c = compare(doubled, tr)
    assert c["corr"] > 0.97 and abs(c["best_lag_ms"]) <= 20
