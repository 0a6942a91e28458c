"""The swap section of ``dhsdk eval`` (dhsdk/eval/swap.py): a render of the swapped avatar is
judged to carry the photo's identity; for any other avatar the section does not appear."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


def test_swapped_render_has_the_photos_identity(swap_avatar, tmp_path):
    from dhsdk.eval import evaluate

    avatar, _ = swap_avatar
    out = tmp_path / "render.mp4"
    avatar.render(text="Hello and welcome", out=str(out), mouth="warp")
    report = evaluate(out, avatar=avatar)
    check = report.check("swap_identity")
    assert check.status == "pass" and check.value >= 0.8, check
    assert report.info["groups"]["swap"] == ["swap_identity"]


def test_other_avatars_have_no_swap_section(default_avatar, tmp_path):
    from dhsdk.eval import evaluate

    out = tmp_path / "render.mp4"
    default_avatar.render(text="Hello", out=str(out), mouth="warp")
    report = evaluate(out, avatar=default_avatar)
    assert report.info["groups"]["swap"] == [] and "swap_identity" not in {c.name for c in report.checks}
