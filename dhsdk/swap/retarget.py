"""Retargeting: one face's pose and expression put on another face's own structure.

Everything happens in the canonical face frame (:mod:`dhsdk.geometry`: eyes at x = +-0.5,
unit = the inter-eye distance), where a face's shape is free of where it sits in the image.
A *driver* (the stock presenter, a source video) is compared with its own neutral face:

- **pose**: an affine map fitted on the points that move with the skull
  (:data:`~dhsdk.swap.topology.RIGID_IDS`) from the driver's neutral to the current frame.
  Roll, scale and position are already gone in the canonical frame; what is left of a turn
  (yaw) or nod (pitch) under weak perspective is close to affine, and the target face is moved
  by the same map, so it turns with its own proportions;
- **expression**: what the affine map does not explain (brows, the nose's parallax on a turn,
  the forehead) is added to the target point by point, in the upper face only
  (:func:`expression_weights`): the mouth and jaw keep the target's own closed mouth, which
  the lip-sync drives;
- **blinks**: each eye's opening relative to the driver's neutral opening scales the target's
  own lid gap (a small eye closes as fully as a large one, and never past its lower lid);
- **gaze**: the iris centre's offset from the eye centre, in eye widths, relative to the
  driver's neutral gaze, moves the target's iris by the same fraction of the target's eye
  (held through a blink, when the driver's iris is hidden).

So the target keeps its facial structure and only the changes travel. Works on any (478, 2)
mesh in the canonical frame; :class:`Retarget` keeps the little state gaze needs.
"""
from __future__ import annotations

import numpy as np

from dhsdk.swap.topology import (EYE_CORNERS, IRIS_CENTRES, IRIS_RINGS, LID_FOLDS, LID_PAIRS, N_MESH,
                                 RIGID_IDS)

EXPRESSION_FROM, EXPRESSION_TO = 0.68, 0.85   # canonical y: full expression transfer above, none below
LID_CLOSE_AT = 0.25      # lids close onto the line this far from the lower lid to the upper (blinks are mostly the upper lid)
LID_FOLD_FOLLOW = (0.85, 0.3)   # share of the upper lid's travel the two skin rings above it follow
LID_SKIN_REACH = 0.7     # a shut eye's lid margin is read from this far up towards the fold (lid_sources)
CLOSED_AT = 0.5          # relative opening the face mesh reports for shut eyes (its lids never quite meet)
TRUE_FROM = 0.8          # relative openings above this are taken as they are
OPEN_MAX = 1.35          # most relative opening passed on (wide eyes)
GAZE_LIMIT = (0.22, 0.12)  # most iris offset from neutral, eye widths (x, y)
GAZE_RELIABLE = 0.55     # below this relative opening the driver's iris is not trusted


