"""The warp renderer's lower-face mesh: a proper tiling of the contour polygon for real and
target lip shapes, a fixed contour inside the mask, the inner-lip column table, and the
visible inner lips."""
from __future__ import annotations

import numpy as np
import pytest

from dhsdk.errors import InputError
from dhsdk.render.mesh import MIN_LIP, N_MOUTH, N_VERTICES, VISIBLE_UPPER, LowerFaceMesh, inner_lut, visible_lips

S = 128


def ellipse_mask(size: int, rx: float, ry: float, cy: float) -> np.ndarray:
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    d = ((xs - size / 2) / (rx * size)) ** 2 + ((ys - cy * size) / (ry * size)) ** 2
    return np.clip((1 - d) / 0.2, 0, 1).astype(np.float32)


def lips(jaw_open: float = 0.0, scale: float = 0.5) -> np.ndarray:
    """(40, 2) crop-pixel lips: the shipped lip template opened by the jaw_open coefficient."""
    from dhsdk.models.lipshape import coeffs_to_deltas, template

    shape = template() + coeffs_to_deltas(np.array([jaw_open, 0, 0, 0, 0, 0], np.float32))
    return ((shape - [0.0, 1.0]) * S * scale + [S / 2, 0.58 * S]).astype(np.float32)


def signed_areas(v: np.ndarray, tris: np.ndarray) -> np.ndarray:
    a, b, c = v[tris[:, 0]], v[tris[:, 1]], v[tris[:, 2]]
    return 0.5 * ((b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (c[:, 0] - a[:, 0]) * (b[:, 1] - a[:, 1]))


def polygon_area(p: np.ndarray) -> float:
    return 0.5 * abs(float(np.dot(p[:, 0], np.roll(p[:, 1], -1)) - np.dot(p[:, 1], np.roll(p[:, 0], -1))))


def test_topology() -> None:
    t = LowerFaceMesh(ellipse_mask(S, 0.45, 0.4, 0.58), lips()).triangles
    assert t.shape == (N_MOUTH + 4 * 40, 3) and t.dtype == np.int32
    assert set(np.unique(t)) == set(range(N_VERTICES))
    assert (t[:N_MOUTH] >= 20).all() and (t[:N_MOUTH] < 40).all()   # mouth = inner ring only


@pytest.mark.parametrize("jaw_open", [0.0, 0.5, 1.2])
def test_mesh_tiles_the_contour_without_folds(jaw_open: float) -> None:
    mesh = LowerFaceMesh(ellipse_mask(S, 0.45, 0.4, 0.58), lips())
    v = mesh.vertices(lips(jaw_open)).astype(np.float64)
    skin = signed_areas(v, mesh.triangles[N_MOUTH:])
    mouth = signed_areas(v, mesh.triangles[:N_MOUTH])
    # Every non-degenerate triangle has the same orientation, and the areas add up to the
    # contour polygon's: the triangles tile it exactly (no overlap, no hole).
    nonzero = np.abs(skin) > 1e-6
    assert (np.sign(skin[nonzero]) == np.sign(skin[nonzero][0])).all()
    assert np.abs(skin).sum() + np.abs(mouth).sum() == pytest.approx(polygon_area(mesh.contour), rel=1e-6)


def test_contour_is_fixed_and_inside_the_mask() -> None:
    mask = ellipse_mask(S, 0.45, 0.4, 0.58)
    mesh = LowerFaceMesh(mask, lips())
    assert np.array_equal(mesh.vertices(lips(0))[80:], mesh.vertices(lips(1))[80:])
    ij = np.rint(mesh.contour).astype(int)
    assert (mask[ij[:, 1], ij[:, 0]] > 0).all()


def test_limit_keeps_extreme_targets_inside_the_contour() -> None:
    mesh = LowerFaceMesh(ellipse_mask(S, 0.45, 0.4, 0.58), lips())
    wild = lips(2.0)            # twice the full jaw range (a gain of 2): past the contour here
    kept = mesh.limit(wild)
    assert not np.array_equal(kept, wild)
    assert np.array_equal(mesh.limit(lips(0.5)), lips(0.5))
    v = mesh.vertices(kept).astype(np.float64)
    skin = signed_areas(v, mesh.triangles[N_MOUTH:])
    assert (np.sign(skin) == np.sign(skin[0])).all()


def test_mask_not_covering_the_mouth_raises() -> None:
    with pytest.raises(InputError, match="does not cover the mouth"):
        LowerFaceMesh(np.zeros((S, S), np.float32), lips())


def test_inner_lut_matches_a_point_in_polygon_scan() -> None:
    from matplotlib.path import Path

    shape = lips(0.8)
    lut = inner_lut(shape, S)
    ys, xs = np.mgrid[0:S, 0:S].astype(np.float64)
    inside = Path(shape[20:]).contains_points(np.stack([xs.ravel(), ys.ravel()], 1)).reshape(S, S)
    between = (ys > lut[:, 0][None] + 1e-3) & (ys < lut[:, 1][None] - 1e-3)
    strict = (ys > lut[:, 0][None] + 0.5) & (ys < lut[:, 1][None] - 0.5)
    assert not (between & ~inside & strict).any()      # rows between the lips are inside
    assert not (inside & ~between).any()               # and nothing inside is outside them
    closed = lut[:, 1] - lut[:, 0] <= 0
    assert closed[: int(shape[20:, 0].min()) - 1].all() and closed[int(shape[20:, 0].max()) + 2:].all()


def test_visible_lips_raise_the_upper_inner_lip_by_a_share_of_the_gap() -> None:
    from dhsdk.geometry import INNER_LOWER, INNER_UPPER, mouth_opening

    closed, open_ = lips(), lips(1.0)
    assert np.allclose(visible_lips(closed), closed, atol=1e-4)        # a closed mouth stays
    shown = visible_lips(open_)
    moved = np.flatnonzero(np.abs(shown - open_).max(1) > 1e-6)
    assert set(moved) <= set(INNER_UPPER)                               # only the upper inner lip moves
    assert np.isclose(mouth_opening(shown), (1 + VISIBLE_UPPER) * mouth_opening(open_), rtol=1e-4)
    assert np.allclose(shown[list(INNER_LOWER)], open_[list(INNER_LOWER)])
    batch = visible_lips(np.stack([closed, open_]))                     # any leading shape
    assert np.allclose(batch[1], shown)


def test_visible_lips_keep_part_of_a_thin_upper_lip() -> None:
    from dhsdk.geometry import INNER_TOP, mouth_opening

    wide = lips(3.0)
    thin = wide.copy()
    thin[INNER_TOP, 1] = thin[15, 1] + 1.0                              # a 1 px upper lip
    thin[INNER_TOP - 1, 1] = thin[INNER_TOP + 1, 1] = thin[INNER_TOP, 1]
    assert mouth_opening(thin) * VISIBLE_UPPER > 1.0
    shown = visible_lips(thin)
    assert shown[INNER_TOP, 1] - shown[15, 1] >= MIN_LIP * 1.0 - 1e-3
