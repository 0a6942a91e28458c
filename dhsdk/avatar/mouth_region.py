"""The avatar's mouth crop and lower-face mask, both fixed per avatar in the canonical frame.

The crop is a square of ``CROP_EXTENT`` canonical units (inter-eye distances) centred just
below the avatar's neutral mouth, so it holds the lips at any opening, the skin around them
and the chin. Because it is defined in the canonical frame, its pixel size follows the face's
scale and its position follows the (smoothed) head track: a stable ROI of one size per
avatar.

The mask (1 = re-rendered) is the avatar's lower face: the median face-mesh polygon from
cheek to cheek under the nose and round the chin (:data:`dhsdk.avatar.track.LOWER_FACE_IDS`),
kept ``MARGIN`` inside that outline and inside the crop, with a ``FEATHER`` wide smooth ramp,
so the re-rendered region never reaches the jaw line, the nostrils or the crop's edge.
"""
from __future__ import annotations

import numpy as np

from dhsdk.geometry import apply_affine, compose_affine, invert_affine

CROP_EXTENT = 1.7     # crop side, canonical units
CROP_DROP = 0.08      # crop centre below the neutral mouth centre, canonical units
MARGIN = 0.04         # mask = 0 this far inside the lower-face outline / crop edge, canonical units
FEATHER = 0.14        # width of the mask's 0 -> 1 ramp, canonical units


def crop_centre(neutral_lips: np.ndarray) -> np.ndarray:
    """(2,) canonical centre of the mouth crop for an avatar's (40, 2) neutral lips."""
    lips = np.asarray(neutral_lips, np.float64)
    return np.array([lips[:20, 0].mean(), lips[:20, 1].mean() + CROP_DROP])


def canonical_to_crop(centre: np.ndarray, size: int, extent: float = CROP_EXTENT) -> np.ndarray:
    """(2, 3) float64 canonical frame -> S x S crop pixels (pixel centres at integers)."""
    s = size / float(extent)
    cx, cy = float(centre[0]), float(centre[1])
    return np.array([[s, 0.0, (size - 1) / 2 - s * cx], [0.0, s, (size - 1) / 2 - s * cy]])


def crop_to_frame(to_crop: np.ndarray, to_canonical: np.ndarray) -> np.ndarray:
    """(2, 3) float64 crop pixels -> frame pixels for one frame, from the avatar's fixed
    canonical -> crop map and that frame's image -> canonical similarity."""
    return invert_affine(compose_affine(to_crop, to_canonical))


def mouth_mask(lower_face: np.ndarray, to_crop: np.ndarray, size: int, extent: float = CROP_EXTENT) -> np.ndarray:
    """The feathered lower-face mask in crop pixels.

    Args:
        lower_face: (P, 2) canonical polygon of the lower face.
        to_crop: (2, 3) canonical -> crop pixels (:func:`canonical_to_crop`).
        size: S.
        extent: crop side in canonical units (sets the pixel widths of margin and feather).

    Returns:
        (S, S) float32 in [0, 1], smooth (smoothstep ramp), 0 at the crop's border.
    """
    import cv2

    px = size / float(extent)
    shift = 4  # sub-pixel polygon vertices
    poly = np.round(apply_affine(to_crop, lower_face) * (1 << shift)).astype(np.int32)
    inside = np.zeros((size, size), np.uint8)
    cv2.fillPoly(inside, [poly], 1, lineType=cv2.LINE_8, shift=shift)
    # Distance to the outline or to the crop border, whichever is nearer (the 1-px frame of
    # zeros around the crop makes the border an outline too).
    dist = cv2.distanceTransform(np.pad(inside, 1), cv2.DIST_L2, 5)[1:-1, 1:-1]
    t = np.clip((dist - MARGIN * px) / (FEATHER * px), 0.0, 1.0)
    return (t * t * (3.0 - 2.0 * t)).astype(np.float32)
