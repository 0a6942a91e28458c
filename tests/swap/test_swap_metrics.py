"""The swap and drive metrics on constructed inputs whose answer is known."""
from __future__ import annotations

import numpy as np

import swap_material as sm
from dhsdk.geometry import apply_affine
from dhsdk.swap import metrics


def test_shape_distance_ignores_placement_and_sees_identity():
    a = np.asarray(sm.gen.astronaut_mesh(), np.float64)
    b = sm.other_face()[1]
    moved = apply_affine(sm.gen.similarity(1.7, 12.0, (200, 100), (40, 300)), a)
    assert metrics.shape_distance(a, moved) < 1e-9
    assert metrics.shape_distance(a, b) > 0.02
    to_photo, to_stock = metrics.identity_distances(np.stack([moved, b]), a, np.stack([b, b]))
    assert to_photo[0] < to_stock[0] and to_photo[1] > to_stock[1]


def test_seam_energy_sees_a_step():
    """A pasted square with a 40-level step at its border: ~10 grey levels/px across (the
    Sobel step response spread over 4 px); the same 40 levels blended over a Gaussian of sigma
    6 px: at most 40 / (6 sqrt(2 pi)) = 2.66 per px."""
    import cv2

    weight = np.zeros((100, 100), np.float32)
    weight[30:70, 30:70] = 1.0
    soft = cv2.GaussianBlur(weight, (0, 0), 6.0)
    hard = np.full((100, 100, 3), 100, np.uint8)
    hard[30:70, 30:70] = 140
    smooth = (100 + 40 * soft[..., None]).astype(np.uint8).repeat(3, 2)
    box = (0, 0, 100, 100)
    assert metrics.seam_energy(hard, soft, box) > 5.0
    assert metrics.seam_energy(smooth, soft, box) < 2.7
    assert np.isnan(metrics.seam_energy(hard, np.zeros((100, 100), np.float32), box))


def test_flicker_of_steady_and_jittering_luma():
    steady = np.tile(np.linspace(50, 200, 478, dtype=np.float32), (30, 1))
    assert metrics.flicker(steady) == 0.0
    rng = np.random.default_rng(0)
    jitter = steady + rng.normal(0, 2.0, steady.shape).astype(np.float32)
    assert 4.0 < metrics.flicker(jitter) < 5.8      # second difference of white noise: sqrt(6) * 2


def test_blinks_found_and_matched():
    o = np.full(100, 0.25)
    o[[20, 21]] = [0.08, 0.1]                # a blink
    o[[60, 61, 62]] = [0.12, 0.07, 0.1]      # another
    o[80] = 0.19                             # a narrowing, not a blink
    events = metrics.blink_events(o)
    assert list(events) == [20, 61]
    assert metrics.blink_recall(events, np.array([22, 90])) == 0.5
    assert np.isnan(metrics.blink_recall(np.array([], int), events))


def test_pose_and_gaze_correlation():
    """A head turned by shifting the nose tip sideways reads as yaw and correlates; an unrelated
    track does not."""
    base = np.asarray(sm.gen.astronaut_mesh(), np.float64)
    t = np.linspace(0, 4 * np.pi, 80)
    half = 0.5 * np.linalg.norm(base[454] - base[234])
    track = np.repeat(base[None], 80, 0)
    track[:, 1, 0] += 0.15 * half * np.sin(t)
    track[:, [468, 473], 0] += 2.0 * np.sin(t)[:, None]
    yaw, _ = metrics.pose_correlation(track, track)
    assert yaw > 0.99
    other = np.repeat(base[None], 80, 0)
    other[:, 1, 0] += 0.15 * half * np.cos(3 * t)
    assert abs(metrics.pose_correlation(track, other)[0]) < 0.3
    assert metrics.gaze_agreement(track, track) > 0.99
    assert np.degrees(np.arcsin(0.15)) - 1 < np.abs(metrics.head_turn(track)[:, 0]).max() < np.degrees(np.arcsin(0.15)) + 3
