"""The warp mesh: mediapipe's triangulation read back from its edges, the eye, mouth and band
pieces, checked on real face meshes (the astronaut's and a generated other face)."""
from __future__ import annotations

import numpy as np
import pytest

import swap_material as sm
from dhsdk.swap import topology as topo


def _raster_count(points, tris, shape=(512, 512)):
    """(H * W,) how many triangles cover each pixel centre (a numpy reference, edge-inclusive)."""
    h, w = shape
    cover = np.zeros((h, w), np.int32)
    for t in tris:
        a, b, c = points[t]
        d = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
        if abs(d) < 1e-9:
            continue
        x0, y0 = np.floor(points[t].min(0)).astype(int)
        x1, y1 = np.ceil(points[t].max(0)).astype(int) + 1
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
        ys, xs = np.mgrid[y0:y1, x0:x1]
        px, py = xs + 0.5, ys + 0.5
        l1 = ((px - a[0]) * (c[1] - a[1]) - (py - a[1]) * (c[0] - a[0])) / d
        l2 = ((b[0] - a[0]) * (py - a[1]) - (b[1] - a[1]) * (px - a[0])) / d
        cover[y0:y1, x0:x1] += (l1 >= 0) & (l2 >= 0) & (l1 + l2 <= 1)
    return cover.ravel()


@pytest.mark.parametrize("which", ["astronaut", "other"])
def test_surface_tiles_the_face(which):
    """852 triangles (Euler: V - E + F = 1 - 3 holes for the 468-point surface); on a real
    frontal face none is degenerate and they cover the face once (no two overlap)."""
    mesh = np.asarray(sm.gen.astronaut_mesh() if which == "astronaut" else sm.other_face()[1], np.float64)
    tris = topo.surface_triangles()
    assert tris.shape == (852, 3) and tris.max() == 467
    edges = {tuple(sorted(e)) for t in tris for e in ((t[0], t[1]), (t[1], t[2]), (t[0], t[2]))}
    assert 468 - len(edges) + len(tris) == 1 - 3
    assert np.abs(topo.signed_area(mesh, tris)).min() > 0.0
    cover = _raster_count(mesh, tris)
    assert (cover > 1).sum() < 0.01 * (cover > 0).sum()    # a shared edge may count twice, nothing else


def test_openings_and_band_close_the_holes():
    """With the eye fans and the mouth strip the face has no hole inside its outline, and the
    band triangles tile the ring between the outline and the outermost virtual ring."""
    mesh = np.asarray(sm.gen.astronaut_mesh(), np.float64)
    pts = np.concatenate([mesh, topo.ring_points(mesh)])
    face = _raster_count(pts, topo.face_triangles())
    import cv2

    inside = np.zeros((512, 512), np.uint8)
    cv2.fillPoly(inside, [np.round(mesh[list(topo.OVAL_IDS)] * 16).astype(np.int32)], 1, shift=4)
    inside = cv2.erode(inside, np.ones((3, 3), np.uint8)).ravel() > 0
    assert (face[inside] >= 1).mean() > 0.999
    band = _raster_count(pts, topo.band_triangles())
    outer = np.zeros((512, 512), np.uint8)
    cv2.fillPoly(outer, [np.round(pts[topo.ring_ids(len(topo.RING_SCALES) - 1)] * 16).astype(np.int32)], 1, shift=4)
    ring = cv2.erode(outer, np.ones((3, 3), np.uint8)).ravel().astype(bool) & ~cv2.dilate(
        inside.reshape(512, 512).astype(np.uint8), np.ones((5, 5), np.uint8)).ravel().astype(bool)
    assert (band[ring] == 1).mean() > 0.99


def test_draw_order_puts_flipped_triangles_under():
    """A triangle that flips between source and target comes first (drawn under the others), one
    that collapses is left out, the rest keep their orientation."""
    src = np.array([[0, 0], [10, 0], [0, 10], [10, 10]], np.float64)
    tris = np.array([[0, 1, 2], [1, 3, 2], [0, 1, 3]])
    dst = src.copy()
    dst[2] = [5, -5]          # crosses edge 0-1: flips triangle 0 only
    order = topo.draw_order(src, dst, tris)
    assert list(topo.visible(src, dst, tris)) == [False, True, True]
    assert order[0] == 0 and sorted(order) == [0, 1, 2]
    flat = src.copy()
    flat[3] = [5, 0]          # triangle 2 collapses onto a line
    assert 2 not in topo.draw_order(src, flat, tris)
