"""The per-pixel part of a mesh warp: which triangle covers each output pixel, and any
per-vertex value (a source image coordinate, a colour gain, a blend weight) interpolated over it.

Every triangle carries each value as a plane, ``value(x, y) = P[t] @ (x, y, 1)``
(:func:`planes`: barycentric interpolation folded into three coefficients), so a pixel needs
its triangle number and two multiply-adds per value. This is the arithmetic a CUDA kernel does
per pixel (DESIGN.md, "one body, two launchers"); the raster ``ids`` is the only step with a
loop over triangles:

    t = ids[y, x];   value_k = P[t, k, 0] * x + P[t, k, 1] * y + P[t, k, 2]

Here numpy runs it over the covered pixels, OpenCV rasterises (``fillConvexPoly``) and samples
(``remap``, bilinear). The planes are piecewise linear and continuous across shared edges, so
they are evaluated on a grid ``step`` pixels apart and bilinearly upsampled (:meth:`Raster.upsample`:
the error is a fraction of a pixel where neighbouring triangles bend the map); the images are
then read at every full-resolution pixel.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SUBPIXEL_BITS = 4   # fillConvexPoly's fixed-point precision: 1/16 px


def bounding_box(points: np.ndarray, shape: tuple[int, ...], pad: int = 2) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) integer box around ``points`` (N, 2), padded and clipped to ``shape``."""
    lo = np.floor(np.min(points, 0)).astype(int) - pad
    hi = np.ceil(np.max(points, 0)).astype(int) + pad + 1
    h, w = shape[:2]
    return int(max(lo[0], 0)), int(max(lo[1], 0)), int(min(hi[0], w)), int(min(hi[1], h))


def barycentric_affines(points: np.ndarray, tris: np.ndarray) -> np.ndarray:
    """(T, 2, 3) float64 maps from pixel (x, y, 1) to the barycentric weights (l1, l2) of
    vertices 1 and 2 of each triangle (degenerate triangles get zeros).

    Args:
        points: (V, 2) vertex positions in the raster's pixels.
        tris: (T, 3) vertex numbers.
    """
    p = np.asarray(points, np.float64)
    a, b, c = p[tris[:, 0]], p[tris[:, 1]], p[tris[:, 2]]
    e1, e2 = b - a, c - a
    det = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
    ok = np.abs(det) > 1e-12
    inv = np.where(ok, 1.0 / np.where(ok, det, 1.0), 0.0)
    m = np.empty((len(tris), 2, 3))   # [l1, l2] = [e1 e2]^-1 (p - a)
    m[:, 0, 0], m[:, 0, 1] = e2[:, 1] * inv, -e2[:, 0] * inv
    m[:, 1, 0], m[:, 1, 1] = -e1[:, 1] * inv, e1[:, 0] * inv
    m[:, :, 2] = -np.einsum("tij,tj->ti", m[:, :, :2], a)
    return m


def planes(points: np.ndarray, tris: np.ndarray, values: np.ndarray) -> np.ndarray:
    """(T, K, 3) float32 the linear function of each triangle that takes the per-vertex
    ``values`` at its corners: ``value(x, y) = P[t, k] @ (x, y, 1)``.

    Args:
        points: (V, 2) vertex positions in the raster's pixels.
        tris: (T, 3) vertex numbers.
        values: (V, K) per-vertex values.
    """
    v = np.asarray(values, np.float64)
    b = barycentric_affines(points, tris)
    v0, v1, v2 = v[tris[:, 0]], v[tris[:, 1]], v[tris[:, 2]]
    out = (v1 - v0)[:, :, None] * b[:, None, 0, :] + (v2 - v0)[:, :, None] * b[:, None, 1, :]
    out[:, :, 2] += v0
    return out.astype(np.float32)


