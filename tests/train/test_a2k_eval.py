"""a2k metrics on constructed cases with known answers: perfect prediction, a known lag,
closure counting and the teacher agreement."""
import numpy as np
import pytest

from dhsdk.models.lipshape import coeffs_to_deltas
from dhsdk.train import a2k_eval
from dhsdk.train.av_data import AVClip


def _clip(seed: int = 0) -> AVClip:
    """A 4 s clip whose measured lips follow a random smooth opening curve, with a 'b' closure."""
    rng = np.random.default_rng(seed)
    fps, t = 25.0, 100
    curve = np.convolve(rng.uniform(0, 1, t), np.ones(5) / 5, mode="same")
    coeffs = np.zeros((t, 6), np.float32)
    coeffs[:, 0] = curve
    coeffs[:15] = 0
    coeffs[85:] = 0
    coeffs[48:51] = [0, 0, 0, 0, 0, 1]
    from dhsdk.models.lipshape import template

    lips = template() + coeffs_to_deltas(coeffs)
    phones = [(0.6, 1.9, "AA"), (1.9, 2.05, "B"), (2.05, 3.4, "AA")]
    return AVClip("c", fps, np.zeros(64000, np.float32), lips, template(), [], phones)


def test_perfect_prediction_and_a_known_lag():
    clip = _clip()
    exact = lambda pcm, fps: clip.deltas      # noqa: E731
    m = a2k_eval.real_lips(exact, [clip])
    assert m["opening_corr"] == pytest.approx(1.0) and m["best_lag_ms"] == 0.0
    assert m["pbm_closed"] == 1.0 and m["silence_closed"] == 1.0
    late = lambda pcm, fps: np.concatenate([np.zeros((3, 40, 2), np.float32), clip.deltas[:-3]])   # noqa: E731
    m = a2k_eval.real_lips(late, [clip])
    assert m["best_lag_ms"] == pytest.approx(120.0, abs=10) and m["opening_corr"] < m["opening_corr_best"]


def test_open_prediction_fails_closure():
    clip = _clip()
    wide = lambda pcm, fps: clip.deltas * 0 + coeffs_to_deltas(np.array([[1, 0, 0, 0, 0, 0]], np.float32))  # noqa: E731
    m = a2k_eval.real_lips(wide, [clip])
    assert m["pbm_closed"] == 0.0 and m["silence_closed"] == 0.0


def test_teacher_agreement_of_the_teacher_is_perfect():
    from dhsdk.models.a2k_runner import frame_count
    from dhsdk.train.visemes import targets

    phones = [(0.3, 0.5, "AA"), (0.5, 0.6, "M"), (0.6, 0.9, "IY"), (1.2, 1.5, "OW"), (1.5, 1.6, "P")]
    pcm = np.zeros(32000, np.float32)

    def teach(pcm, fps):
        tgt = targets(phones, len(pcm) / 16000)
        idx = np.clip(np.round(np.arange(frame_count(len(pcm), fps)) * 100 / fps).astype(int), 0, len(tgt) - 1)
        return coeffs_to_deltas(tgt[idx])

    m = a2k_eval.teacher_agreement(teach, pcm, phones, window_s=2.0)
    assert m["windows"] == 1 and m["teacher_corr"] == pytest.approx(1.0)


def test_open_mouth_before_the_words_counts_only_in_the_whole_clip_r():
    """A speaker who holds the mouth open in the silence before the sentence (frames 0-12, the
    first phone starts at 0.6 s = frame 15): a prediction that is exact within the words and
    closed before them loses whole-clip r but keeps r = 1 within the words."""
    from dhsdk.models.lipshape import template

    clip = _clip()
    exact = clip.deltas.copy()
    breath = np.zeros((13, 6), np.float32)
    breath[:, 0] = 0.8
    clip.lips[:13] = template() + coeffs_to_deltas(breath)
    m = a2k_eval.real_lips(lambda pcm, fps: exact, [clip])
    assert m["opening_corr_words"] == pytest.approx(1.0)
    assert m["opening_corr"] < 0.9
    times = np.arange(100) / 25.0
    inside = a2k_eval.within_words(clip.phones, times)
    assert inside.sum() == int(round((3.4 - 0.6) * 25)) and not inside[:15].any() and not inside[85:].any()


def _breath_clip(seed: int, breath: bool, cue: bool) -> AVClip:
    """3 s at 25 fps: silence, a word at 1.0-1.5 s, silence. With ``breath`` the mouth is open
    (gap 0.1) over 0.3-0.7 s; with ``cue`` those frames also carry a breath: noise at the
    background's level but in a band of its own."""
    rng = np.random.default_rng(seed)
    fps, n = 25.0, 75
    pcm = rng.normal(0, 0.003, 48000).astype(np.float32)
    lips = np.zeros((n, 40, 2), np.float32)
    lips[25:38, 25, 1] = 0.1                                              # the word
    if breath:
        lips[8:18, 25, 1] = 0.1
        if cue:
            a, b = int(0.3 * 16000), int(0.7 * 16000)
            band = np.sin(2 * np.pi * rng.uniform(700, 900, 12)[:, None] * np.arange(b - a) / 16000
                          + rng.uniform(0, 6.3, (12, 1))).sum(0)
            pcm[a:b] = pcm[a:b] * 0.3 + band / np.std(band) * 0.003 * 0.95
    phones = [(0.0, 1.0, "SIL"), (1.0, 1.5, "AA"), (1.5, 3.0, "SIL")]
    return AVClip(f"b{seed}", fps, pcm, lips, np.zeros((40, 2), np.float32), [], phones)


@pytest.mark.parametrize("cue", [True, False])
def test_breath_audibility_finds_a_breath_the_level_does_not_show(cue):
    clips = [_breath_clip(i, breath=i % 2 == 0, cue=cue) for i in range(24)]
    x, y = a2k_eval.breath_frames(clips[0])
    assert x.shape == (len(y), 160) and y.sum() == 10 and (~y).sum() >= 5   # frames 8-17 open
    got = a2k_eval.breath_audibility(clips[:12], clips[12:])
    assert got["test_open_frames"] == 60
    if cue:
        assert got["auc"] > 0.95, got
    else:
        assert 0.25 < got["auc"] < 0.75, got