def fit_affine(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """(2, 3) float64 least-squares affine with ``dst ~= A[:, :2] @ src + A[:, 2]``; (N, 2) points."""
    src = np.asarray(src, np.float64)
    design = np.hstack([src, np.ones((len(src), 1))])
    sol, *_ = np.linalg.lstsq(design, np.asarray(dst, np.float64), rcond=None)
    return sol.T


def _apply(m: np.ndarray, pts: np.ndarray) -> np.ndarray:
    return pts @ m[:, :2].T + m[:, 2]


def expression_weights(neutral: np.ndarray) -> np.ndarray:
    """(478,) float64 share of the driver's expression each point takes: 1 in the upper face,
    easing to 0 between the nose tip and the upper lip (canonical y 0.68..0.85), 0 below.

    Args:
        neutral: (478, 2) the target's neutral shape in the canonical frame.
    """
    y = np.asarray(neutral, np.float64)[:, 1]
    t = np.clip((y - EXPRESSION_FROM) / (EXPRESSION_TO - EXPRESSION_FROM), 0.0, 1.0)
    return 1.0 - t * t * (3.0 - 2.0 * t)


def eye_openness(shape: np.ndarray) -> np.ndarray:
    """(2,) each eye's opening: mean lid gap over the eye's width (image-left eye first).

    Args:
        shape: (..., 478, 2) mesh (any frame; the ratio is scale-free).

    Returns:
        (..., 2) float64.
    """
    s = np.asarray(shape, np.float64)
    out = []
    for pairs, (outer, inner) in zip(LID_PAIRS, EYE_CORNERS):
        up = s[..., [u for u, _ in pairs], :]
        lo = s[..., [v for _, v in pairs], :]
        width = np.linalg.norm(s[..., outer, :] - s[..., inner, :], axis=-1)
        out.append(np.linalg.norm(up - lo, axis=-1).mean(-1) / np.maximum(width, 1e-9))
    return np.stack(out, -1)


def _eye_frame(s: np.ndarray, eye: int) -> tuple[np.ndarray, np.ndarray, float]:
    """(centre, (2, 2) rows = unit axis along the eye from outer to inner corner and its normal, width)."""
    outer, inner = EYE_CORNERS[eye]
    a, b = s[outer], s[inner]
    width = float(np.linalg.norm(b - a))
    ux = (b - a) / max(width, 1e-9)
    if ux[0] < 0:  # both eyes: x to the image right
        ux = -ux
    return 0.5 * (a + b), np.array([ux, [-ux[1], ux[0]]]), width


def gaze(shape: np.ndarray) -> np.ndarray:
    """(2, 2) float64 per eye (image-left first), the iris centre's offset from the eye centre in
    eye widths: x along the eye (to the image right), y across it (down)."""
    s = np.asarray(shape, np.float64)
    out = np.empty((2, 2))
    for eye, iris in enumerate(IRIS_CENTRES):
        centre, axes, width = _eye_frame(s, eye)
        out[eye] = axes @ (s[iris] - centre) / max(width, 1e-9)
    return out


def lid_sources(points: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The source mesh to read a closing eye from: each eye's lid-margin ring moved up towards the
    fold above it by :data:`LID_SKIN_REACH` of how far the eye closes from ``points`` to ``target``.

    A closing lid shows skin that the open eye keeps folded under the brow; reading the lid margin
    (lashes, liner) from a taller strip of the source squeezes it into a thin lash line, with
    lid skin above it, instead of sliding a thick dark band down over the eye.

    Args:
        points: (478 + ..., 2) the source face's mesh (pixels or canonical).
        target: (478 + ..., 2) where it is drawn.

    Returns:
        a copy of ``points`` with the margin rings moved (unchanged for open eyes).
    """
    out = np.array(points, np.float64, copy=True)
    closing = 1.0 - np.clip(eye_openness(np.asarray(target)[:N_MESH]) / np.maximum(
        eye_openness(out[:N_MESH]), 1e-9), 0.0, 1.0)
    for eye, (margin, fold) in enumerate(LID_FOLDS):
        out[list(margin)] += LID_SKIN_REACH * closing[eye] * (out[list(fold)] - out[list(margin)])
    return out


class Retarget:
    """Puts a driver's pose and expression on a target face (module docstring).

    Args:
        target: (478, 2) the target face's neutral shape, canonical frame.
        driver: (478, 2) the driver's neutral shape, canonical frame.
        mouth: also transfer the lower face's motion (jaw, lips); off by default, the target's
            mouth stays closed for the lip-sync.
    """

    def __init__(self, target: np.ndarray, driver: np.ndarray, mouth: bool = False):
        self.target = np.asarray(target, np.float64)[:N_MESH]
        self.driver = np.asarray(driver, np.float64)[:N_MESH]
        if self.target.shape != (N_MESH, 2) or self.driver.shape != (N_MESH, 2):
            raise ValueError(f"expected (478, 2) meshes, got {self.target.shape} and {self.driver.shape}")
        self.weights = np.ones(N_MESH) if mouth else expression_weights(self.target)
        self._target_open = eye_openness(self.target)
        self._driver_open = np.maximum(eye_openness(self.driver), 1e-6)
        self._target_gaze = gaze(self.target)
        self._driver_gaze = gaze(self.driver)
        self._held_gaze = np.zeros(2)
        self._rigid = list(RIGID_IDS)

    def reset(self) -> None:
        """Forget the held gaze (a cut in the driver)."""
        self._held_gaze = np.zeros(2)

    def carry_state(self, other: "Retarget") -> None:
        """Take over ``other``'s held gaze (a new neutral for the same driver, mid-stream)."""
        self._held_gaze = other.held_gaze

    @property
    def held_gaze(self) -> np.ndarray:
        """(2,) the gaze change (eye widths) applied now: the driver's last reliable one."""
        return self._held_gaze.copy()

    def pose(self, shape: np.ndarray) -> np.ndarray:
        """(2, 3) the affine (canonical frame) from the driver's neutral to ``shape``'s pose."""
        return fit_affine(self.driver[self._rigid], np.asarray(shape, np.float64)[self._rigid])

    def openness(self, shape: np.ndarray) -> np.ndarray:
        """(2,) the driver's eye openings relative to its neutral: 1 as open as neutral, 0 shut.

        The mesh's lids stop short of meeting (shut eyes measure ~:data:`CLOSED_AT` of their
        open gap, less in the one frame a blink is caught at its deepest), so ratios from
        :data:`TRUE_FROM` down to that are stretched linearly to 0; above, they pass unchanged
        (up to :data:`OPEN_MAX`).
        """
        ratio = eye_openness(shape) / self._driver_open
        low = TRUE_FROM * (ratio - CLOSED_AT) / (TRUE_FROM - CLOSED_AT)
        return np.clip(np.where(ratio >= TRUE_FROM, ratio, low), 0.0, OPEN_MAX)

    def __call__(self, shape: np.ndarray, target: np.ndarray | None = None) -> np.ndarray:
        """The target's (478, 2) canonical shape for one driver frame.

        Args:
            shape: (478, 2) the driver's current shape, canonical frame.
            target: (478, 2) the target's own shape to start from in this frame (a video
                avatar's base frame); its neutral shape when None.
        """
        d = np.asarray(shape, np.float64)[:N_MESH]
        own = self.target if target is None else np.asarray(target, np.float64)[:N_MESH]
        pose = self.pose(d)
        residual = d - _apply(pose, self.driver)
        base = _apply(pose, own)
        out = base + self.weights[:, None] * residual
        rho = self.openness(d)
        self._lids(out, base, residual, rho)
        self._iris(out, d, rho, own)
        return out

    def _lids(self, out: np.ndarray, base: np.ndarray, residual: np.ndarray, rho: np.ndarray) -> None:
        """Each eye's lids: the target's own gap scaled by the driver's relative opening, about a
        closing line near the lower lid; the eye moves with its corners' expression. The lid
        margin above the upper lid travels with it (:data:`LID_FOLD_FOLLOW`) and the fold above
        that a little, so a closing eye shows its lashes and lid sliding down over the eye, and
        the stretch falls on the plain skin under the brow."""
        for eye, pairs in enumerate(LID_PAIRS):
            corners = list(EYE_CORNERS[eye])
            shift = (self.weights[corners, None] * residual[corners]).mean(0)
            up = np.array([u for u, _ in pairs])
            lo = np.array([v for _, v in pairs])
            bu, bl = base[up] + shift, base[lo] + shift
            line = bl + LID_CLOSE_AT * (bu - bl)
            out[up] = line + rho[eye] * (bu - line)
            out[lo] = line + rho[eye] * (bl - line)
            travel = out[up] - bu
            for ring, follow in zip(LID_FOLDS[eye], LID_FOLD_FOLLOW):
                ring = list(ring)
                out[ring] = base[ring] + shift + follow * travel

    def _iris(self, out: np.ndarray, driver: np.ndarray, rho: np.ndarray, own: np.ndarray) -> None:
        """Move each iris by the driver's change of gaze (in eye widths), held while the driver's
        eyes are nearly shut, kept between the target's lids."""
        if rho.min() >= GAZE_RELIABLE:
            delta = (gaze(driver) - self._driver_gaze).mean(0)
            self._held_gaze = np.clip(delta, -np.asarray(GAZE_LIMIT), GAZE_LIMIT)
        own_gaze = self._target_gaze if own is self.target else gaze(own)
        for eye, (centre_id, ring) in enumerate(zip(IRIS_CENTRES, IRIS_RINGS)):
            centre, axes, width = _eye_frame(out, eye)
            offset = own_gaze[eye] + self._held_gaze
            new = centre + axes.T @ (offset * width)
            out[list(ring)] += new - out[centre_id]
            out[centre_id] = new
            for pid in (centre_id, ring[0], ring[2]):   # the iris's centre and side edges stay between the lids
                out[pid] = self._between_lids(out, eye, out[pid])

    @staticmethod
    def _between_lids(out: np.ndarray, eye: int, p: np.ndarray) -> np.ndarray:
        """``p`` moved (across the eye) to lie between the lids, 10 % of the gap inside them."""
        pairs = LID_PAIRS[eye]
        up = out[[u for u, _ in pairs]]
        lo = out[[v for _, v in pairs]]
        k = int(np.argmin(np.abs(0.5 * (up[:, 0] + lo[:, 0]) - p[0])))
        top, bottom = up[k, 1], lo[k, 1]
        margin = 0.1 * (bottom - top)
        if bottom - top <= 0:
            return np.array([p[0], 0.5 * (top + bottom)])
        return np.array([p[0], np.clip(p[1], top + margin, bottom - margin)])
