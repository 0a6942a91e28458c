"""A whole generated stock clip swapped (the astronaut onto a different, swaying, blinking face
whose cheek is covered for a while): the output carries the photo's shape, the stock's light and
blinks, with a closed mouth and no seam (the occluder: test_occlusion.py). The truth comes from
how the clip was made."""
from __future__ import annotations

import numpy as np
import pytest

from dhsdk.geometry import LIP_IDS, apply_affine, image_to_canonical, mouth_opening
from dhsdk.swap import metrics
from dhsdk.swap.retarget import eye_openness

pytestmark = pytest.mark.slow   # one swap of 80 frames at 384x512 for the module (~5 s)


@pytest.fixture(scope="module")
def output(swap_run):
    """(N, 478, 2) the swapped clip's face mesh as mediapipe sees it, and its frames."""
    from dhsdk.avatar.material import open_material

    return metrics.video_meshes(swap_run.path), list(open_material(swap_run.path).frames())


def _stock_truth(stock, scale):
    return np.stack([apply_affine(a, stock.mesh) for a in stock.affines]) * scale


def test_size_and_frames(swap_run, stock):
    assert swap_run.frames == len(stock.affines) == 80
    assert swap_run.size == (384, 512) and swap_run.scale == pytest.approx(4 / 3)


def test_identity_is_the_photos(swap_run, stock, photo_face, output):
    meshes, _ = output
    to_photo, to_stock = metrics.identity_distances(meshes, photo_face.points, _stock_truth(stock, swap_run.scale))
    assert np.mean(to_photo < to_stock) >= 0.9, (np.median(to_photo), np.median(to_stock))


def test_mouth_closed_though_the_stock_smiles(output):
    meshes, _ = output
    gaps = [mouth_opening(apply_affine(image_to_canonical(m), m[list(LIP_IDS)])) for m in meshes]
    assert max(gaps) < 0.06


def test_stock_light_and_blinks(swap_run, stock, photo_face, output):
    """The cheeks take the stock's (warm, dark) colour, not the photo's; the stock's blink shuts
    the new face's eyes (the mesh reads shut eyes on this small face at 0.5-0.6 of open ones,
    open ones above 0.75)."""
    meshes, frames = output
    k = 10
    cheeks = [205, 425, 50, 280]
    out = np.array([frames[k][int(y), int(x)] for x, y in meshes[k][cheeks]], float).mean(0)
    stock_img = stock.path   # the clip's own frame k, upscaled as the swap saw it
    from dhsdk.avatar.material import open_material
    import cv2

    src = cv2.resize(list(open_material(stock_img).frames())[k], swap_run.size, interpolation=cv2.INTER_CUBIC)
    truth = _stock_truth(stock, swap_run.scale)[k]
    st = np.array([src[int(y), int(x)] for x, y in truth[cheeks]], float).mean(0)
    ph = np.array([photo_face.image[int(y), int(x)] for x, y in photo_face.points[cheeks]], float).mean(0)
    assert np.abs(out - st).sum() < 0.5 * np.abs(out - ph).sum()
    rel = eye_openness(meshes).mean(1) / np.median(eye_openness(meshes).mean(1))
    assert rel[stock.blinks].min() < 0.65 and rel[[5, 15, 40, 70]].min() > 0.75


def test_no_seam_no_flicker(swap_run):
    ratio = np.nanmedian(swap_run.seam) / np.nanmedian(swap_run.seam_stock)
    assert ratio < 1.6
    assert metrics.flicker(swap_run.luma) < 1.5 * metrics.flicker(swap_run.luma_stock) + 0.5
