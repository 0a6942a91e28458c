"""The idle loop plays for hours without a jump: ``index(k)`` over 10^6 output frames (11 h at
25 fps) steps by at most one base frame (ping-pong) or jumps only at the cut, whose pose
distance is below the threshold (loop); loop choice on poses with known structure."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dhsdk.avatar.idle import CUT_THRESHOLD, IdleLoop, choose_loop, pose_features
from dhsdk.geometry import invert_affine

HOURS = 10 ** 6   # output frames checked on the avatars' own loops (11.1 h at 25 fps)
SHORT = 10 ** 5   # on the synthetic loops, plus windows near 10^6 and 10^9


def _indices(loop: IdleLoop, n: int = HOURS) -> np.ndarray:
    return np.fromiter((loop.index(k) for k in range(n)), np.int64, n)


def _far_windows(loop: IdleLoop) -> np.ndarray:
    """index(k) on windows of 3 periods starting at 10^6 - 7 and 10^9 - 3."""
    ks = [np.arange(s, s + 3 * loop.period + 2) for s in (10 ** 6 - 7, 10 ** 9 - 3)]
    return [np.array([loop.index(k) for k in w]) for w in ks]


def _to_canonical(poses: np.ndarray) -> np.ndarray:
    """(N, 2, 3) image -> canonical similarities of heads at (x, y, scale, roll rad) poses."""
    out = []
    for x, y, s, r in poses:
        m = s * np.array([[np.cos(r), -np.sin(r)], [np.sin(r), np.cos(r)]])
        out.append(invert_affine(np.hstack([m, [[x], [y]]])))   # canonical -> image, inverted
    return np.stack(out)


def _closed_lips(n: int) -> np.ndarray:
    lips = np.zeros((n, 40, 2))
    lips[:, :, 0] = np.linspace(-0.4, 0.4, 40)
    lips[:, :, 1] = 1.0
    return lips


@pytest.mark.parametrize("loop", [IdleLoop("pingpong", 0, 1), IdleLoop("pingpong", 3, 4), IdleLoop("pingpong", 10, 209),
                                  IdleLoop("pingpong", 0, 0), IdleLoop("pingpong", 5, 17)], ids=str)
def test_pingpong_never_jumps(loop):
    idx = _indices(loop, SHORT)
    assert idx.min() == loop.start and idx.max() == loop.end
    assert np.abs(np.diff(idx)).max() <= 1
    for far in _far_windows(loop):
        assert np.abs(np.diff(far)).max() <= 1 and far.min() == loop.start and far.max() == loop.end
    # it really reverses at both ends (no frame held twice except a 1-frame loop)
    if loop.length > 1:
        assert np.all(np.diff(idx) != 0)
    period = loop.period
    assert np.array_equal(idx[:period], idx[period:2 * period])


@pytest.mark.parametrize("loop", [IdleLoop("loop", 0, 199), IdleLoop("loop", 7, 57), IdleLoop("loop", 4, 4)], ids=str)
def test_forward_loop_jumps_only_at_the_cut(loop):
    for idx in [_indices(loop, SHORT), *_far_windows(loop)]:
        jumps = np.flatnonzero(np.diff(idx) != 1)
        assert set(idx[jumps].tolist()) <= {loop.end} and set(idx[jumps + 1].tolist()) <= {loop.start}
        assert idx.min() == loop.start and idx.max() == loop.end


@settings(max_examples=300, deadline=None)
@given(start=st.integers(0, 500), length=st.integers(1, 300), mode=st.sampled_from(["loop", "pingpong"]),
       k=st.integers(0, 10 ** 12))
def test_index_stays_in_the_segment_and_steps_by_one(start, length, mode, k):
    """For any segment and any k: index(k) is in the segment; ping-pong steps by exactly one
    (or holds a 1-frame loop); a forward loop steps by one or cuts from end to start."""
    loop = IdleLoop(mode, start, start + length - 1)
    a, b = loop.index(k), loop.index(k + 1)
    assert loop.start <= a <= loop.end
    if mode == "pingpong":
        assert abs(b - a) == (1 if length > 1 else 0)
    else:
        assert b == a + 1 or (a, b) == (loop.end, loop.start)


def test_index_accepts_numpy_and_huge_k():
    loop = IdleLoop("pingpong", 2, 9)
    assert loop.index(np.int64(3)) == 5
    assert loop.index(10 ** 12) == loop.index(10 ** 12 % loop.period)


def test_frames_and_json_round_trip():
    loop = IdleLoop("pingpong", 3, 8, 0.25)
    assert loop.frames().tolist() == [3, 4, 5, 6, 7, 8] and loop.length == 6 and loop.period == 10
    assert IdleLoop.from_json(loop.to_json()) == loop
    assert IdleLoop.from_json({"mode": "loop", "start": 1, "end": 2}).cost == 0.0


def test_periodic_sway_gets_a_seamless_forward_loop():
    """A head that sways with a 3 s period: a forward loop whose cut matches in pose."""
    fps, n = 25.0, 250
    t = np.arange(n) / fps
    poses = np.stack([300 + 12 * np.sin(2 * np.pi * t / 3.0), 400 + 5 * np.sin(2 * np.pi * t / 1.5),
                      np.full(n, 60.0), 0.03 * np.sin(2 * np.pi * t / 3.0)], 1)
    to_canonical = _to_canonical(poses)
    loop = choose_loop(to_canonical, _closed_lips(n), fps)
    assert loop.mode == "loop", loop
    assert 2 * fps <= loop.length <= 8 * fps + 1
    pose = pose_features(to_canonical)
    cut = np.linalg.norm(pose[loop.end] - pose[loop.start])
    assert cut < CUT_THRESHOLD
    # the step over the cut is no bigger than the largest step inside the loop
    inside = np.linalg.norm(np.diff(pose[loop.start:loop.end + 1], axis=0), axis=1).max()
    assert cut <= inside + CUT_THRESHOLD


def test_drifting_head_gets_a_pingpong_turning_where_it_is_still():
    """A head that drifts one way, pausing at t = 0, 4 and 8 s: no seamless cut exists (it
    never comes back), so a ping-pong, with its turnarounds near the pauses."""
    fps, n = 25.0, 250
    t = np.arange(n) / fps
    # a smooth staircase: speed 20 (1 - cos(2 pi t / 4)) px/s, zero every 4 s
    x = 300 + 20 * (t - 4 / (2 * np.pi) * np.sin(2 * np.pi * t / 4.0))
    poses = np.stack([x, np.full(n, 400.0), np.full(n, 60.0), np.zeros(n)], 1)
    loop = choose_loop(_to_canonical(poses), _closed_lips(n), fps)
    assert loop.mode == "pingpong", loop
    speed = np.abs(np.gradient(x))
    assert speed[loop.start] < np.percentile(speed, 30) and speed[loop.end] < np.percentile(speed, 30)


def test_loop_avoids_a_talking_stretch():
    """Mouth moving in the first half, closed in the second: the loop sits in the quiet half."""
    fps, n = 25.0, 300
    poses = np.tile([300.0, 400.0, 60.0, 0.0], (n, 1))
    poses[:, 0] += 2 * np.sin(np.arange(n) / fps * 2 * np.pi / 5.0)
    lips = _closed_lips(n)
    talk = np.arange(n) < 150
    lips[talk, 25, 1] += 0.15 * (1 + np.sin(np.arange(150) * 1.3))   # inner lower lip moves
    loop = choose_loop(_to_canonical(poses), lips, fps)
    assert loop.start >= 140, loop


def test_appearance_breaks_a_cut_that_pose_alone_allows():
    """Same pose everywhere, but the first half looks different (e.g. lighting): a loop must not
    cut between the halves."""
    fps, n = 25.0, 200
    poses = np.tile([300.0, 400.0, 60.0, 0.0], (n, 1))
    appearance = np.zeros((n, 16))
    appearance[: n // 2] = 0.5
    loop = choose_loop(_to_canonical(poses), _closed_lips(n), fps, appearance)
    if loop.mode == "loop":
        assert (loop.start < n // 2) == (loop.end < n // 2)


def test_short_clips():
    assert choose_loop(_to_canonical(np.tile([0, 0, 50.0, 0], (1, 1))), _closed_lips(1), 25.0) == IdleLoop("pingpong", 0, 0)
    loop = choose_loop(_to_canonical(np.tile([0, 0, 50.0, 0], (2, 1))), _closed_lips(2), 25.0)
    assert (loop.start, loop.end) == (0, 1)
    loop = choose_loop(_to_canonical(np.tile([0, 0, 50.0, 0], (10, 1))), _closed_lips(10), 25.0)
    assert 0 <= loop.start <= loop.end <= 9


def _pose_steps(avatar) -> np.ndarray:
    """Pose distance between consecutive output frames of the avatar's idle loop over one period
    and across its wrap."""
    pose = pose_features(avatar.to_canonical)
    loop = avatar.idle_loop
    idx = np.array([loop.index(k) for k in range(2 * loop.period + 1)])
    return np.linalg.norm(np.diff(pose[idx], axis=0), axis=1)


def test_video_avatar_idle_loop_plays_for_hours(moving_avatar):
    avatar, _ = moving_avatar
    loop = avatar.idle_loop
    assert 0 <= loop.start <= loop.end < avatar.num_frames
    assert loop.length >= min(avatar.num_frames, 2 * avatar.fps)
    idx = _indices(loop)
    assert idx.min() >= 0 and idx.max() < avatar.num_frames
    pose = pose_features(avatar.to_canonical)
    steps = np.linalg.norm(np.diff(pose[idx[:3 * loop.period]], axis=0), axis=1)
    inside = np.linalg.norm(np.diff(pose[loop.start:loop.end + 1], axis=0), axis=1).max()
    if loop.mode == "pingpong":
        assert np.abs(np.diff(idx)).max() <= 1
    else:
        assert np.linalg.norm(pose[loop.end] - pose[loop.start]) < CUT_THRESHOLD
    assert steps.max() <= inside + CUT_THRESHOLD


@pytest.mark.slow  # builds the default avatar (~7 s) unless another test did
def test_photo_avatar_idle_loop_is_seamless(default_avatar):
    """The photo's idle motion is periodic over the whole generated clip: a forward loop whose
    cut (last frame -> first) is a step like any other."""
    loop = default_avatar.idle_loop
    assert loop == IdleLoop("loop", 0, default_avatar.num_frames - 1)
    steps = _pose_steps(default_avatar)
    pose = pose_features(default_avatar.to_canonical)
    wrap = np.linalg.norm(pose[0] - pose[-1])
    assert wrap <= 1.5 * np.median(steps) + 1e-6
    assert steps.max() < CUT_THRESHOLD
