"""a2k training data: the pool's windows are the runner's windows, measured targets keep the
contracts, generated utterances are labelled, and the three sources mix as asked."""
import numpy as np
import pytest

from dhsdk.models.a2k_runner import FUTURE, PAST, mel_windows
from dhsdk.geometry import mouth_opening
from dhsdk.models.lipshape import K, coeffs_to_deltas
from dhsdk.train import a2k_data
from dhsdk.train.a2k_adapt import project
from dhsdk.train.av_data import AVClip


def _utt(frames: int, source: str, seed: int) -> a2k_data.Utterance:
    rng = np.random.default_rng(seed)
    mel = rng.normal(-6, 3, (frames, 80)).astype(np.float32)
    target = rng.normal(0, 1, (frames, K)).astype(np.float32)
    mask = rng.random(frames) > 0.3
    return a2k_data.Utterance(mel, target, mask, source)


def test_pool_windows_equal_the_runner_windows():
    utts = [_utt(50, "real", 0), _utt(7, "teacher", 1), _utt(80, "generated", 2)]
    pool = a2k_data.Pool(utts, PAST, FUTURE)
    assert {s: pool.frames(s) for s in pool.sources} == {u.source: int(u.mask.sum()) for u in utts}
    rng = np.random.default_rng(0)
    x, y = pool.batch(64, rng, {"real": 1, "teacher": 1, "generated": 1})
    assert x.shape == (64, 80, PAST + 1 + FUTURE) and y.shape == (64, K)
    # Every drawn window is some utterance's runner window at a valid frame with that frame's target.
    for xi, yi in zip(x, y):
        hits = [(u, c) for u in utts for c in np.flatnonzero(u.mask) if np.array_equal(u.target[c], yi)]
        assert len(hits) == 1
        u, c = hits[0]
        np.testing.assert_array_equal(xi, mel_windows(u.mel, 0, np.array([c]))[0])


def test_pool_runs_are_consecutive_frames_of_one_utterance():
    """Each run is ``length`` valid frames ``stride`` apart inside one utterance, window and target
    alike; a source too short for a run is refused with a message."""
    utts = [_utt(120, "real", 0), _utt(90, "generated", 2)]
    for u in utts:
        u.mask[:] = True
        u.mask[40] = False            # a run must not cross an invalid frame
    pool = a2k_data.Pool(utts, PAST, FUTURE)
    x, y = pool.sequences(6, 8, 4, np.random.default_rng(3), {"real": 1, "generated": 1})
    assert x.shape == (48, 80, PAST + 1 + FUTURE) and y.shape == (48, K)
    for run_x, run_y in zip(x.reshape(6, 8, 80, -1), y.reshape(6, 8, K)):
        u = next(u for u in utts if any(np.array_equal(u.target[c], run_y[0]) for c in range(len(u.target))))
        first = next(c for c in range(len(u.target)) if np.array_equal(u.target[c], run_y[0]))
        frames = first + 4 * np.arange(8)
        assert u.mask[frames].all()
        np.testing.assert_array_equal(run_y, u.target[frames])
        np.testing.assert_array_equal(run_x, mel_windows(u.mel, 0, frames))
    with pytest.raises(ValueError, match="no run of 40"):
        pool.sequences(2, 40, 4, np.random.default_rng(0), {"real": 1})


def test_pool_mixes_sources_by_weight():
    pool = a2k_data.Pool([_utt(200, "real", 0), _utt(200, "generated", 1)], PAST, FUTURE)
    _, y = pool.batch(4000, np.random.default_rng(1), {"real": 0.8, "generated": 0.2, "teacher": 0.5})
    real = {tuple(r) for r in pool.target[pool.index["real"]]}
    share = np.mean([tuple(r) in real for r in y])
    assert 0.75 < share < 0.85


def _clip() -> AVClip:
    """A measured clip: the mouth opens and closes in speech; the face is lost in frame 30."""
    fps, t = 25.0, 50
    lips = np.zeros((t, 40, 2), np.float32)
    lips[:, 25, 1] = 0.1 * np.sin(np.linspace(0, 3 * np.pi, t)) ** 2     # inner lower lip moves
    lips[30] = np.nan
    phones = [(0.5, 0.7, "AA"), (0.7, 0.8, "B"), (0.8, 1.2, "IY")]
    return AVClip("x", fps, np.zeros(32000, np.float32), lips, np.zeros((40, 2), np.float32), [], phones)


def test_measured_targets_keep_the_contracts():
    clip = _clip()
    gaps = mouth_opening(coeffs_to_deltas(np.eye(K)))
    wide = coeffs_to_deltas(np.eye(K)[np.argmax(gaps)] * 0.08 / gaps.max())   # gap 0.08
    clip.lips[4:9] += wide                                                # a breath in silence
    clip.lips[14:17] += wide                                              # and an "a" in speech
    target, valid = a2k_data.measured_targets(clip)
    assert target.shape == (200, K)
    np.testing.assert_array_equal(target[75], [0, 0, 0, 0, 0, 1])      # b: closed
    assert not valid[119] and not valid[121] and valid[60]             # frame 30 (1.2 s) lost
    assert np.abs(target[60]).sum() > 0                                # speech: measured
    # Silence away from speech keeps the measured shape, its gap at most BREATH_GAP.
    gap = mouth_opening(coeffs_to_deltas(target))
    projected = mouth_opening(coeffs_to_deltas(project(np.nan_to_num(clip.deltas))))
    measured = np.interp(np.arange(200) / 100, np.arange(50) / 25, projected)
    rest = np.r_[0:40, 130:200]
    assert valid[rest].all() and (measured[rest] > a2k_data.BREATH_GAP).any()
    np.testing.assert_allclose(gap[rest], np.minimum(measured[rest], a2k_data.BREATH_GAP), atol=1e-5)
    assert gap[60] == pytest.approx(measured[60], abs=1e-5) and gap[60] > 0.07   # speech is not capped


def test_teacher_targets_leave_silence_away_from_speech_unlabelled():
    phones = [(0.0, 0.5, "SIL"), (0.5, 0.7, "AA"), (0.7, 1.5, "SIL")]
    (u,) = a2k_data.teacher_utterances(np.zeros(24000, np.float32), phones, 0, np.random.default_rng(0))
    assert u.source == "teacher" and u.mask[50:70].all() and u.mask[45] and u.mask[74]
    assert not u.mask[:40].any() and not u.mask[80:].any()


def test_generated_utterance_is_labelled():
    pytest.importorskip("espeakng_loader")
    first, copy = a2k_data.make_utterance(5, a2k_data.TRAIN_VOICES, copies=1)
    for u in (first, copy):
        assert u.mel.shape[1] == 80 and len(u.target) >= len(u.mel) - 2 and u.source == "generated"
    assert (first.target[:, 5] == 1).any() or (np.abs(first.target).sum(1) > 0).mean() > 0.3
    assert np.all(first.target[:3] == 0)                               # leading silence is neutral
