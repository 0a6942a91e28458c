"""Real audio-visual data: GRID alignments, the neutral mouth, per-frame (unsmoothed) lips of a real
clip, and the cache."""
import numpy as np
import pytest

from dhsdk.geometry import mouth_opening
from dhsdk.train import av_data


def test_neutral_is_closed_median_of_closed_frames():
    from dhsdk.models.lipshape import template

    rng = np.random.default_rng(0)
    lips = np.repeat(template()[None], 40, 0)
    lips[:, 21:30, 1] += rng.uniform(0.0, 0.2, (40, 1))        # inner lower lip: open by a random gap
    lips[:10, 21:30, 1] = template()[21:30, 1] + 0.01
    lips[5] = np.nan
    neutral = av_data.neutral_of(lips)
    assert abs(float(mouth_opening(neutral))) < 1e-6


@pytest.fixture(scope="module")
def grid_clip(shared_data):
    pytest.importorskip("mediapipe")
    pytest.importorskip("pocketsphinx")
    return av_data.measure(shared_data / "grid_s1" / "bbaf2n.mp4")


def test_real_clip_lips_follow_the_words(grid_clip):
    """bbaf2n 'bin blue at f two now': closed before and after, open in the words, closed in 'b'."""
    c = grid_clip
    assert c.fps == 25 and len(c.lips) == 75 and c.found.all()
    op = c.opening
    t = np.arange(len(op)) / c.fps
    words = c.words
    assert [w for *_, w in words] == ["bin", "blue", "at", "f", "two", "now"]
    start, end = words[0][0], words[-1][1]
    assert np.median(op[t > end + 0.3]) < 0.02
    assert op[(t > start) & (t < end)].max() > 0.1
    b = [p for p in c.phones if p[2] == "B"]
    assert len(b) == 2 and op[(t >= b[1][0] - 0.04) & (t < b[1][1] + 0.04)].min() < 0.03


def test_cache_round_trip(grid_clip, tmp_path):
    av_data._save(grid_clip, tmp_path / "c.npz")
    back = av_data._read(tmp_path / "c.npz")
    np.testing.assert_array_equal(back.lips, grid_clip.lips)
    np.testing.assert_array_equal(back.pcm, grid_clip.pcm)
    assert back.phones == [tuple(p) for p in grid_clip.phones] and back.fps == grid_clip.fps
