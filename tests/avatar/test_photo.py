"""Photo avatars: the idle motion is periodic, small and never shows a border; an open mouth
is closed for the base frames and kept as the reference; grey and alpha photos work."""
from __future__ import annotations

import numpy as np
import pytest

import avatar_material as gen
from dhsdk.avatar import photo
from dhsdk.avatar.material import open_material
from dhsdk.geometry import LIP_IDS, apply_affine, image_to_canonical, mouth_opening


def _motion(w=768, h=1024, n=200):
    return photo.idle_motion(w, h, n)


def test_idle_motion_is_periodic_and_smooth():
    """Played as a loop (n-1 -> 0 -> 1 ...) the motion's acceleration at the cut is like
    anywhere else: the cut cannot be seen."""
    m = _motion()
    cyclic = np.concatenate([m[-2:], m, m[:2]])
    acc = np.abs(cyclic[2:] - 2 * cyclic[1:-1] + cyclic[:-2]).max((1, 2))   # acc[k + 1] is frame k's
    at_cut = acc[[0, 1, -2, -1]].max()       # frames n-1 and 0, both played twice around the cut
    assert at_cut <= 1.05 * acc[2:-2].max()
    step = np.abs(np.diff(cyclic, axis=0)).max((1, 2))
    assert step[1] <= 1.05 * step[2:-2].max()   # the step n-1 -> 0 itself


def test_idle_motion_is_subtle():
    w, h = 768, 1024
    m = _motion(w, h)
    angle = np.degrees(np.arctan2(m[:, 1, 0], m[:, 0, 0]))
    scale = np.sqrt(np.abs(np.linalg.det(m[:, :, :2])))
    assert np.abs(angle).max() <= photo.ROLL_DEG + 1e-6
    assert scale.min() >= photo.ZOOM * (1 - photo.BREATH_SCALE) - 1e-9
    assert scale.max() <= photo.ZOOM * (1 + photo.BREATH_SCALE) + 1e-9
    # the face (upper middle of the frame) moves by a few pixels at most
    face = np.array([[w / 2, h * 0.35]])
    moved = np.stack([apply_affine(a, face)[0] for a in m])
    assert np.ptp(moved, axis=0).max() < 0.02 * w


def test_idle_motion_never_shows_a_border():
    """Every output pixel samples inside the photo (the 3 % zoom covers the sway)."""
    from dhsdk.geometry import invert_affine

    w, h = 768, 1024
    corners = np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], np.float64)
    for a in _motion(w, h):
        src = apply_affine(invert_affine(a), corners)
        assert src.min() >= -0.5 and src[:, 0].max() <= w - 0.5 and src[:, 1].max() <= h - 0.5


def test_close_mouth_closes_an_open_smile(still_photo):
    mesh = gen.astronaut_mesh()
    lips = apply_affine(image_to_canonical(mesh), mesh[list(LIP_IDS)])
    assert mouth_opening(lips) > photo.OPEN_GAP   # teeth showing
    closed, pts = photo.close_mouth(np.asarray(still_photo), mesh)
    assert closed.shape == still_photo.shape and closed is not still_photo
    new_lips = apply_affine(image_to_canonical(pts), pts[list(LIP_IDS)])
    assert abs(mouth_opening(new_lips)) < 0.01
    # only the mouth region changed: far from it the photo is untouched
    diff = np.abs(closed.astype(int) - still_photo).max(2)
    ys, xs = np.nonzero(diff > 0)
    mouth = mesh[list(LIP_IDS)]
    span = np.ptp(mouth, axis=0).max()
    assert np.abs(xs - mouth[:, 0].mean()).max() < 2.0 * span and np.abs(ys - mouth[:, 1].mean()).max() < 2.0 * span
    assert np.array_equal(np.delete(pts, LIP_IDS, 0), np.delete(mesh, LIP_IDS, 0))   # only the lips move
    # the teeth are gone: inside the original inner-lip contour, tooth-like pixels (bright and
    # colourless) were 34 % of the mouth and are ~3 % now (lip pink instead)
    import cv2

    inside = np.zeros(still_photo.shape[:2], np.uint8)
    cv2.fillPoly(inside, [np.round(mesh[list(LIP_IDS[20:])]).astype(np.int32)], 1)

    def teeth(image):
        p = image[inside == 1].astype(int)
        return float(((p.min(1) > 140) & (np.ptp(p, axis=1) < 45)).mean())

    assert teeth(np.asarray(still_photo)) > 0.25 and teeth(closed) < 0.08


def test_close_mouth_leaves_a_closed_mouth_alone(still_photo):
    mesh = gen.astronaut_mesh()
    closed, pts = photo.close_mouth(np.asarray(still_photo), mesh)
    again, pts2 = photo.close_mouth(closed, pts)
    assert np.array_equal(again, closed) and np.array_equal(pts2, pts)


@pytest.mark.parametrize("mode", ["L", "RGBA"])
def test_grey_and_alpha_photos_are_analysed(tmp_path, portrait_png, mode):
    from PIL import Image

    image = np.asarray(Image.open(portrait_png))
    path = gen.save_image(tmp_path / f"p_{mode}.png", image, mode=mode)
    frames = []
    analysis = photo.analyze_photo(open_material(path), frames.append, show_progress=False, seconds=0.4)
    assert analysis.track is not None and len(analysis.track.landmarks) == 10 == len(frames)
    assert frames[0].shape == (1024, 768, 3) and analysis.size == (768, 1024)
    if mode == "L":
        assert np.array_equal(frames[0][..., 0], frames[0][..., 2])


def test_photo_analysis_reference_is_the_open_original(portrait_png):
    analysis = photo.analyze_photo(open_material(portrait_png), None, show_progress=False, seconds=0.2)
    ref_image, ref_points = analysis.reference
    assert ref_image.shape == (1024, 768, 3)
    lips = apply_affine(image_to_canonical(ref_points), ref_points[list(LIP_IDS)])
    assert mouth_opening(lips) > photo.OPEN_GAP                       # the reference keeps the teeth
    assert abs(mouth_opening(analysis.track.canonical_lips).max()) < 0.01   # the base frames are closed
    assert analysis.faces.tolist() == [1] and analysis.frames == 1
