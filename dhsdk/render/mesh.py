"""Triangle mesh of the lower face for the warp renderer, and the inner-lip column tables.

Vertices (100): the 40 lip keypoints (outer ring 0..19, inner ring 20..39, geometry.LIP_IDS
order), two intermediate rings of 20 points (40..59, 60..79) and a fixed outer contour of 20
points (80..99). Every ring has one point per outer-lip point k, on the segment from outer-lip
point k to contour point k; ring points sit at a fixed fraction of that segment, so skin
between the lips and the contour stretches smoothly and the chin/jaw ring below the mouth
follows the jaw opening partially (more than the cheeks above: their fractions are smaller).
The contour is computed once per avatar from the mouth mask, along rays from the neutral
mouth centre through the neutral outer-lip points, so the seam never moves.

Triangles (178): the mouth interior first (18, a strip between the lower and upper inner lip),
then four ring-to-ring strips of 40 (inner lip - outer lip - ring 1 - ring 2 - contour).

Visible inner lips (:func:`visible_lips`): the face mesh's inner-lip points are not where a
mouth's aperture visibly begins. On real talking footage (GRID speaker s1, frames sorted by
opening, the mouth's centre column against its tracked lips) the teeth of an open mouth
reach above the tracked upper inner lip by a share of the opening: the upper lip rolls up and
thins as the mouth opens, and the face mesh reads the aperture smaller than it shows. The
renderer draws (and warps to) the visible edge, so a rendered mouth reads back as the opening
it was given: the mesh's inner points are the visible ones, for the source crop and the
target alike.
"""
from __future__ import annotations

import numpy as np

from dhsdk.errors import InputError
from dhsdk.geometry import CORNERS, INNER, INNER_LOWER, INNER_UPPER, OUTER, OUTER_UPPER

N_RING = 20
N_VERTICES = 5 * N_RING
MASK_LEVEL = 0.02     # the contour follows mask > MASK_LEVEL ...
CONTOUR_MARGIN = 1.5  # ... this many pixels inside it
MAX_REACH = 0.88      # lips are kept within this fraction of the way to the contour
MIN_ROOM = 3.0        # px: the contour stays at least this far beyond the neutral outer lip
_LOWER = np.zeros(N_RING, bool)
_LOWER[1:10] = True
# Fractions of the way from the outer lip to the contour: below the mouth the rings stay near
# the lips (they follow the jaw), above it they stay near the contour (upper-lip skin stretches).
RING_FRACTIONS = (np.where(_LOWER, 0.28, 0.4), np.where(_LOWER, 0.6, 0.72))
# Visible upper inner-lip edge above the face mesh's, as a share of the inner gap of each
# column. Measured on real footage: GRID s1 test clips re-rendered from a closed frame of each
# clip to every frame's own tracked lips, composited and tracked again; the re-rendered opening
# against the real frames' has slope 0.96 at 0 (r 0.990), 1.04 at 0.1 (r 0.990), 1.15 at 0.2,
# and a2k-driven renders on another GRID clip read back 0.92x / 0.99x / 1.07x of their target
# (tests/render/test_warp_tracking.py checks the read-back on GRID footage).
VISIBLE_UPPER = 0.1
MIN_LIP = 0.35   # the upper lip keeps at least this share of its tracked thickness
# Facing points across the mouth, per column between the corners (image-left to right).
_IN_LO, _IN_UP, _OUT_UP = np.array(INNER_LOWER), np.array(INNER_UPPER[::-1]), np.array(OUTER_UPPER[::-1])


def _quads() -> np.ndarray:
    """(Q, 4) vertex ids of the mesh's quads, each (a_k, a_k+1, b_k+1, b_k) with ring a inside
    ring b, all of one orientation: the mouth between the upper and lower inner chains first,
    then the four ring-to-ring strips. The two mouth quads at the inner corners are triangles
    (a repeated vertex)."""
    lower = np.arange(20, 31)
    upper = np.array([20, *range(39, 30, -1), 30])
    mouth = [(upper[j], upper[j + 1], lower[j + 1], lower[j]) for j in range(10)]
    rings = [np.arange(20, 40), np.arange(0, 20)] + [np.arange(k, k + N_RING) for k in (40, 60, 80)]
    strips = [np.stack([a, np.roll(a, -1), np.roll(b, -1), b], 1) for a, b in zip(rings, rings[1:])]
    return np.concatenate([np.array(mouth), *strips])


N_MOUTH = 18  # the first 10 quads: 8 split in two, the 2 corner ones already triangles


def _signed_area(v: np.ndarray, t: np.ndarray) -> np.ndarray:
    a, b, c = v[t[..., 0]], v[t[..., 1]], v[t[..., 2]]
    return (b[..., 0] - a[..., 0]) * (c[..., 1] - a[..., 1]) - (c[..., 0] - a[..., 0]) * (b[..., 1] - a[..., 1])


