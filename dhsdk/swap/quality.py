"""The swap's own review checks, added to the avatar review of the swapped material.

The swapped clip goes through the same review as any material (face size, sharpness, exposure,
jitter ...); these three say how well the swap itself worked, with the same Check fields
(value, threshold, reason, fix, frames to look at):

- ``swap_identity``: share of frames whose face, as the avatar tracker sees it, is closer in
  normalised mesh shape to the photo than to the stock face it replaced
  (:func:`dhsdk.swap.metrics.identity_distances`), over the frames where nothing covers it;
- ``swap_seam``: luma gradient across the blend border over the stock frame's own gradient at
  the same border (1 = the border adds no edge; :func:`dhsdk.swap.metrics.seam_energy`);
- ``swap_flicker``: the face's frame-to-frame brightness jitter over the stock face's
  (:func:`dhsdk.swap.metrics.flicker`).
"""
from __future__ import annotations

import numpy as np

from dhsdk.avatar.analyze import Analysis
from dhsdk.avatar.review import Check
from dhsdk.swap import metrics

IDENTITY_SHARE = (0.8, 0.5)   # pass from, warn from (below: fail): frames closer to the photo than to the stock
SEAM_RATIO = (1.6, 2.5)       # pass up to, warn up to (above: fail)
FLICKER_RATIO = (1.5, 3.0)    # pass up to, warn up to (above: warn too: a flickering face is still usable)
MIN_VISIBLE = 0.95            # identity is judged on frames with at least this share of the stock face in view


def _worst(values: np.ndarray, k: int = 4) -> list[int]:
    order = np.argsort(-np.nan_to_num(values, nan=-np.inf))
    return sorted(int(i) for i in order[:k])


def identity_check(output: np.ndarray, photo: np.ndarray, stock: np.ndarray) -> tuple[Check, dict]:
    """The identity check and its numbers.

    Args:
        output: (N, 478, 2) the swapped frames' tracked mesh.
        photo: (478, 2) the photo's mesh.
        stock: (N, 478, 2) the stock face's mesh in the same frames.
    """
    to_photo, to_stock = metrics.identity_distances(output, photo, stock)
    share = float(np.mean(to_photo < to_stock))
    status = "pass" if share >= IDENTITY_SHARE[0] else "warn" if share >= IDENTITY_SHARE[1] else "fail"
    numbers = {"closer_to_photo": share, "to_photo": float(np.median(to_photo)),
               "to_stock": float(np.median(to_stock))}
    reason = (f"the face is closer to the photo than to the stock face in {100 * share:.0f} % of frames "
              f"(shape distance {numbers['to_photo']:.3f} vs {numbers['to_stock']:.3f})")
    return Check("swap_identity", status, share, f">= {100 * IDENTITY_SHARE[0]:.0f} % of frames", reason,
                 "use a sharper, frontal photo, or a stock clip whose presenter faces the camera more",
                 _worst(to_photo - to_stock)), numbers


def seam_check(seam: np.ndarray, seam_stock: np.ndarray, every: int) -> tuple[Check, dict]:
    """The seam check from per-frame seam energies (output and stock at the same border),
    measured on every ``every``-th frame."""
    ok = np.isfinite(seam) & np.isfinite(seam_stock)
    if not ok.any():
        return Check("swap_seam", "skip", None, "", "no blend border to measure"), {}
    out, ref = float(np.median(seam[ok])), float(np.median(seam_stock[ok]))
    ratio = out / max(ref, 0.5)
    status = "pass" if ratio <= SEAM_RATIO[0] else "warn" if ratio <= SEAM_RATIO[1] else "fail"
    per = np.where(ok, seam / np.maximum(seam_stock, 0.5), np.nan)
    return (Check("swap_seam", status, ratio, f"<= {SEAM_RATIO[0]:g} x the stock's edge",
                  f"{out:.2f} grey levels/px across the blend border vs {ref:.2f} in the stock frame ({ratio:.2f} x)",
                  "use a photo lit like the stock clip (soft, frontal light), with the forehead free of hair",
                  [every * i for i in _worst(per)]),
            {"energy": out, "stock": ref, "ratio": ratio})


def flicker_check(luma: np.ndarray, luma_stock: np.ndarray) -> tuple[Check, dict]:
    """The flicker check from per-frame vertex luma of the output and the stock face."""
    out, ref = metrics.flicker(luma), metrics.flicker(luma_stock)
    ratio = out / max(ref, 0.25)
    status = "pass" if ratio <= FLICKER_RATIO[0] else "warn"
    return (Check("swap_flicker", status, ratio, f"<= {FLICKER_RATIO[0]:g} x the stock face's",
                  f"the face's brightness jitters by {out:.2f} grey levels per frame (the stock face's: {ref:.2f})",
                  "use a steadier stock clip (tripod, constant light)"),
            {"flicker": out, "stock": ref, "ratio": ratio})


def swap_checks(run, analysis: Analysis, photo_points: np.ndarray) -> tuple[list[Check], dict]:
    """The three swap checks for a :class:`~dhsdk.swap.video.SwapRun` whose material was
    analysed as ``analysis``; returns (checks, numbers for the manifest)."""
    from dhsdk.swap.video import MEASURE_EVERY

    checks, numbers = [], {}
    if analysis.track is not None:
        n = min(len(analysis.track.landmarks), len(run.stock.track.landmarks))
        # Frames where something covers the face say nothing about its shape (the tracker guesses
        # behind the hand): identity is judged where the stock face is in view.
        seen = np.flatnonzero(run.visible[:n] >= MIN_VISIBLE)
        seen = seen if len(seen) else np.arange(n)
        stock = run.stock.track.landmarks[seen].astype(np.float64) * run.scale
        check, numbers["identity"] = identity_check(analysis.track.landmarks[seen], photo_points, stock)
        check.frames = [int(seen[i]) for i in check.frames]
        checks.append(check)
    else:
        checks.append(Check("swap_identity", "fail", None, "a face in the output",
                            "the face mesh finds no face in the swapped frames", "use a sharper, frontal photo"))
    check, numbers["seam"] = seam_check(run.seam, run.seam_stock, MEASURE_EVERY)
    checks.append(check)
    check, numbers["flicker"] = flicker_check(run.luma, run.luma_stock)
    checks.append(check)
    return checks, numbers
