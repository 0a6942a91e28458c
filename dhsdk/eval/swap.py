"""The head-swap section of ``dhsdk eval``: is the face in a swapped avatar's output the photo's?

For a video rendered from a head-swap avatar (``dhsdk avatar create --face --base``; give it with
``--avatar``), the output's tracked face mesh is compared frame by frame, in normalised shape
(:func:`dhsdk.swap.metrics.shape_distance`), with the photo's and with the stock presenter's
neutral face, both kept in the bundle (``swap.npz``). ``swap_identity`` is the share of frames
closer to the photo, graded with the review's thresholds (:data:`dhsdk.swap.quality.IDENTITY_SHARE`).
Seams are the picture group's ``seam`` check; flicker and eye direction need the source frames or
a driver, and are measured by the review and by ``dhsdk drive --report``.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from dhsdk.avatar.review import Check
from dhsdk.eval.checks import CheckGroup, EvalClip, grade


class SwapGroup(CheckGroup):
    """``swap_identity`` of a swapped avatar's output (no check at all for any other avatar)."""

    name = "swap"

    def measure(self, clip: EvalClip) -> dict[str, Any]:
        from dhsdk.swap.metrics import shape_distance

        swap = clip.avatar.manifest.get("swap") if clip.avatar is not None else None
        if not swap or "arrays" not in swap:
            return {"_skip": "not a head-swap avatar (give --avatar of a bundle made with --face/--base)"}
        with np.load(clip.avatar.path / swap["arrays"]) as data:
            photo, stock = data["photo"], data["stock_neutral"]
        found = clip.track.face.landmarks[clip.track.found]
        if not len(found):
            return {"_skip": "no face tracked in the output"}
        to_photo = np.array([shape_distance(o, photo) for o in found])
        to_stock = np.array([shape_distance(o, stock) for o in found])
        return {"swap_identity": float(np.mean(to_photo < to_stock)), "swap_to_photo": float(np.median(to_photo)),
                "swap_to_stock": float(np.median(to_stock)), "swap_frames": int(len(found))}

    def pool(self, measures: list[dict[str, Any]]) -> dict[str, Any]:
        taken = [m for m in measures if "_skip" not in m]
        if not taken:
            return {"_skip": measures[0]["_skip"] if measures else "no clips"}
        w = np.array([m["swap_frames"] for m in taken], np.float64)
        return {"swap_identity": float(np.average([m["swap_identity"] for m in taken], weights=w)),
                "swap_to_photo": float(np.median([m["swap_to_photo"] for m in taken])),
                "swap_to_stock": float(np.median([m["swap_to_stock"] for m in taken])),
                "swap_frames": int(w.sum())}

    def grade(self, m: dict[str, Any]) -> list[Check]:
        from dhsdk.swap.quality import IDENTITY_SHARE

        if "_skip" in m:   # the section appears only for swapped avatars
            return []
        share = m["swap_identity"]
        return [Check("swap_identity", grade(share, *IDENTITY_SHARE), share, f">= {100 * IDENTITY_SHARE[0]:.0f} % "
                      f"of frames", f"the face is closer to the photo than to the stock presenter in "
                      f"{100 * share:.0f} % of {m['swap_frames']} frames (shape distance "
                      f"{m['swap_to_photo']:.3f} vs {m['swap_to_stock']:.3f})",
                      "recreate the avatar from a sharper, frontal photo")]
