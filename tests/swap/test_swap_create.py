"""create_swap_avatar and ``dhsdk avatar create --face --base``: the swapped clip goes through the
avatar review (with the swap's own checks) and bundle, lip-syncs like any avatar; bad photos and
stock clips are refused with the reason and nothing is left behind."""
from __future__ import annotations

import json

import numpy as np
import pytest

import swap_material as sm
from dhsdk.errors import InputError
from dhsdk.swap.create import create_swap_avatar

pytestmark = pytest.mark.slow


def test_bundle_review_and_manifest(swap_avatar, stock):
    avatar, report = swap_avatar
    checks = {c.name: c for c in report.checks}
    for name in ("swap_identity", "swap_seam", "swap_flicker"):
        assert checks[name].status == "pass", checks[name]
    assert report.verdict != "fail" and "swapped onto" in report.source
    doc = json.loads((avatar.path / "review.json").read_text())
    assert {c["name"] for c in doc["checks"]} >= {"swap_identity", "swap_seam", "swap_flicker", "face_size"}
    m = avatar.manifest
    assert m["source"]["name"] == "stock.mp4" and m["source"]["frames"] == 80
    assert m["swap"]["face"] == {"name": "astronaut"} and m["swap"]["base"]["name"] == "stock.mp4"
    assert m["swap"]["identity"]["closer_to_photo"] >= 0.9
    assert (avatar.path / m["swap"]["sheet"]).stat().st_size > 50_000
    assert (avatar.width, avatar.height, avatar.num_frames) == (384, 512, 80)


def test_swapped_avatar_speaks(swap_avatar, tmp_path):
    """The bundle lip-syncs like any avatar: text in, an mp4 out whose mouth opens."""
    avatar, _ = swap_avatar
    out = tmp_path / "pitch.mp4"
    summary = avatar.render(text="Only nineteen ninety nine today", out=str(out), mouth="warp")
    assert out.stat().st_size > 20_000 and summary.frames > 25


@pytest.mark.parametrize("case", ["two_faces", "no_face_stock", "small_face_stock"])
def test_bad_inputs_refused_nothing_left(case, stock, tmp_path):
    out = tmp_path / "avatar"
    photo = sm.gen.save_image(tmp_path / "face.png", sm.gen.astronaut())
    base = stock.path
    if case == "two_faces":
        photo, words = sm.gen.save_image(tmp_path / "two.png", sm.gen.two_faces()), "2 faces"
    elif case == "no_face_stock":
        base = sm.gen.write_video(tmp_path / "coffee.mp4", [sm.gen.no_face()[:384, :288]] * 10)
        words = "no usable face"
    else:
        small = sm.gen.face_on_canvas(50, (640, 480))
        base = sm.gen.write_video(tmp_path / "far.mp4", [small] * 10)
        words = "too small"
    with pytest.raises(InputError, match=words):
        create_swap_avatar(photo, base, out, show_progress=False)
    assert sm.leftovers(out) == []


def test_existing_output_refused_before_the_work(stock, tmp_path):
    out = tmp_path / "avatar"
    out.mkdir()
    with pytest.raises(InputError, match="already exists"):
        create_swap_avatar(np.array(sm.gen.astronaut()), stock.path, out, show_progress=False)


def test_cli(stock, tmp_path, capsys):
    from dhsdk.cli import main

    photo = sm.gen.save_image(tmp_path / "face.png", sm.gen.astronaut())
    assert main(["avatar", "create", str(photo), "--face", str(photo), "--base", str(stock.path), "-o",
                 str(tmp_path / "x")]) == 2
    assert "no other input" in capsys.readouterr().err
    assert main(["avatar", "create", "--face", str(photo), "-o", str(tmp_path / "x")]) == 2
    assert main(["avatar", "create", "--face", str(photo), "--base", str(stock.path), "-o", str(tmp_path / "cli"),
                 "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "swap_identity" in text and "swap sheet:" in text and (tmp_path / "cli" / "swap.png").is_file()