@dataclass
class Raster:
    """Triangles rasterised over a region of the output, on a grid ``step`` pixels apart.

    Grid cell (i, j) sits at region pixel ``(j * step + (step - 1) / 2, i * step + (step - 1) / 2)``,
    the centre of the ``step`` x ``step`` block it stands for (what a bilinear resize assumes).

    Attributes:
        box: (x0, y0, x1, y1) the region, output pixels.
        step: grid spacing in pixels (1 = every pixel).
        ids: (hc, wc) int32 triangle drawn at each grid cell (-1: none).
        flat: (P,) int64 raveled indices (into ``ids``) of the covered cells.
        tri: (P,) int32 triangle of each covered cell.
        xy: (P, 2) float32 grid coordinates of the covered cells.
        tris: (T, 3) the triangles.
        grid_points: (V, 2) the vertices in grid coordinates.
    """

    box: tuple[int, int, int, int]
    step: int
    ids: np.ndarray
    flat: np.ndarray
    tri: np.ndarray
    xy: np.ndarray
    tris: np.ndarray
    grid_points: np.ndarray

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the region in output pixels."""
        return self.box[2] - self.box[0], self.box[3] - self.box[1]

    def evaluate(self, coef: np.ndarray, cells: np.ndarray | None = None) -> np.ndarray:
        """(P, K) float32 the per-triangle planes ``coef`` (T, K, 3), in grid coordinates, at
        the covered cells (or at the ``cells`` (P,) bool subset of them: (Q, K))."""
        tri, xy = (self.tri, self.xy) if cells is None else (self.tri[cells], self.xy[cells])
        c = np.take(np.asarray(coef, np.float32), tri, axis=0)
        return c[:, :, 0] * xy[:, :1] + c[:, :, 1] * xy[:, 1:] + c[:, :, 2]

    def field(self, values: np.ndarray, fill: np.ndarray | float = 0.0, cells: np.ndarray | None = None) -> np.ndarray:
        """(hc, wc, K) float32 per-vertex ``values`` (V, K) interpolated over the drawn
        triangles on the grid; uncovered cells (and covered ones outside ``cells``, a (P,) bool
        subset of the covered cells) take ``fill`` (a scalar, a (K,) value or an (hc, wc, K) array)."""
        values = np.asarray(values, np.float32)
        k = values.shape[1]
        if np.ndim(fill) > 1:
            out = np.array(np.asarray(fill, np.float32).reshape(-1, k), copy=True)
        else:
            out = np.empty((self.ids.size, k), np.float32)
            out[:] = fill
        flat = self.flat if cells is None else self.flat[cells]
        out[flat] = self.evaluate(planes(self.grid_points, self.tris, values), cells)
        return out.reshape(*self.ids.shape, k)

    def identity(self) -> np.ndarray:
        """(hc, wc, 2) float32 the output-pixel coordinates of the grid cells (a map that reads
        the output's own pixels: the fill that keeps a warp seamless where no triangle is)."""
        hc, wc = self.ids.shape
        off = (self.step - 1) / 2.0
        xs = self.box[0] + off + self.step * np.arange(wc, dtype=np.float32)
        ys = self.box[1] + off + self.step * np.arange(hc, dtype=np.float32)
        return np.stack(np.meshgrid(xs, ys), -1).astype(np.float32)

    def upsample(self, grid: np.ndarray, box: tuple[int, int, int, int] | None = None) -> np.ndarray:
        """(h, w, K) float32 a grid field at every output pixel of ``box`` (a part of the region;
        the whole region when None), bilinearly."""
        import cv2

        box = box or self.box
        if self.step == 1:
            x0, y0 = box[0] - self.box[0], box[1] - self.box[1]
            out = grid[y0:y0 + box[3] - box[1], x0:x0 + box[2] - box[0]]
            return np.ascontiguousarray(out.reshape(*out.shape[:2], -1))
        w, h = self.size
        full = cv2.resize(grid, (grid.shape[1] * self.step, grid.shape[0] * self.step), interpolation=cv2.INTER_LINEAR)
        x0, y0 = box[0] - self.box[0], box[1] - self.box[1]
        out = full[y0:y0 + box[3] - box[1], x0:x0 + box[2] - box[0]]
        return np.ascontiguousarray(out.reshape(*out.shape[:2], -1))

    def cells(self, mask: np.ndarray, box: tuple[int, int, int, int] | None = None) -> np.ndarray:
        """(h, w) bool a grid mask ((hc, wc) bool) at every output pixel of ``box`` (nearest cell)."""
        box = box or self.box
        m = np.repeat(np.repeat(mask, self.step, 0), self.step, 1)
        x0, y0 = box[0] - self.box[0], box[1] - self.box[1]
        return m[y0:y0 + box[3] - box[1], x0:x0 + box[2] - box[0]]


def remap(image: np.ndarray, maps: np.ndarray) -> np.ndarray:
    """Read ``image`` (bilinear, edges replicated) at per-pixel source coordinates.

    Args:
        image: (H, W, C) uint8 or float32 source image.
        maps: (h, w, 2) float32 source x, y of each output pixel.

    Returns:
        (h, w, C) like ``image``.
    """
    import cv2

    return cv2.remap(image, maps[..., 0], maps[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def rasterize(points: np.ndarray, tris: np.ndarray, order: np.ndarray, box: tuple[int, int, int, int],
              step: int = 1) -> Raster:
    """Rasterise triangles over ``points`` into ``box`` on a grid ``step`` pixels apart.

    Args:
        points: (V, 2) vertex positions in output pixels.
        tris: (T, 3) int32 vertex numbers.
        order: triangle numbers to draw, in order: where they overlap the later one wins
            (:func:`dhsdk.swap.topology.draw_order`); a (T,) bool array draws those in index order.
        box: (x0, y0, x1, y1) the region (see :func:`bounding_box`).
        step: grid spacing in output pixels.
    """
    import cv2

    step = max(1, int(step))
    x0, y0, x1, y1 = box
    w, h = max(x1 - x0, 0), max(y1 - y0, 0)
    hc, wc = -(-h // step), -(-w // step)
    ids = np.full((hc, wc), -1, np.int32)
    grid_points = (np.asarray(points, np.float64) - [x0, y0] - (step - 1) / 2.0) / step
    fixed = np.round(grid_points * (1 << SUBPIXEL_BITS)).astype(np.int32)
    order = np.flatnonzero(order) if np.asarray(order).dtype == bool else np.asarray(order)
    for t in order:
        cv2.fillConvexPoly(ids, fixed[tris[t]], int(t), lineType=cv2.LINE_8, shift=SUBPIXEL_BITS)
    flat = np.flatnonzero(ids.ravel() >= 0)
    tri = ids.ravel()[flat]
    ys, xs = np.divmod(flat, max(wc, 1))
    return Raster(box, step, ids, flat, tri, np.stack([xs, ys], 1).astype(np.float32), np.asarray(tris, np.int32),
                  grid_points)
