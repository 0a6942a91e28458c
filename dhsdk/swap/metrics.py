"""Numbers that judge a head swap or a driven avatar, from frames and face meshes alone.

- **identity** (:func:`identity_distances`): the output's face-mesh shape, normalised (similarity
  Procrustes on the identity-bearing points: the face outline, nose, eye corners and brows), is
  compared with the photo's and with the stock face's in the same frame. The swap carries the
  photo's identity when the output is closer to the photo than to the stock face it replaced.
- **seam** (:func:`seam_energy`): the luma gradient across the blend border (along the blend
  weight's normal) where the weight passes 0.3..0.7, in grey levels per pixel; the same measure
  on the stock frame at the same border is the natural level (skin has texture).
- **flicker** (:func:`flicker`): the frame-to-frame jitter of the face's brightness, RMS second
  temporal difference of local skin luma at each mesh vertex (grey levels), median over the skin
  vertices; motion moves the vertices with the face, so a steady face under steady light gives ~0.
- **blinks** (:func:`blink_events`, :func:`blink_recall`), **head pose** (:func:`head_turn`,
  :func:`pose_correlation`) and **eye direction** (:func:`gaze_agreement`) of a driven avatar
  against its driver.
"""
from __future__ import annotations

import functools

import numpy as np

from dhsdk.swap.topology import BROW_IDS, EYE_CORNERS, N_MESH, OVAL_IDS

NOSE_IDS = (1, 2, 4, 5, 6, 19, 45, 48, 64, 94, 97, 98, 115, 168, 195, 197, 220, 275, 278, 294, 326, 327, 344, 440)
LUMA_SIGMA_EYES = 0.15     # neighbourhood of a vertex for its local luma, eye distances
BLINK_BELOW = 0.65         # an eye opening under this share of the clip's median is a blink
BLINK_MIN_DEPTH = 0.55     # ... whose lowest point is under this share (the mesh reads shut eyes at
                           # 0.2-0.45 of open ones; open eyes stay above ~0.75: mesh noise is not a blink)
SLOW_FRAMES = 5            # pose and gaze series are averaged over this many frames before correlating


@functools.lru_cache(maxsize=1)
def identity_ids() -> tuple[int, ...]:
    """Mesh points that carry identity rather than expression: the face outline, the nose, the
    eye corners and the brows (not the lips, eyelids or irises)."""
    ids = set(OVAL_IDS) | set(NOSE_IDS) | {i for pair in EYE_CORNERS for i in pair}
    for brow in BROW_IDS:
        ids |= set(brow)
    return tuple(sorted(ids))


def normalised_shape(points: np.ndarray) -> np.ndarray:
    """(K, 2) float64 the identity points of a (478, 2) mesh, centred, scaled to unit RMS radius."""
    p = np.asarray(points, np.float64)[list(identity_ids())]
    p = p - p.mean(0)
    return p / max(float(np.sqrt((p ** 2).sum(1).mean())), 1e-12)


