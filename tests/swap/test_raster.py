"""The per-pixel warp arithmetic against a float64 numpy reference: barycentric interpolation per
triangle, the grid with bilinear upsampling, and a mesh warp that moves nothing."""
from __future__ import annotations

import numpy as np
import pytest

from dhsdk.swap.raster import bounding_box, rasterize, remap


def _weights(points, tri, px):
    """(N, 3) float64 barycentric weights of pixels px (N, 2) in triangle ``tri``."""
    a, b, c = points[tri]
    m = np.array([[b[0] - a[0], c[0] - a[0]], [b[1] - a[1], c[1] - a[1]]])
    l12 = np.linalg.solve(m, (px - a).T).T
    return np.column_stack([1 - l12.sum(1), l12])


def test_planes_match_barycentric_reference():
    """Each covered pixel holds its triangle's barycentric interpolation of the vertex values, to
    float32 precision (coefficients are stored as float32: 1e-4 of the values' range); pixels
    well inside a triangle are assigned to it."""
    rng = np.random.default_rng(0)
    points = np.array([[2.0, 3.0], [60.0, 5.0], [30.0, 50.0], [70.0, 60.0]])
    tris = np.array([[0, 1, 2], [1, 3, 2]])
    values = rng.uniform(-100, 100, (4, 3))
    r = rasterize(points, tris, np.array([True, True]), (0, 0, 80, 70))
    got = r.field(values, fill=np.nan)
    for t in range(len(tris)):
        ys, xs = np.nonzero(r.ids == t)
        w = _weights(points, tris[t], np.stack([xs, ys], 1).astype(np.float64))
        np.testing.assert_allclose(got[ys, xs], w @ values[tris[t]], atol=200 * 1e-4)
        ys, xs = np.mgrid[0:70, 0:80]
        w = _weights(points, tris[t], np.stack([xs.ravel(), ys.ravel()], 1).astype(np.float64))
        deep = (w > 0.05).all(1).reshape(70, 80)
        assert deep.any() and (r.ids[deep] == t).all()


@pytest.mark.parametrize("step", [2, 3])
def test_grid_upsampling_is_exact_inside_one_plane(step):
    """Where one linear function covers a whole block, evaluating on a coarser grid and
    upsampling bilinearly gives the same values (the error lives only at triangle edges)."""
    points = np.array([[-50.0, -50.0], [300.0, -50.0], [-50.0, 300.0]])
    tris = np.array([[0, 1, 2]])
    values = np.array([[0.0, 5.0], [350.0, 5.0], [0.0, 355.0]])   # value = (x + 50, y + 55)
    box = (10, 20, 110, 100)
    r = rasterize(points, tris, np.array([True]), box, step=step)
    full = r.upsample(r.field(values))
    ys, xs = np.mgrid[box[1]:box[3], box[0]:box[2]]
    np.testing.assert_allclose(full[2:-2, 2:-2, 0], (xs + 50.0)[2:-2, 2:-2], atol=1e-3)
    np.testing.assert_allclose(full[2:-2, 2:-2, 1], (ys + 55.0)[2:-2, 2:-2], atol=1e-3)


def test_identity_warp_returns_the_image():
    """Source points equal to target points read every pixel back from where it is."""
    rng = np.random.default_rng(1)
    image = rng.integers(0, 255, (60, 80, 3), np.uint8)
    points = np.array([[-1.0, -1.0], [81.0, -1.0], [-1.0, 61.0], [81.0, 61.0]])
    tris = np.array([[0, 1, 2], [1, 3, 2]])
    box = bounding_box(points, image.shape)
    r = rasterize(points, tris, np.array([True, True]), box)
    out = remap(image, r.upsample(r.field(points, fill=r.identity())))
    np.testing.assert_array_equal(out, image)
