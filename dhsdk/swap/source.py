"""The face to paste, from one photo: found, checked, meshed, mouth closed, hair masked.

:func:`face_from_photo` refuses a photo with no face or with more than one (which one would be
meant?), and one whose face is too small or turned too far to carry an identity. The photo's
open mouth (a smile with teeth) is closed with the warp renderer, as for photo avatars
(:func:`dhsdk.avatar.photo.close_mouth`): the swapped presenter's mouth rests closed and the
lip-sync opens it. Hair that falls over the photo's forehead is found by colour (far from the
face's own skin colour, above the brows) and kept out of the paste (:func:`hair_alpha`), so the
stock presenter's own hairline shows there instead of a stripe of someone else's fringe.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from dhsdk.errors import InputError
from dhsdk.swap.compose import SwapFace

MIN_EYE_PX = 24.0            # inter-eye distance below which the photo cannot carry a face's detail
MAX_PHOTO_YAW_DEG = 30.0     # a face turned further than this shows too little of one side
HAIR_Y = (-0.40, -0.50)      # canonical y: hair is looked for above the brows, fully from the second value up
HAIR_DISTANCE = (2.5, 4.0)   # Mahalanobis distance from the skin colour: skin below the first, hair above the second
EDGE_BAND = 0.3              # ... looked for also this far (eye distances) inside the face outline
PHOTO_MAX_SIDE = 1920        # photos are meshed and kept at most this large


def photo_skin_stats(image: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean (3,), inverse covariance (3, 3)) of the photo's skin colour in CIELAB, from the
    mesh's plain-skin triangles (the median half of them by luma: shadows and hair left out)."""
    import cv2

    from dhsdk.swap.colour import skin_triangles
    from dhsdk.swap.raster import bounding_box, rasterize
    from dhsdk.swap.topology import face_triangles

    tris = face_triangles()
    box = bounding_box(points, image.shape)
    raster = rasterize(points, tris, skin_triangles(), box)
    x0, y0, x1, y1 = box
    lab = cv2.cvtColor(np.ascontiguousarray(image[y0:y1, x0:x1]), cv2.COLOR_RGB2LAB).astype(np.float64)
    px = lab.reshape(-1, 3)[raster.flat]
    lo, hi = np.percentile(px[:, 0], [25, 75])
    px = px[(px[:, 0] >= lo) & (px[:, 0] <= hi)]
    mean = px.mean(0)
    cov = np.cov(px.T) + np.diag([4.0, 1.0, 1.0])   # floor: a very even skin must not make every pixel "hair"
    return mean, np.linalg.inv(cov)


def hair_alpha(image: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(H, W) float32 in [0, 1]: 0 where the photo shows hair (or anything not skin-coloured:
    background, a collar) over the upper forehead or along the face's outline, 1 elsewhere.

    Args:
        image: (H, W, 3) uint8 RGB photo.
        points: (478, 2) its face mesh, pixels.
    """
    import cv2

    from dhsdk.geometry import image_to_canonical
    from dhsdk.swap.topology import OVAL_IDS

    mean, icov = photo_skin_stats(image, points)
    lab = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2LAB).astype(np.float32) - mean.astype(np.float32)
    d = np.sqrt(np.maximum(np.einsum("hwi,ij,hwj->hw", lab, icov.astype(np.float32), lab), 0.0))
    lo, hi = HAIR_DISTANCE
    not_skin = np.clip((d - lo) / (hi - lo), 0.0, 1.0)
    h, w = image.shape[:2]
    to_canonical = image_to_canonical(points)
    ys, xs = np.mgrid[0:h, 0:w]
    cy = to_canonical[1, 0] * xs + to_canonical[1, 1] * ys + to_canonical[1, 2]
    top, full = HAIR_Y
    above = np.clip((cy - top) / (full - top), 0.0, 1.0)
    eye_px = 1.0 / np.sqrt(abs(np.linalg.det(to_canonical[:, :2])))
    inside = np.zeros((h, w), np.uint8)
    cv2.fillPoly(inside, [np.round(points[list(OVAL_IDS)] * 16).astype(np.int32)], 1, shift=4)
    depth = cv2.distanceTransform(inside, cv2.DIST_L2, 3) / eye_px     # eye distances inside the outline
    near_edge = np.clip(1.0 - depth / EDGE_BAND, 0.0, 1.0)
    hair = cv2.GaussianBlur((not_skin * np.maximum(above, near_edge)).astype(np.float32), (0, 0),
                            max(0.04 * eye_px, 0.5))
    return np.clip(1.0 - 1.5 * hair, 0.0, 1.0).astype(np.float32)


def face_from_photo(photo: str | os.PathLike | np.ndarray, name: str | None = None) -> SwapFace:
    """The face of a photo, ready to paste onto stock footage.

    Args:
        photo: a jpg/png/webp path (EXIF orientation applied) or an (H, W, 3) uint8 RGB array.
        name: what to call it in messages (the file name by default).

    Raises:
        InputError: unreadable photo, no face, more than one face, a face too small or turned
            too far (the message says which and what to give instead).
    """
    from dhsdk.avatar.face import FaceDetector, FaceMesh478, face_crop
    from dhsdk.avatar.material import fit_long_side, open_material
    from dhsdk.avatar.photo import close_mouth
    from dhsdk.avatar.review import head_pose_deg

    if isinstance(photo, np.ndarray):
        image, label = np.ascontiguousarray(photo), name or "the photo"
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise InputError(f"{label}: expected an (H, W, 3) uint8 RGB image, got {image.dtype} {image.shape}")
    else:
        material = open_material(photo)
        label = name or Path(photo).name
        if material.info.kind != "image":
            raise InputError(f"{photo}: the face must be a photo (jpg, png, webp), not a video")
        image = next(material.frames())
    image = fit_long_side(image, PHOTO_MAX_SIDE)
    with FaceDetector() as detector:
        boxes = detector.detect(image)
    with FaceMesh478(static=True, max_faces=2) as mesh:
        faces = mesh.all_landmarks(image)
        if not faces and boxes:   # a face too small for the whole-photo mesh
            found = mesh.landmarks_in(image, face_crop(boxes[0], image.shape))
            faces = [] if found is None else [found]
    count = max(len(boxes), len(faces))
    if count == 0:
        raise InputError(f"{label}: no face found: give a photo of one person's face, frontal, well lit and "
                         f"unobstructed")
    if count > 1:
        raise InputError(f"{label}: {count} faces found: the photo must show one person only; crop it to the "
                         f"face you want")
    points = faces[0] if faces else None
    if points is None:
        raise InputError(f"{label}: a face was detected but could not be meshed: give a sharper, frontal photo")
    eye_px = float(np.linalg.norm(points[468] - points[473]))
    if eye_px < MIN_EYE_PX:
        raise InputError(f"{label}: the face is too small ({eye_px:.0f} px between the eyes, needs >= "
                         f"{MIN_EYE_PX:.0f}): give a larger or closer photo of the face")
    yaw = float(abs(head_pose_deg(points[None])[0, 0]))
    if yaw > MAX_PHOTO_YAW_DEG:
        raise InputError(f"{label}: the face is turned {yaw:.0f} deg from frontal (at most "
                         f"{MAX_PHOTO_YAW_DEG:.0f}): give a photo facing the camera")
    closed, closed_points = close_mouth(image, points)
    alpha = hair_alpha(closed, closed_points)
    return SwapFace(closed, closed_points, label, alpha)
