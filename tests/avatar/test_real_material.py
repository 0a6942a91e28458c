"""The review and avatar creation on the real presenter clips in ../shared/data (skipped with a
reason when the folder is absent; never copied into the repository)."""
from __future__ import annotations

import pytest

from dhsdk.avatar import review as rv
from dhsdk.avatar.create import create_avatar, review_material

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("name", ["sun.mp4", "yongen.mp4"])
def test_real_clip_review(shared_data, name):
    """Both are usable base videos: the review warns (short, below 720p, no audio) but fails
    nothing; the tracker on real footage is well inside the jitter bound (measured raw
    0.0064 / 0.0107 eye distances, smoothed 0.0013 / 0.0021)."""
    path = shared_data / name
    if not path.is_file():
        pytest.skip(f"{path} not present")
    report, analysis = review_material(path, show_progress=False)
    assert report.verdict == "warn", report.text()
    assert analysis.track is not None and analysis.track.found.mean() > 0.99
    for check in ("decodable", "one_face", "sharpness", "exposure", "mouth_visible", "head_pose", "jitter"):
        assert report.check(check).status == "pass", report.check(check)
    raw = report.check("jitter").value
    assert raw < rv.JITTER[0]
    assert analysis.track.jitter() < raw / 3


def test_real_clip_avatar(shared_data, tmp_path):
    path = shared_data / "sun.mp4"
    if not path.is_file():
        pytest.skip(f"{path} not present")
    avatar, report = create_avatar(path, tmp_path / "sun", show_progress=False)
    assert (avatar.width, avatar.height, avatar.num_frames) == (576, 768, 550)
    loop = avatar.idle_loop
    assert loop.length >= 2 * avatar.fps
    idx = [loop.index(k) for k in range(10 * loop.period)]
    if loop.mode == "pingpong":
        assert max(abs(a - b) for a, b in zip(idx, idx[1:])) <= 1
