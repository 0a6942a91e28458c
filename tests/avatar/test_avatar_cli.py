"""``dhsdk avatar review|create|info``: exit codes, the printed report, the JSON and contact
sheet files, refusals with a message and no traceback."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import avatar_material as gen
from dhsdk.cli import main


def _run(capsys, *argv):
    code = main(["avatar", *map(str, argv)])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_review_good_video_writes_json_and_sheet(capsys, moving_clip, tmp_path):
    code, out, err = _run(capsys, "review", moving_clip.path, "--json", tmp_path / "r.json", "--sheet",
                          tmp_path / "s.png", "--quiet")
    assert code == 0, err
    assert out.startswith(f"review of {moving_clip.path} (video): WARN")
    assert "PASS  one_face" in out and "WARN  duration" in out and "fix: record at least 10 s" in out
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["verdict"] == "warn" and len(doc["checks"]) == 16
    assert (tmp_path / "s.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_review_bad_photo_exits_1_naming_the_problem(capsys, tmp_path):
    path = gen.save_image(tmp_path / "two.png", gen.two_faces())
    code, out, _ = _run(capsys, "review", path, "--quiet", "--sheet", tmp_path / "s.png")
    assert code == 1
    assert "FAIL  one_face" in out and "more than one face" in out and "fix: only the presenter" in out
    assert (tmp_path / "s.png").is_file()   # the sheet is written for a failed review too


def test_review_unreadable_file_exits_2_without_traceback(capsys, tmp_path):
    (tmp_path / "x.mp4").write_text("hello")
    code, out, err = _run(capsys, "review", tmp_path / "x.mp4", "--quiet")
    assert code == 2 and "Traceback" not in err
    assert err.startswith("dhsdk avatar: error: ") and "not a video or image" in err


def test_create_and_info(capsys, moving_clip, tmp_path):
    out_dir = tmp_path / "anna"
    code, out, err = _run(capsys, "create", moving_clip.path, "-o", out_dir, "--quiet")
    assert code == 0, err
    assert "avatar: Avatar(" in out and str(out_dir / "review.json") in out
    code, out, err = _run(capsys, "info", out_dir)
    assert code == 0
    assert "384x512, 100 frames at 25 fps" in out
    info = json.loads(out[out.index("{"):])
    assert set(info) == {"source", "idle_loop", "crop", "mouth", "review", "mouth_model"}
    assert 0.03 <= info["mouth"]["closed_threshold"] <= 0.06
    # again without --force: refused, the bundle untouched
    stamp = (out_dir / "manifest.json").stat().st_mtime_ns
    code, out, err = _run(capsys, "create", moving_clip.path, "-o", out_dir, "--quiet")
    assert code == 2 and "already exists" in err and "--force" in err
    assert (out_dir / "manifest.json").stat().st_mtime_ns == stamp
    code, out, err = _run(capsys, "create", moving_clip.path, "-o", out_dir, "--quiet", "--force")
    assert code == 0, err
    assert (out_dir / "manifest.json").stat().st_mtime_ns != stamp


def test_create_refused_by_the_review(capsys, tmp_path):
    path = gen.write_video(tmp_path / "dark.mp4", [np.zeros((384, 384, 3), np.uint8)] * 30)
    code, out, err = _run(capsys, "create", path, "-o", tmp_path / "anna", "--quiet")
    assert code == 1
    assert "FAIL  exposure" in err and "no avatar written" in err
    assert not (tmp_path / "anna").exists()


def test_info_of_a_damaged_bundle(capsys, tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "manifest.json").write_text("{")
    code, out, err = _run(capsys, "info", tmp_path / "b")
    assert code == 2 and "damaged" in err and "Traceback" not in err


@pytest.mark.slow  # builds the default avatar (~7 s) unless another test did
def test_info_default(capsys, default_avatar, cache_dir, monkeypatch):
    monkeypatch.setenv("DHSDK_CACHE", str(cache_dir))
    code, out, _ = _run(capsys, "info", "default")
    assert code == 0 and "768x1024, 200 frames at 25 fps" in out


def test_review_default_photo_from_the_command_line(portrait_png, tmp_path):
    """The real entry point, in a fresh interpreter: python -m dhsdk.cli avatar review."""
    res = subprocess.run([sys.executable, "-m", "dhsdk.cli", "avatar", "review", str(portrait_png), "--quiet",
                          "--json", str(tmp_path / "r.json")], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "(image): " in res.stdout and "FAIL" not in res.stdout
    assert json.loads((tmp_path / "r.json").read_text())["kind"] == "image"


def test_help_lists_the_actions(capsys):
    with pytest.raises(SystemExit) as e:
        main(["avatar", "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "review" in out and "create" in out and "info" in out
