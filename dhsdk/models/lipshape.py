"""Lip-shape coefficient basis: K interpretable coefficients -> (40, 2) canonical lip deltas.

Built analytically from a neutral mouth template in the canonical face frame (geometry.py):
corners at x = +-0.51, y = 0.87; outer lower middle y = 1.21. Deltas are linear in the
coefficients (``deltas = coeffs @ BASIS``), all zero coefficients = the neutral closed mouth.
"""
from __future__ import annotations

import numpy as np

from dhsdk.geometry import N_LIP

COEFFS = ("jaw_open", "spread", "round", "upper_raise", "lower_tuck", "press")
K = len(COEFFS)


def template() -> np.ndarray:
    """(40, 2) float32 neutral closed mouth in canonical units (LIP_IDS order)."""
    pts = np.zeros((N_LIP, 2), np.float64)
    s = np.linspace(0.0, 1.0, 11)
    for ring, (half, low, up) in enumerate(((0.51, 0.34, -0.12), (0.42, 0.0, 0.0))):
        base = 20 * ring
        x_low = -half + 2 * half * s          # corner 0 -> corner 10 along the lower lip
        pts[base:base + 11, 0] = x_low
        pts[base:base + 11, 1] = 0.87 + 0.03 * ring + low * np.sin(np.pi * s)
        x_up = half - 2 * half * s[1:10]      # back along the upper lip
        pts[base + 11:base + 20, 0] = x_up
        pts[base + 11:base + 20, 1] = 0.87 + 0.03 * ring + up * np.sin(np.pi * s[1:10])
    return pts.astype(np.float32)


def _profile(pts: np.ndarray, half: float) -> np.ndarray:
    """1 at the lip middle, 0 at the corners (per point)."""
    return np.cos(np.clip(pts[:, 0] / half, -1, 1) * np.pi / 2)


def basis() -> np.ndarray:
    """(K, 40, 2) float32 delta per unit coefficient, in :data:`COEFFS` order."""
    t = template()
    prof = np.where(np.arange(N_LIP) < 20, _profile(t, 0.51), _profile(t, 0.42))
    idx = np.arange(N_LIP)
    lower = ((idx >= 1) & (idx <= 9)) | ((idx >= 21) & (idx <= 29))
    upper = ((idx >= 11) & (idx <= 19)) | ((idx >= 31) & (idx <= 39))
    inner = idx >= 20
    b = np.zeros((K, N_LIP, 2), np.float64)
    # jaw_open: lower lip and jaw drop, corners follow a little.
    b[0, :, 1] = np.where(lower, 0.32 * prof + 0.04, 0.03 * (~upper)) - np.where(upper & inner, 0.02 * prof, 0)
    # spread: corners outwards and slightly up.
    b[1, :, 0] = 0.18 * t[:, 0]
    b[1, :, 1] = -0.03 * (1 - prof)
    # round: narrow, inner lips part a little, outer lips push out (up/down).
    b[2, :, 0] = -0.35 * t[:, 0]
    b[2, :, 1] = np.where(lower, 0.06 * prof, 0) - np.where(upper, 0.06 * prof, 0)
    # upper_raise: upper lip up.
    b[3, :, 1] = np.where(upper, -0.08 * prof, 0)
    # lower_tuck (f/v): lower lip up and in under the upper teeth.
    b[4, :, 1] = np.where(lower, -0.05 * prof, 0) - np.where(lower & ~inner, 0.05 * prof, 0)
    # press (p/b/m): lips compressed, thinner.
    b[5, :, 1] = np.where(upper & ~inner, 0.03 * prof, 0) - np.where(lower & ~inner, 0.05 * prof, 0)
    return b.astype(np.float32)


def coeffs_to_deltas(coeffs: np.ndarray) -> np.ndarray:
    """(..., K) coefficients -> (..., 40, 2) float32 canonical lip deltas."""
    return np.tensordot(np.asarray(coeffs, np.float32), basis(), axes=([-1], [0])).astype(np.float32)