def shape_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Procrustes distance between two face meshes' normalised shapes: RMS point distance after
    the best rotation (units of the face's RMS radius; 0 = same shape)."""
    from dhsdk.geometry import apply_affine, fit_similarity

    sa, sb = normalised_shape(a), normalised_shape(b)
    aligned = apply_affine(fit_similarity(sa, sb), sa)
    return float(np.sqrt(((aligned - sb) ** 2).sum(1).mean()))


def identity_distances(output: np.ndarray, photo: np.ndarray, stock: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per frame, the output's shape distance to the photo and to the stock face.

    Args:
        output: (N, 478, 2) the output's face mesh per frame (tracked on the output).
        photo: (478, 2) the photo's mesh.
        stock: (N, 478, 2) the stock face's mesh per frame.

    Returns:
        ((N,) distance to the photo, (N,) distance to the stock face), float64.
    """
    to_photo = np.array([shape_distance(o, photo) for o in output])
    to_stock = np.array([shape_distance(o, s) for o, s in zip(output, stock)])
    return to_photo, to_stock


def _luma(image: np.ndarray) -> np.ndarray:
    rgb = np.asarray(image, np.float32)
    return 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]


def seam_energy(image: np.ndarray, weight: np.ndarray, box: tuple[int, int, int, int]) -> float:
    """Mean luma gradient across a blend border, grey levels per pixel (NaN: no border).

    Args:
        image: (H, W, 3) uint8 RGB frame.
        weight: (h, w) float32 blend weight over ``box`` (1 = pasted).
        box: (x0, y0, x1, y1) where ``weight`` lies in ``image``.
    """
    import cv2

    x0, y0, x1, y1 = box
    luma = _luma(image[y0:y1, x0:x1])
    w = cv2.GaussianBlur(np.asarray(weight, np.float32), (0, 0), 1.0)
    wx, wy = cv2.Sobel(w, cv2.CV_32F, 1, 0), cv2.Sobel(w, cv2.CV_32F, 0, 1)
    norm = np.sqrt(wx * wx + wy * wy)
    border = (weight >= 0.3) & (weight <= 0.7) & (norm > 1e-4)
    if border.sum() < 8:
        return float("nan")
    gx = cv2.Sobel(luma, cv2.CV_32F, 1, 0) / 8.0
    gy = cv2.Sobel(luma, cv2.CV_32F, 0, 1) / 8.0
    across = np.abs(gx * wx + gy * wy) / np.maximum(norm, 1e-6)
    return float(across[border].mean())


def vertex_luma(image: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(478,) float32 local luma around each mesh vertex (Gaussian, :data:`LUMA_SIGMA_EYES` eye
    distances; :func:`dhsdk.swap.colour.vertex_colours`)."""
    from dhsdk.swap.colour import vertex_colours

    return _luma(vertex_colours(image, np.asarray(points, np.float64)[:N_MESH], LUMA_SIGMA_EYES))


def flicker(luma: np.ndarray, vertices: np.ndarray | None = None) -> float:
    """Temporal flicker of a face: RMS second difference over frames of each vertex's local luma,
    median over the vertices (grey levels).

    Args:
        luma: (N, V) per-frame vertex luma (:func:`vertex_luma`).
        vertices: which vertices count; the plain-skin ones (not on eyes, brows, lips) by default.
    """
    from dhsdk.swap.colour import skin_triangles
    from dhsdk.swap.topology import face_triangles

    if vertices is None:
        vertices = np.unique(face_triangles()[skin_triangles()])
    v = np.asarray(luma, np.float64)[:, vertices]
    if len(v) < 3:
        return 0.0
    acc = v[2:] - 2 * v[1:-1] + v[:-2]
    return float(np.median(np.sqrt(np.nanmean(acc ** 2, axis=0))))


def blink_events(openness: np.ndarray) -> np.ndarray:
    """Frames where blinks happen: the lowest frame of every run where both eyes' mean opening is
    under :data:`BLINK_BELOW` of its median and reaches under :data:`BLINK_MIN_DEPTH` of it.

    Args:
        openness: (N, 2) or (N,) eye openings (:func:`dhsdk.swap.retarget.eye_openness`).

    Returns:
        (K,) int frame indices.
    """
    o = np.asarray(openness, np.float64)
    o = o.mean(1) if o.ndim == 2 else o
    rel = o / max(float(np.median(o)), 1e-9)
    low = rel < BLINK_BELOW
    events = []
    k = 0
    while k < len(rel):
        if not low[k]:
            k += 1
            continue
        end = k
        while end < len(rel) and low[end]:
            end += 1
        j = k + int(np.argmin(rel[k:end]))
        if rel[j] < BLINK_MIN_DEPTH:
            events.append(j)
        k = end
    return np.asarray(events, int)


def blink_recall(driver: np.ndarray, output: np.ndarray, tolerance: int = 2) -> float:
    """Share of ``driver`` blink frames with an ``output`` blink within ``tolerance`` frames
    (NaN when the driver does not blink)."""
    driver, output = np.asarray(driver), np.asarray(output)
    if len(driver) == 0:
        return float("nan")
    return float(np.mean([np.any(np.abs(output - d) <= tolerance) for d in driver]))


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.std() < 1e-9 or b.std() < 1e-9:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def head_turn(landmarks: np.ndarray) -> np.ndarray:
    """(N, 2) float64 approximate yaw and pitch in degrees from the skull's points alone (eye
    corners, nose tip, the face's sides at the cheekbones), so a talking or lip-synced mouth
    does not read as a nod.

    Yaw: the nose tip's offset from the midpoint of the cheek outline points (234, 454) over half
    their distance; pitch: the nose tip's drop below the eye line in eye distances, about its
    frontal 0.63, over the nose's depth (~0.6 eye distances); both through arcsin.

    Args:
        landmarks: (N, 478, 2) mesh per frame.
    """
    lm = np.asarray(landmarks, np.float64)
    left = 0.5 * (lm[:, 33] + lm[:, 133])
    right = 0.5 * (lm[:, 263] + lm[:, 362])
    axis = right - left
    eye = np.linalg.norm(axis, axis=1)
    axis = axis / np.maximum(eye, 1e-9)[:, None]
    down = np.stack([-axis[:, 1], axis[:, 0]], 1)
    nose = lm[:, 1]
    cheeks = 0.5 * (lm[:, 234] + lm[:, 454])
    half = 0.5 * np.linalg.norm(lm[:, 454] - lm[:, 234], axis=1)
    yaw = ((nose - cheeks) * axis).sum(1) / np.maximum(half, 1e-9)
    drop = ((nose - 0.5 * (left + right)) * down).sum(1) / np.maximum(eye, 1e-9)
    return np.degrees(np.arcsin(np.clip(np.stack([yaw, (drop - 0.63) / 0.6], 1), -1, 1)))


def _slow(x: np.ndarray) -> np.ndarray:
    """Centred moving average over :data:`SLOW_FRAMES` frames (edges: the available frames)."""
    x = np.asarray(x, np.float64)
    k = np.ones(SLOW_FRAMES)
    return np.convolve(x, k, "same") / np.convolve(np.ones_like(x), k, "same")


def pose_correlation(driver: np.ndarray, output: np.ndarray) -> tuple[float, float]:
    """(yaw, pitch) Pearson correlation of head pose (:func:`head_turn`) between two (N, 478, 2)
    mesh tracks, after a :data:`SLOW_FRAMES`-frame moving average (head turns are slower than
    the tracker's frame-to-frame noise, which it averages out)."""
    a, b = head_turn(driver), head_turn(output)
    return _corr(_slow(a[:, 0]), _slow(b[:, 0])), _corr(_slow(a[:, 1]), _slow(b[:, 1]))


def gaze_agreement(driver: np.ndarray, output: np.ndarray, open_frames: np.ndarray | None = None) -> float:
    """Pearson correlation of the horizontal eye direction (both eyes' iris offset, eye widths;
    :func:`dhsdk.swap.retarget.gaze`; :data:`SLOW_FRAMES`-frame moving average) between two
    (N, 478, 2) mesh tracks, over ``open_frames`` (a (N,) bool: frames where the driver's eyes
    are open; all when None)."""
    from dhsdk.swap.retarget import gaze

    a = _slow([gaze(p)[:, 0].mean() for p in driver])
    b = _slow([gaze(p)[:, 0].mean() for p in output])
    if open_frames is not None:
        a, b = a[open_frames], b[open_frames]
    return _corr(a, b)


def video_meshes(path, max_frames: int | None = None) -> np.ndarray:
    """(N, 478, 2) float32 the raw face mesh of every frame of a video (mediapipe in tracking
    mode, no smoothing: what a viewer sees, blinks included; NaN where no face).

    Args:
        path: the video.
        max_frames: stop after this many frames.
    """
    from dhsdk.avatar.face import FaceMesh478
    from dhsdk.avatar.material import ANALYSIS_MAX_SIDE, fit_long_side, open_material

    material = open_material(path)
    scale = max(1.0, material.info.long_side / ANALYSIS_MAX_SIDE)
    out = []
    with FaceMesh478(static=False) as mesh:
        for i, frame in enumerate(material.frames()):
            if max_frames is not None and i >= max_frames:
                break
            pts = mesh.landmarks(fit_long_side(frame, ANALYSIS_MAX_SIDE))
            out.append(np.full((N_MESH + 10, 2), np.nan) if pts is None else pts * scale)
    return np.stack(out).astype(np.float32)


def drive_scores(driver: np.ndarray, output: np.ndarray, tolerance: int = 2) -> dict:
    """How well an output follows its driver, from both (N, 478, 2) raw mesh tracks
    (:func:`video_meshes`; frames without a face in either are left out).

    Returns:
        {"frames", "driver_blinks", "output_blinks", "blink_recall" (share of driver blinks with an
        output blink within ``tolerance`` frames), "blink_precision" (share of output blinks with a
        driver blink that near), "yaw_r", "pitch_r" (head-pose correlation), "gaze_r" (horizontal
        eye-direction correlation, eyes open)}.
    """
    from dhsdk.swap.retarget import eye_openness

    n = min(len(driver), len(output))
    d, o = np.asarray(driver[:n], np.float64), np.asarray(output[:n], np.float64)
    ok = np.isfinite(d).all((1, 2)) & np.isfinite(o).all((1, 2))
    d, o = d[ok], o[ok]
    od, oo = eye_openness(d), eye_openness(o)
    bd, bo = blink_events(od), blink_events(oo)
    yaw, pitch = pose_correlation(d, o)
    open_eyes = od.mean(1) > BLINK_BELOW * np.median(od.mean(1))
    return {"frames": int(ok.sum()), "driver_blinks": int(len(bd)), "output_blinks": int(len(bo)),
            "blink_recall": blink_recall(bd, bo, tolerance), "blink_precision": blink_recall(bo, bd, tolerance),
            "yaw_r": yaw, "pitch_r": pitch, "gaze_r": gaze_agreement(d, o, open_eyes)}
