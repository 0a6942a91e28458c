"""MouthGeometry: built once per (avatar, crop size) and shared, read-only, the avatar's own
numbers; mouth sources: closed frames are their own, open ones take the closed frame nearest in
head pose (within the search window first)."""
from __future__ import annotations

import numpy as np
import pytest

from dhsdk.bench.synthetic import SyntheticAvatar
from dhsdk.geometry import apply_affine
from dhsdk.render.geometry import CLOSED_MARGIN, MouthGeometry, mouth_sources


def test_one_shared_read_only_geometry_per_avatar_and_size():
    avatar = SyntheticAvatar(180, 320, frames=6)
    g = MouthGeometry.of(avatar, 128)
    assert MouthGeometry.of(avatar, 128) is g and MouthGeometry.of(avatar, 96) is not g
    assert MouthGeometry.of(SyntheticAvatar(180, 320, frames=6), 128) is not g  # another avatar
    for a in (g.crop_affine, g.mask, g.to_crop, g.neutral_lips, g.base_lips, g.mouth_source):
        with pytest.raises(ValueError):
            a[...] = 0
    with pytest.raises(AttributeError):
        g.crop_size = 3
    np.testing.assert_array_equal(g.crop_affine, avatar.crop_affine(128))
    np.testing.assert_array_equal(g.mask, avatar.mouth_mask(128))
    k = 4
    want = apply_affine(avatar.canonical_to_crop(128), apply_affine(avatar.to_canonical[k], avatar.lips[k]))
    np.testing.assert_allclose(g.base_crop_lips(k), want, atol=1e-4)
    assert g.num_frames == 6 and g.frame_size == (180, 320)


def test_closed_frames_are_their_own_mouth_source():
    opening = np.array([0.0, 0.01, CLOSED_MARGIN, 0.02])
    np.testing.assert_array_equal(mouth_sources(opening, np.zeros((4, 3, 2)), 25.0), [0, 1, 2, 3])


def test_closed_is_measured_against_the_footage():
    """Lips the mesh reads as parted by 0.1 in every frame (full or smiling lips) are that
    person's closed mouth: every frame is its own source; a frame a little more open than the
    margin takes a donor."""
    opening = np.full(100, 0.1)
    opening[50] = 0.1 + 2 * CLOSED_MARGIN
    out = mouth_sources(opening, np.zeros((100, 3, 2)), 25.0)
    assert out[50] != 50 and opening[out[50]] == 0.1
    np.testing.assert_array_equal(np.delete(out, 50), np.delete(np.arange(100), 50))


def test_an_open_frame_takes_the_closed_frame_nearest_in_pose():
    n, fps = 200, 25.0
    opening = np.full(n, 0.12)
    closed = [10, 40, 45, 150]
    opening[closed] = 0.0
    pose = np.zeros((n, 3, 2))
    pose[:, 0, 1] = np.sin(np.arange(n) / 9.0)           # a slow nod
    out = mouth_sources(opening, pose, fps)
    assert set(out[closed]) == set(closed) and all(out[c] == c for c in closed)
    window = int(2.0 * fps)
    for i in range(n):
        near = [c for c in closed if abs(c - i) <= window] or closed
        best = min(near, key=lambda c: abs(pose[c, 0, 1] - pose[i, 0, 1]))
        assert abs(pose[out[i], 0, 1] - pose[i, 0, 1]) <= abs(pose[best, 0, 1] - pose[i, 0, 1]) + 1e-12, i
        assert out[i] in near


def test_a_mouth_a_little_open_takes_a_donor():
    """A frame open by more than the margin (a pale slit when squeezed to a small target) takes
    its mouth from a closed one; within the margin of the most closed it is its own source."""
    opening = np.linspace(0.0, 0.2, 50)
    out = mouth_sources(opening, np.zeros((50, 1, 2)), 25.0)
    own = opening <= np.percentile(opening, 1) + CLOSED_MARGIN
    np.testing.assert_array_equal(out[own], np.flatnonzero(own))
    assert (out[~own] != np.flatnonzero(~own)).all() and opening[out].max() <= opening[own].max()
