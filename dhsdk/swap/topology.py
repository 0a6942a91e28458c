"""The warp mesh of the face: mediapipe's own triangulation plus the pieces it leaves open.

mediapipe's face mesh comes with its triangulation (``FACEMESH_TESSELATION`` in the wheel's
``face_mesh_connections``, as edges): 852 triangles over the 468 surface points, with holes at
the eyes and the mouth. For warping a whole face this module adds

- each eye's opening, each lid zipped to the iris's horizontal diameter (its two edge points
  and centre), so moving the iris moves it as a disc (gaze) and closing the lids collapses it
  (blinks);
- the mouth opening as a strip of 18 triangles between the inner upper and lower lip;
- rings of virtual points around the face oval (:data:`RING_SCALES`), joined to the oval and to
  each other by strips: the band between the oval and the outermost ring carries the hair,
  ears, neck and background, so a face of another shape pulls its surroundings along instead
  of leaving a gap or a double chin. The outermost ring never moves, so the warp ends there.

Vertex numbering: 0..477 are mediapipe's points, 478.. the ring points, ``len(OVAL_IDS)`` per
ring, innermost first. Triangles carry no global orientation: which ones to draw is decided by
comparing the source face with the target (:func:`visible`).
"""
from __future__ import annotations

import functools

import numpy as np

from dhsdk.geometry import LIP_INNER_IDS

N_MESH = 478
# The face oval, clockwise on screen from the top of the forehead.
OVAL_IDS = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152,
            148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)
# Eye openings, each a closed ring starting at the outer corner; the first 9 entries run along
# the upper lid to the inner corner, the rest back along the lower lid (image-left eye first).
EYE_RINGS = ((33, 246, 161, 160, 159, 158, 157, 173, 133, 155, 154, 153, 145, 144, 163, 7),
             (263, 466, 388, 387, 386, 385, 384, 398, 362, 382, 381, 380, 374, 373, 390, 249))
IRIS_CENTRES = (468, 473)                  # image-left eye's iris centre first
IRIS_RINGS = ((469, 470, 471, 472), (474, 475, 476, 477))
# Upper/lower lid pairs (one above the other), for the eye opening: image-left eye first.
LID_PAIRS = (((246, 7), (161, 163), (160, 144), (159, 145), (158, 153), (157, 154), (173, 155)),
             ((466, 249), (388, 390), (387, 373), (386, 374), (385, 380), (384, 381), (398, 382)))
EYE_CORNERS = ((33, 133), (263, 362))      # (outer, inner) per eye
# The two rings of skin above each upper lid, point for point above LID_PAIRS' upper points
# (mediapipe's eyeUpper1 and eyeUpper2): the lid margin and the fold above it.
LID_FOLDS = (((247, 30, 29, 27, 28, 56, 190), (113, 225, 224, 223, 222, 221, 189)),
             ((467, 260, 259, 257, 258, 286, 414), (342, 445, 444, 443, 442, 441, 413)))
BROW_IDS = ((46, 52, 53, 55, 63, 65, 66, 70, 105, 107), (276, 282, 283, 285, 293, 295, 296, 300, 334, 336))
# Points that move with the skull, not with expressions: forehead, temples, nose, eye corners,
# cheekbones. The head's pose is fitted to these alone.
RIGID_IDS = (10, 151, 9, 8, 168, 6, 197, 195, 5, 4, 1, 109, 338, 67, 297, 103, 332, 54, 284,
             33, 133, 362, 263, 234, 454, 127, 356, 93, 323, 116, 345, 123, 352, 98, 327, 129, 358)
RING_SCALES = (1.3, 1.6)    # virtual rings around the oval, as multiples of its distance from the face centre


def eye_ids() -> list[int]:
    """Every point of the eyes: both lid rings, irises and iris centres (sorted)."""
    ids = set(IRIS_CENTRES)
    for group in EYE_RINGS + IRIS_RINGS:
        ids |= set(group)
    return sorted(ids)


def _edges() -> set[tuple[int, int]]:
    import importlib

    from dhsdk._optional import require

    require("mediapipe", "the face mesh's triangulation")
    conn = importlib.import_module("mediapipe.python.solutions.face_mesh_connections")
    return {(min(a, b), max(a, b)) for a, b in conn.FACEMESH_TESSELATION}


def _cycle_triangles(edges: set[tuple[int, int]]) -> np.ndarray:
    """Triangles of a mesh given as its edges: every 3-cycle, less the few 3-cycles that are not
    faces (each of their edges already borders two faces, so it would border three)."""
    from collections import Counter, defaultdict

    adj: dict[int, set[int]] = defaultdict(set)
    for a, b in edges:
        adj[a].add(b)
        adj[b].add(a)
    tris = sorted({tuple(sorted((a, b, c))) for a, b in edges for c in adj[a] & adj[b]})
    uses = Counter(e for t in tris for e in ((t[0], t[1]), (t[1], t[2]), (t[0], t[2])))
    keep = [t for t in tris if not all(uses[e] > 2 for e in ((t[0], t[1]), (t[1], t[2]), (t[0], t[2])))]
    return np.array(keep, np.int32)


@functools.lru_cache(maxsize=1)
def surface_triangles() -> np.ndarray:
    """(852, 3) int32 mediapipe's own triangles (read-only)."""
    tris = _cycle_triangles(_edges())
    tris.flags.writeable = False
    return tris


def _zip(a: list[int], ta: list[float], b: list[int], tb: list[float]) -> list[tuple[int, int, int]]:
    """Triangles between two chains that share their end points, merged by nominal position."""
    out, i, k = [], 0, 0
    while i < len(a) - 1 or k < len(b) - 1:
        if k == len(b) - 1 or (i < len(a) - 1 and ta[i + 1] <= tb[k + 1]):
            out.append((a[i], a[i + 1], b[k]))
            i += 1
        else:
            out.append((a[i], b[k + 1], b[k]))
            k += 1
    return [t for t in out if len(set(t)) == 3]


