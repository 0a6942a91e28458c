"""The face photo: found, refused with the reason (no face, two faces, too small), mouth closed,
hair over the forehead masked."""
from __future__ import annotations

import numpy as np
import pytest

import swap_material as sm
from dhsdk.errors import InputError
from dhsdk.geometry import apply_affine, image_to_canonical, mouth_opening, LIP_IDS
from dhsdk.swap.source import face_from_photo


def test_astronaut_is_ready_to_paste(photo_face):
    mesh = photo_face.points
    lips = apply_affine(image_to_canonical(mesh), mesh[list(LIP_IDS)])
    assert mouth_opening(lips) < 0.01                      # the photo's smile closed
    assert photo_face.image.shape == (512, 512, 3) and photo_face.alpha.shape == (512, 512)
    to_c = image_to_canonical(mesh)
    ys, xs = np.mgrid[0:512, 0:512]
    cy = to_c[1, 0] * xs + to_c[1, 1] * ys + to_c[1, 2]
    cx = to_c[0, 0] * xs + to_c[0, 1] * ys + to_c[0, 2]
    fringe = (cy < -0.6) & (cy > -0.75) & (np.abs(cx) < 0.3)     # her fringe over the forehead
    cheeks = (cy > 0.2) & (cy < 0.5) & (np.abs(cx) > 0.3) & (np.abs(cx) < 0.6)
    assert photo_face.alpha[fringe].mean() < 0.5 < 0.95 < photo_face.alpha[cheeks].mean()


@pytest.mark.parametrize("make, words", [
    (sm.gen.no_face, "no face"),
    (sm.gen.two_faces, "2 faces"),
    (lambda: sm.gen.face_on_canvas(40, (640, 480)), "too small"),
])
def test_refused_with_the_reason(make, words, tmp_path):
    path = sm.gen.save_image(tmp_path / "photo.png", make())
    with pytest.raises(InputError, match=words):
        face_from_photo(path)


def test_a_video_is_not_a_photo(stock):
    with pytest.raises(InputError, match="must be a photo"):
        face_from_photo(stock.path)
