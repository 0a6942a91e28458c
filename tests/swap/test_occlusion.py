"""What covers the stock face stays in front of the new one: the generated stock clip's cheek is
covered by a disc of fur from 2.0 to 2.6 s (tests/swap/swap_material.py)."""
from __future__ import annotations

import numpy as np
import pytest

from dhsdk.geometry import apply_affine
from dhsdk.swap.occlusion import OcclusionModel, checked_vertices

pytestmark = pytest.mark.slow   # needs the stock clip's tracking pass (~3 s)


@pytest.fixture(scope="module")
def tracked(stock):
    from dhsdk.avatar.material import open_material
    from dhsdk.swap.video import track_stock

    material = open_material(stock.path)
    return track_stock(material, show_progress=False), list(open_material(stock.path).frames())


def test_hidden_vertices_are_the_covered_ones(stock, tracked):
    st, frames = tracked
    model = OcclusionModel.fit(st.colours)
    covered, cheek = stock.hidden
    driving = st.driving()
    for k in (covered[5], covered[-5]):
        vis = model(frames[k], driving[k])
        centre = apply_affine(stock.affines[k], np.array([cheek]))[0]
        near = np.linalg.norm(driving[k] - centre, axis=1) < 0.3 * stock.disc_px   # well inside the disc
        assert vis[near & checked_vertices()].mean() < 0.3
        assert (vis < 0.5).sum() < 0.2 * 478               # the rest of the face stays
    for k in (5, 40, 75):
        assert (model(frames[k], driving[k]) < 0.5).sum() <= 3


def test_swap_keeps_the_occluder(stock, tracked, photo_face):
    """On a covered frame, the patch at the disc's centre is the disc (mean colour within 12 grey
    levels of the stock frame's) with the occlusion model, and the photo's cheek without it."""
    from dhsdk.swap.compose import FaceSwapper

    st, frames = tracked
    covered, cheek = stock.hidden
    k = covered[len(covered) // 2]
    lm = st.driving()[k].astype(np.float64)
    x, y = apply_affine(stock.affines[k], np.array([cheek]))[0].astype(int)

    def patch(image):
        return image[y - 6:y + 6, x - 6:x + 6].reshape(-1, 3).astype(float).mean(0)

    with_model = FaceSwapper(photo_face, st.neutral(), occlusion=OcclusionModel.fit(st.colours))(frames[k], lm)
    without = FaceSwapper(photo_face, st.neutral())(frames[k], lm)
    kept = np.abs(patch(with_model.image) - patch(frames[k])).max()
    pasted = np.abs(patch(without.image) - patch(frames[k])).max()
    assert kept < 12.0 < pasted