def triangles(vertices: np.ndarray | None = None) -> np.ndarray:
    """(178, 3) int32 vertex ids; the first :data:`N_MOUTH` are the mouth interior.

    Each quad is split along the diagonal that keeps both halves best oriented for
    ``vertices`` (the neutral mesh; at mouth corners the other split folds), or along
    a_k - b_k+1 when no vertices are given.
    """
    q = _quads()
    first = np.stack([np.stack([q[:, 0], q[:, 1], q[:, 2]], 1), np.stack([q[:, 0], q[:, 2], q[:, 3]], 1)], 1)
    second = np.stack([np.stack([q[:, 0], q[:, 1], q[:, 3]], 1), np.stack([q[:, 1], q[:, 2], q[:, 3]], 1)], 1)
    if vertices is None:
        split = first
    else:
        v = np.asarray(vertices, np.float64)
        sign = np.sign(_signed_area(v, first[N_MOUTH // 2 + 1:]).sum()) or 1.0
        score_a = (sign * _signed_area(v, first)).min(1)
        score_b = (sign * _signed_area(v, second)).min(1)
        split = np.where((score_b > score_a)[:, None, None], second, first)
    tris = split.reshape(-1, 3)
    degenerate = (tris[:, 0] == tris[:, 1]) | (tris[:, 1] == tris[:, 2]) | (tris[:, 0] == tris[:, 2])
    return tris[~degenerate].astype(np.int32)


def mouth_centre(lips: np.ndarray) -> np.ndarray:
    """(2,) float64 mean of the outer lip ring."""
    return np.asarray(lips, np.float64)[OUTER].mean(0)


def contour_from_mask(mask: np.ndarray, neutral_lips: np.ndarray) -> np.ndarray:
    """The fixed outer contour: per neutral outer-lip point, where the ray from the mouth
    centre through it leaves the mask (or the crop), CONTOUR_MARGIN pixels inside; but at
    least MIN_ROOM pixels beyond the lip (where a mask hugs the lips the warp reaches a little
    past its support).

    Args:
        mask: (S, S) float32 lower-face mask in [0, 1].
        neutral_lips: (40, 2) crop-pixel lips of the avatar's neutral (or any typical) mouth.

    Returns:
        (20, 2) float64 contour points, inside the crop.

    Raises:
        InputError: the mask does not cover the mouth centre.
    """
    size = mask.shape[0]
    centre = mouth_centre(neutral_lips)
    c = np.clip(np.rint(centre).astype(int), 0, size - 1)
    if mask[c[1], c[0]] < 0.5:
        raise InputError(f"the mouth mask does not cover the mouth (mask {mask[c[1], c[0]]:.2f} at the mouth "
                         f"centre {centre.round(1).tolist()}): pass the lower-face mask of this crop")
    offsets = np.asarray(neutral_lips, np.float64)[OUTER] - centre
    lip_r = np.linalg.norm(offsets, axis=1)
    dirs = offsets / np.maximum(lip_r, 1e-9)[:, None]
    steps = np.arange(0.0, 2.0 * size, 0.5)
    pts = centre + steps[None, :, None] * dirs[:, None, :]
    ij = np.rint(pts).astype(np.int64)
    inside = ((ij >= 0) & (ij < size)).all(-1)
    vals = np.where(inside, mask[np.clip(ij[..., 1], 0, size - 1), np.clip(ij[..., 0], 0, size - 1)], 0.0)
    stop = steps[np.argmax(vals <= MASK_LEVEL, axis=1)] - CONTOUR_MARGIN
    stop = np.maximum(stop, lip_r + MIN_ROOM)
    return np.clip(centre + stop[:, None] * dirs, 0.0, size - 1.0)


class LowerFaceMesh:
    """The per-avatar mesh: fixed topology and contour; vertices per lip shape.

    Args:
        mask: (S, S) float32 lower-face mask in [0, 1].
        neutral_lips: (40, 2) crop-pixel lips that fix the contour rays.
    """

    def __init__(self, mask: np.ndarray, neutral_lips: np.ndarray):
        self.contour = contour_from_mask(np.asarray(mask, np.float32), neutral_lips)
        self.centre = mouth_centre(neutral_lips)
        self.triangles = triangles(self.vertices(neutral_lips))
        self.n_mouth = N_MOUTH
        rel = self.contour - self.centre
        self._angles = np.arctan2(rel[:, 1], rel[:, 0])
        self._radii = np.linalg.norm(rel, axis=1)
        order = np.argsort(self._angles)
        a, r = self._angles[order], self._radii[order]
        # Periodic table of the contour radius by angle (for keeping lips inside it).
        self._a = np.concatenate([a[-1:] - 2 * np.pi, a, a[:1] + 2 * np.pi])
        self._r = np.concatenate([r[-1:], r, r[:1]])

    def limit(self, lips: np.ndarray) -> np.ndarray:
        """Pull lip points radially inside MAX_REACH of the contour (extreme targets would
        otherwise fold the skin rings). (..., 40, 2) -> (..., 40, 2) float32; unchanged when inside."""
        rel = np.asarray(lips, np.float64) - self.centre
        r = np.linalg.norm(rel, axis=-1)
        reach = MAX_REACH * np.interp(np.arctan2(rel[..., 1], rel[..., 0]), self._a, self._r)
        if (r <= reach).all():
            return np.asarray(lips, np.float32)
        scale = np.minimum(1.0, reach / np.maximum(r, 1e-9))
        return (self.centre + rel * scale[..., None]).astype(np.float32)

    def vertices(self, lips: np.ndarray) -> np.ndarray:
        """(..., 100, 2) float32 vertex positions for (..., 40, 2) crop-pixel lips."""
        lips = np.asarray(lips, np.float64)
        outer = lips[..., OUTER, :]
        span = self.contour - outer
        rings = [outer + f[:, None] * span for f in RING_FRACTIONS]
        contour = np.broadcast_to(self.contour, outer.shape)
        return np.concatenate([lips, *rings, contour], axis=-2).astype(np.float32)


def visible_lips(lips: np.ndarray) -> np.ndarray:
    """The lips with their inner points moved to the mouth's visible edge (module docstring).

    Per column between the corners, the upper inner point moves up by VISIBLE_UPPER times the
    column's inner gap, perpendicular to the corner axis, the upper lip keeping MIN_LIP of its
    thickness; corners, the lower lip, outer points and closed columns stay.

    Args:
        lips: (..., 40, 2) crop-pixel (or canonical) lips.

    Returns:
        (..., 40, 2) float32, a new array.
    """
    lips = np.asarray(lips, np.float32)
    axis = lips[..., CORNERS[1], :] - lips[..., CORNERS[0], :]
    down = np.stack([-axis[..., 1], axis[..., 0]], -1) / np.maximum(np.linalg.norm(axis, axis=-1), 1e-6)[..., None]
    down = down[..., None, :]                                               # (..., 1, 2)

    def along(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.maximum(((lips[..., a, :] - lips[..., b, :]) * down).sum(-1), 0.0)   # (..., 9)

    up = np.minimum(VISIBLE_UPPER * along(_IN_LO, _IN_UP), (1.0 - MIN_LIP) * along(_IN_UP, _OUT_UP))
    out = lips.copy()
    out[..., _IN_UP, :] -= up[..., None] * down
    return out


def inner_lut(lips: np.ndarray, size: int) -> np.ndarray:
    """Upper and lower y of the inner-lip contour in every crop column.

    Args:
        lips: (..., 40, 2) crop-pixel lips.
        size: S.

    Returns:
        (..., S, 2) float32: per column x, the min and max y where the vertical line x crosses
        the inner-lip polygon; beyond the mouth both equal the y of the nearer inner corner
        region's extreme vertex (a closed mouth), so interpolation across columns stays sane.
    """
    ring = np.asarray(lips, np.float64)[..., INNER, :]
    a, b = ring, np.roll(ring, -1, axis=-2)
    xs = np.arange(size, dtype=np.float64)
    ax, ay, bx, by = a[..., 0, None], a[..., 1, None], b[..., 0, None], b[..., 1, None]  # (..., 20, 1)
    dx = bx - ax
    flat = np.abs(dx) <= 1e-9
    t = (xs - ax) / np.where(flat, 1.0, dx)
    y = ay + t * (by - ay)
    hit = (xs >= np.minimum(ax, bx)) & (xs <= np.maximum(ax, bx)) & ~flat
    up = np.where(hit, y, np.inf).min(-2)
    lo = np.where(hit, y, -np.inf).max(-2)
    pick = np.stack([np.argmin(ring[..., 0], -1), np.argmax(ring[..., 0], -1)], -1)  # (..., 2) corners
    left, right = (np.take_along_axis(ring, pick[..., j, None, None], -2)[..., 0, :] for j in (0, 1))
    closed = ~hit.any(-2)
    fill = np.where(xs < 0.5 * (left[..., :1] + right[..., :1]), left[..., 1:], right[..., 1:])
    up = np.where(closed, fill, up)
    lo = np.where(closed, fill, lo)
    return np.stack([up, lo], -1).astype(np.float32)


def mouth_span(lips: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(centre column, half width) of the inner mouth from its corners, px (half width >= 1):
    float64 scalars for (40, 2) lips, (...,) arrays for (..., 40, 2)."""
    lips = np.asarray(lips, np.float64)
    left, right = lips[..., 20 + CORNERS[0], 0], lips[..., 20 + CORNERS[1], 0]
    return 0.5 * (left + right), np.maximum(0.5 * np.abs(right - left), 1.0)
