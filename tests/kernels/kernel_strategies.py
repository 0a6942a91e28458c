"""Hypothesis strategies shared by the kernel tests: frames, crops and crop -> frame affines."""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st


@st.composite
def affine(draw, size: int, height: int, width: int) -> np.ndarray:
    """(2, 3) crop -> frame: rotation, scale and a translation that may leave the frame."""
    ang = draw(st.floats(-np.pi, np.pi))
    scale = draw(st.floats(0.3, 3.0))
    cx = draw(st.floats(-0.4 * width, 1.4 * width))
    cy = draw(st.floats(-0.4 * height, 1.4 * height))
    c, s = np.cos(ang) * scale, np.sin(ang) * scale
    half = (size - 1) / 2
    return np.array([[c, -s, cx - c * half + s * half], [s, c, cy - s * half - c * half]])


def near_edge(affine: np.ndarray, size: int, height: int, width: int, eps: float = 1e-3) -> np.ndarray:
    """(H, W) bool: frame pixels whose crop sample sits within eps of the crop's inside boundary
    (float32 vs float64 may decide inside/outside differently there)."""
    inv = np.linalg.inv(np.vstack([affine, [0, 0, 1]]))
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    sx = inv[0, 0] * xs + inv[0, 1] * ys + inv[0, 2]
    sy = inv[1, 0] * xs + inv[1, 1] * ys + inv[1, 2]
    return ((np.abs(sx + 0.5) < eps) | (np.abs(sx - size + 0.5) < eps) | (np.abs(sy + 0.5) < eps)
            | (np.abs(sy - size + 0.5) < eps))


def image(rng: np.random.Generator, shape: tuple, dtype) -> np.ndarray:
    """Random image: uint8 0..255, or float in 0..1 of ``dtype``."""
    if np.dtype(dtype) == np.uint8:
        return rng.integers(0, 256, shape, dtype=np.uint8)
    return rng.random(shape).astype(dtype)
