"""Per-vertex colour gains recover a known lighting change, leave hair out, and smooth over time."""
from __future__ import annotations

import numpy as np

import swap_material as sm
from dhsdk.swap import topology as topo
from dhsdk.swap.colour import GainFilter, skin_triangles, vertex_gains
from dhsdk.swap.raster import bounding_box, rasterize


def _skin_raster(mesh, shape):
    tris = topo.face_triangles()
    box = bounding_box(mesh, shape)
    r = rasterize(mesh, tris, np.ones(len(tris), bool), box)
    return box, (r.ids >= 0) & skin_triangles()[np.maximum(r.ids, 0)]


def test_gains_undo_a_lighting_change():
    """The frame is the face under a warm light that fades from left to right: the gains at each
    vertex are the light there (within 5 %)."""
    face = np.asarray(sm.gen.astronaut(), np.float32)
    mesh = np.asarray(sm.gen.astronaut_mesh(), np.float64)
    box, skin = _skin_raster(mesh, face.shape)
    x0, y0, x1, y1 = box
    crop = face[y0:y1, x0:x1]
    ramp = np.linspace(1.2, 0.8, crop.shape[1], dtype=np.float32)[None, :, None]
    light = ramp * np.array([1.1, 0.95, 0.8], np.float32)
    frame = np.clip(crop * light, 0, 255)
    eye = float(np.linalg.norm(mesh[468] - mesh[473]))
    gains = vertex_gains(crop, frame, skin, mesh[:478] - [x0, y0], eye)
    check = np.unique(topo.face_triangles()[skin_triangles()])
    xs = np.clip(np.round(mesh[check, 0] - x0).astype(int), 0, crop.shape[1] - 1)
    expected = ramp[0, xs, 0][:, None] * np.array([1.1, 0.95, 0.8])
    assert np.median(np.abs(gains[check] / expected - 1)) < 0.05


def test_gain_filter_smooths_and_resets():
    f = GainFilter(alpha=0.5)
    a = np.ones((478, 3), np.float32)
    assert np.allclose(f(a), 1.0)
    assert np.allclose(f(3 * a), 2.0)
    f.reset()
    assert np.allclose(f(3 * a), 3.0)
