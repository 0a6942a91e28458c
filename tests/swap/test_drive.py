"""Driving the default avatar with a generated driver whose truth is known (it sways and rolls,
blinks at known frames, looks left and right): the output's eyes shut when the driver's do, its
gaze and roll follow; the streaming driver gets there from a cold start; ``dhsdk drive`` writes
the mp4 and its report."""
from __future__ import annotations

import json

import numpy as np
import pytest

import swap_material as sm
from dhsdk.swap import metrics
from dhsdk.swap.retarget import eye_openness

pytestmark = pytest.mark.slow   # builds the default avatar and renders 100 frames


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    return sm.driver_clip(tmp_path_factory.mktemp("driver") / "driver.mp4")


@pytest.fixture(scope="module")
def driven(default_avatar, driver, tmp_path_factory):
    """(output path, its mesh track, the driver's mesh track)."""
    from dhsdk.swap.drive import Driver

    out = tmp_path_factory.mktemp("driven") / "driven.mp4"
    Driver(default_avatar, mouth="warp").render(driver[0], out, show_progress=False)
    return out, metrics.video_meshes(out), metrics.video_meshes(driver[0])


def test_eyes_shut_with_the_driver(driven, driver):
    _, out, _ = driven
    _, _, shut = driver
    rel = eye_openness(out).mean(1) / np.median(eye_openness(out).mean(1))
    open_frames = [k for k in range(len(rel)) if min(abs(k - s) for s in shut) > 3]
    # The face mesh reads the driver's shut eyes on the rendered face at about 0.6 of open (its
    # eye points never meet at this face size): the deepest frame below 0.65, each blink below 0.7.
    assert rel[shut].min() < 0.65
    for start in (shut[0], shut[3]):            # each blink shows in the output
        assert rel[start:start + 3].min() < 0.7
    assert np.percentile(rel[open_frames], 5) > 0.8


def test_gaze_and_roll_follow(driven, driver):
    from dhsdk.avatar.review import head_pose_deg

    _, out, drv = driven
    _, look, shut = driver
    n = min(len(out), len(drv))
    keep = np.array([min(abs(k - s) for s in shut) > 2 for k in range(n)])
    assert metrics.gaze_agreement(drv[:n], out[:n], keep) > 0.8
    roll_d, roll_o = head_pose_deg(drv[:n])[:, 2], head_pose_deg(out[:n])[:, 2]
    assert np.corrcoef(roll_d, roll_o)[0, 1] > 0.9


def test_streaming_driver_converges(default_avatar, driver):
    """HeadDriver with no neutral given (a live source) estimates it from the frames seen so far:
    by the end of the clip (when it has seen what the offline driver's whole-clip neutral is made
    of) its targets match the offline ones to within 3 % of the eye distance, much closer than
    early on."""
    from dhsdk.swap.drive import DriverNeutral, HeadDriver, track_driver

    lm, _, _ = track_driver(driver[0], show_progress=False)
    live = HeadDriver(default_avatar)
    offline = HeadDriver(default_avatar, DriverNeutral.of(lm))
    eye = float(np.linalg.norm(default_avatar.landmarks[0][468] - default_avatar.landmarks[0][473]))
    errors = []
    for k in range(len(lm)):
        base = default_avatar.idle_index(k)
        a, _ = live.target(base, lm[k])
        b, _ = offline.target(base, lm[k])
        errors.append(np.abs(a - b).max() / eye)
    assert max(errors[-5:]) < 0.03 < np.mean(errors[5:15])
    image = np.array(default_avatar.frame(0))
    assert np.array_equal(live(image, 0, None), image)          # no driver face yet: the frame as it is
    moved = live(image, 0, lm[30])
    assert moved.shape == image.shape and not np.array_equal(moved, image) and live.last_ms > 0


def test_cli_writes_video_and_report(default_avatar, driver, tmp_path, capsys, monkeypatch):
    from dhsdk.cli import main

    monkeypatch.setenv("DHSDK_CACHE", str(default_avatar.path.parent.parent))
    out, report = tmp_path / "d.mp4", tmp_path / "d.json"
    assert main(["drive", "--avatar", str(default_avatar.path), "--driver", str(driver[0]), "-o", str(out),
                 "--report", str(report), "--mouth", "warp", "--quiet"]) == 0
    doc = json.loads(report.read_text())
    assert doc["frames"] >= 95 and doc["gaze_r"] > 0.8 and out.stat().st_size > 50_000
    assert main(["drive", "--driver", str(driver[0]), "-o", str(out), "--head-motion", "5"]) == 2
    assert "--head-motion" in capsys.readouterr().err