def _eye_triangles() -> list[tuple[int, int, int]]:
    """Each eye's opening: the upper lid and the lower lid each zipped to the iris's horizontal
    diameter (left edge, centre, right edge), corner to corner. The iris is drawn between its
    edges, so a gaze shift moves it as a disc and stretches only the white of the eye; a shut
    eye collapses the lids and the diameter onto one line."""
    out = []
    for eye, (ring, centre, iris) in enumerate(zip(EYE_RINGS, IRIS_CENTRES, IRIS_RINGS)):
        a, b = ring[0], ring[8]
        upper, lower = list(ring[:9]), [ring[0]] + list(ring[9:][::-1]) + [ring[8]]
        if eye == 1:     # the image-right eye's ring runs right to left: put both lids left to right
            upper, lower = upper[::-1], lower[::-1]
            a, b = b, a
        middle = [a, iris[2], centre, iris[0], b]     # iris ring: +x, top, -x, bottom (image axes)
        t_lid = [j / 8 for j in range(9)]
        t_mid = [0.0, 0.3, 0.5, 0.7, 1.0]
        out += _zip(upper, t_lid, middle, t_mid) + _zip(lower, t_lid, middle, t_mid)
    return out


def _mouth_triangles() -> list[tuple[int, int, int]]:
    """A strip between the inner lips, left corner to right corner (geometry.LIP_INNER_IDS:
    corner, 9 lower, corner, 9 upper running back)."""
    left, right = LIP_INNER_IDS[0], LIP_INNER_IDS[10]
    lower = list(LIP_INNER_IDS[1:10])
    upper = list(LIP_INNER_IDS[11:20])[::-1]
    out = [(left, lower[0], upper[0])]
    for k in range(len(lower) - 1):
        out += [(lower[k], lower[k + 1], upper[k + 1]), (lower[k], upper[k + 1], upper[k])]
    out.append((lower[-1], right, upper[-1]))
    return out


def ring_ids(ring: int) -> np.ndarray:
    """(36,) vertex numbers of virtual ring ``ring`` (0 = innermost)."""
    n = len(OVAL_IDS)
    return N_MESH + ring * n + np.arange(n)


def _strip(inner: np.ndarray, outer: np.ndarray) -> list[tuple[int, int, int]]:
    n = len(inner)
    out = []
    for k in range(n):
        a, b = inner[k], inner[(k + 1) % n]
        c, d = outer[k], outer[(k + 1) % n]
        out += [(a, c, b), (b, c, d)]
    return out


@functools.lru_cache(maxsize=1)
def face_triangles() -> np.ndarray:
    """(T, 3) int32 every triangle that shows the face: the surface, the eyes, the mouth."""
    tris = np.concatenate([surface_triangles(), np.array(_eye_triangles() + _mouth_triangles(), np.int32)])
    tris.flags.writeable = False
    return tris


@functools.lru_cache(maxsize=1)
def band_triangles() -> np.ndarray:
    """(2 * 36 * len(RING_SCALES), 3) int32 the band around the oval, out to the outermost ring."""
    rings = [np.asarray(OVAL_IDS)] + [ring_ids(k) for k in range(len(RING_SCALES))]
    tris = []
    for inner, outer in zip(rings, rings[1:]):
        tris += _strip(inner, outer)
    out = np.array(tris, np.int32)
    out.flags.writeable = False
    return out


def ring_points(shape: np.ndarray) -> np.ndarray:
    """(36 * len(RING_SCALES), 2) virtual ring points around a face.

    Args:
        shape: (478, 2) mesh points (any frame: canonical or pixels). The rings are the oval
            scaled about the face centre (the mean of the oval), so they are rigid with the face.
    """
    oval = np.asarray(shape, np.float64)[list(OVAL_IDS)]
    centre = oval.mean(0)
    return np.concatenate([centre + s * (oval - centre) for s in RING_SCALES])


def signed_area(points: np.ndarray, tris: np.ndarray) -> np.ndarray:
    """(T,) float64 signed area of each triangle of ``tris`` over ``points`` (y down)."""
    p = np.asarray(points, np.float64)
    a, b, c = p[tris[:, 0]], p[tris[:, 1]], p[tris[:, 2]]
    return 0.5 * ((b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0]))


def visible(src: np.ndarray, dst: np.ndarray, tris: np.ndarray) -> np.ndarray:
    """(T,) bool: the triangle keeps its orientation from ``src`` points to ``dst`` points.

    One that flips (the far side of the nose on a turned head) faces away from the camera in
    ``dst`` and belongs under the triangles that face it. No global orientation is needed: the
    source face is the reference.
    """
    return signed_area(src, tris) * signed_area(dst, tris) > 0


def draw_order(src: np.ndarray, dst: np.ndarray, tris: np.ndarray, min_area: float = 1e-3) -> np.ndarray:
    """Triangle numbers in the order to rasterise them from ``src`` to ``dst`` (later ones win):
    the flipped ones first, so they fill only what no front-facing triangle covers (a sliver at
    the outline of a turned face), then the front-facing ones. Triangles that collapse to
    nothing in ``dst`` (shut eyelids, a closed mouth: under ``min_area`` square pixels) are left out."""
    area = np.abs(signed_area(dst, tris))
    keep = area > min_area
    front = visible(src, dst, tris)
    return np.concatenate([np.flatnonzero(keep & ~front), np.flatnonzero(keep & front)]).astype(np.int32)
