"""Retargeting on real meshes (the astronaut and a reshaped other face): the target keeps its own
structure and takes only the driver's changes; blinks, gaze and the closed mouth behave."""
from __future__ import annotations

import numpy as np
import pytest

import swap_material as sm
from dhsdk.geometry import apply_affine, image_to_canonical
from dhsdk.swap import topology as topo
from dhsdk.swap.metrics import shape_distance
from dhsdk.swap.retarget import Retarget, eye_openness, fit_affine, gaze


def _canonical(mesh):
    mesh = np.asarray(mesh, np.float64)
    return apply_affine(image_to_canonical(mesh), mesh)


@pytest.fixture(scope="module")
def faces():
    """(target, driver) neutral canonical shapes of two different faces."""
    return _canonical(sm.gen.astronaut_mesh()), _canonical(sm.other_face()[1])


def test_neutral_driver_leaves_the_target_as_it_is(faces):
    target, driver = faces
    out = Retarget(target, driver)(driver)
    np.testing.assert_allclose(out, target, atol=1e-9)


def test_pose_travels_but_the_structure_stays(faces):
    """A driver turned by an affine pose (shear and squash: weak-perspective yaw and pitch) moves
    the target by that affine; the target stays closer to its own shape than to the driver's."""
    target, driver = faces
    pose = np.array([[0.95, 0.12, 0.02], [0.0, 0.93, -0.01]])
    out = Retarget(target, driver)(apply_affine(pose, driver))
    np.testing.assert_allclose(out[list(topo.RIGID_IDS)], apply_affine(pose, target)[list(topo.RIGID_IDS)], atol=1e-9)
    assert shape_distance(out, apply_affine(pose, target)) < 0.2 * shape_distance(out, apply_affine(pose, driver))
    np.testing.assert_allclose(fit_affine(driver, apply_affine(pose, driver)), pose, atol=1e-12)


def test_brows_move_the_mouth_does_not(faces):
    target, driver = faces
    moved = driver.copy()
    for brow in topo.BROW_IDS:
        moved[list(brow), 1] -= 0.08               # brows up
    lips = [61, 291, 13, 14, 0, 17]
    moved[14, 1] += 0.3                            # mouth open
    moved[17, 1] += 0.3
    out = Retarget(target, driver)(moved)
    for brow in topo.BROW_IDS:
        np.testing.assert_allclose(out[list(brow), 1], target[list(brow), 1] - 0.08, atol=0.01)
    np.testing.assert_allclose(out[lips], target[lips], atol=1e-3)
    assert Retarget(target, driver, mouth=True)(moved)[14, 1] > target[14, 1] + 0.25


def test_blink_shuts_the_target_and_gaze_follows(faces):
    """A driver whose lids meet (and whose mesh, as mediapipe's, stops a little short) shuts the
    target's eyes fully, between its own lids; a gaze shift of 0.1 eye widths moves the
    target's irises 0.1 of its own eye widths, and is held while the driver's eyes are shut."""
    target, driver = faces
    rt = Retarget(target, driver)
    look = driver.copy()
    for centre, ring, (outer, inner) in zip(topo.IRIS_CENTRES, topo.IRIS_RINGS, topo.EYE_CORNERS):
        width = np.linalg.norm(driver[outer] - driver[inner])
        look[[centre, *ring], 0] += 0.1 * width
    moved = rt(look)
    np.testing.assert_allclose((gaze(moved) - gaze(target))[:, 0], 0.1, atol=0.01)
    shut = look.copy()
    for pairs in topo.LID_PAIRS:
        for up, lo in pairs:
            shut[up] = shut[lo] + 0.4 * (driver[up] - driver[lo])   # 40 % of the gap left: mediapipe's "shut"
    out = rt(shut)
    assert eye_openness(out).max() < 0.02 < eye_openness(target).min()
    np.testing.assert_allclose(gaze(out)[:, 0] - gaze(target)[:, 0], 0.1, atol=0.03)   # held
    for pairs, centre in zip(topo.LID_PAIRS, topo.IRIS_CENTRES):
        top = min(out[u, 1] for u, _ in pairs)
        bottom = max(out[v, 1] for _, v in pairs)
        assert top - 1e-6 <= out[centre, 1] <= bottom + 1e-6
