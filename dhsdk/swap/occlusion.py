"""Which parts of the stock face are hidden (a hand, a microphone, a product held up), per frame.

The face mesh keeps giving points under a hand (it guesses the face behind it), so visibility is
read from appearance: each skin vertex's local colour is compared with its own median over the
whole clip, in units of its own spread over the clip (head turns and light changes vary some
vertices more than others). A vertex far outside its usual range is hidden; a hidden vertex
needs hidden neighbours (one odd vertex is noise), and hiding spreads one ring of mesh
neighbours (onto eyes and lips, whose colour changes by itself). The swap multiplies its blend
weight by the visibility, so whatever is in front of the stock face stays in front of the new one.
"""
from __future__ import annotations

import functools

import numpy as np

from dhsdk.swap.topology import N_MESH, face_triangles

SIGMA_EYES = 0.12            # neighbourhood of a vertex's colour, eye distances
SPREAD_FLOOR = 6.0           # grey levels: the least spread a vertex's colour is allowed over the clip
HIDDEN_Z = (4.0, 8.0)        # robust distance from the usual colour: visible below, hidden above
NEIGHBOUR_SUPPORT = 0.5      # a vertex stays hidden only as far as its neighbours are, on average, twice over


@functools.lru_cache(maxsize=1)
def _adjacency() -> tuple[np.ndarray, np.ndarray]:
    """(E, 2) directed vertex pairs of the face mesh (both directions), for neighbour means/maxima."""
    tris = face_triangles()
    pairs = np.concatenate([tris[:, [0, 1]], tris[:, [1, 2]], tris[:, [2, 0]]])
    pairs = np.unique(np.concatenate([pairs, pairs[:, ::-1]]), axis=0)
    return pairs[:, 0], pairs[:, 1]


@functools.lru_cache(maxsize=1)
def checked_vertices() -> np.ndarray:
    """(478,) bool: vertices whose colour is judged (plain skin: not eyes, brows, lips)."""
    from dhsdk.swap.colour import skin_triangles

    out = np.zeros(N_MESH, bool)
    out[np.unique(face_triangles()[skin_triangles()])] = True
    return out


def _neighbour_mean(values: np.ndarray) -> np.ndarray:
    a, b = _adjacency()
    total = np.bincount(a, weights=values[b], minlength=N_MESH)
    count = np.bincount(a, minlength=N_MESH)
    return total / np.maximum(count, 1)


def _neighbour_max(values: np.ndarray) -> np.ndarray:
    a, b = _adjacency()
    out = values.copy()
    np.maximum.at(out, a, values[b])
    return out


class OcclusionModel:
    """The stock face's usual look per vertex, and the visibility of each vertex in a frame.

    Args:
        reference: (478, 3) each vertex's median colour over the clip.
        spread: (478, 3) each vertex's robust spread (1.4826 MAD) over the clip, floored at
            :data:`SPREAD_FLOOR`.
    """

    def __init__(self, reference: np.ndarray, spread: np.ndarray):
        self.reference = np.asarray(reference, np.float32)
        self.spread = np.maximum(np.asarray(spread, np.float32), SPREAD_FLOOR)
        self._checked = checked_vertices()

    @classmethod
    def fit(cls, colours: np.ndarray) -> "OcclusionModel":
        """From (N, 478, 3) per-frame vertex colours (:func:`dhsdk.swap.colour.vertex_colours`;
        NaN rows for frames without a face are ignored)."""
        c = np.asarray(colours, np.float32)
        c = c[np.isfinite(c).all((1, 2))]
        if not len(c):
            raise ValueError("no frame with a face to learn the stock face's look from")
        ref = np.median(c, axis=0)
        return cls(ref, 1.4826 * np.median(np.abs(c - ref), axis=0))

    def hidden(self, colours: np.ndarray) -> np.ndarray:
        """(478,) float64 in [0, 1], how hidden each vertex is, from its (478, 3) colours in a frame."""
        z = (np.abs(np.asarray(colours, np.float32)[:N_MESH] - self.reference) / self.spread).max(1)
        lo, hi = HIDDEN_Z
        h = np.where(self._checked, np.clip((z - lo) / (hi - lo), 0.0, 1.0), 0.0).astype(np.float64)
        h = np.minimum(h, _neighbour_mean(h) / NEIGHBOUR_SUPPORT)
        return np.clip(_neighbour_max(h), 0.0, 1.0)

    def __call__(self, frame: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        """(478,) visibility in [0, 1] of the stock face's vertices in one RGB frame."""
        from dhsdk.swap.colour import vertex_colours

        return 1.0 - self.hidden(vertex_colours(frame, np.asarray(landmarks, np.float64)[:N_MESH], SIGMA_EYES))
