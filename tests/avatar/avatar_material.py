"""Generated material for the avatar tests: a real face photo (skimage's astronaut, 512x512)
moved, scaled, rotated, shrunk, doubled or darkened, encoded with PyAV; the ground truth of
each generated clip comes from how it was built, never from the code under test.

The astronaut's face: BlazeFace box ~104 px tall centred near (225, 120); mediapipe's static
mesh of the still photo (:func:`astronaut_mesh`) moved by a clip's known affines is the
ground-truth track of that clip.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np

FACE_CENTRE = (225.0, 120.0)   # astronaut face centre, photo pixels
FACE_PX = 104.0                # astronaut face box height (BlazeFace), photo pixels


@functools.lru_cache(maxsize=1)
def astronaut() -> np.ndarray:
    """(512, 512, 3) uint8 RGB, read-only."""
    from skimage import data

    image = np.ascontiguousarray(data.astronaut())
    image.flags.writeable = False
    return image


@functools.lru_cache(maxsize=1)
def astronaut_mesh() -> np.ndarray:
    """(478, 2) float64 static mediapipe mesh of the still photo, pixels."""
    from dhsdk.avatar.face import FaceMesh478

    with FaceMesh478(static=True) as mesh:
        points = mesh.landmarks(astronaut())
    assert points is not None, "mediapipe found no face in skimage.data.astronaut()"
    points.flags.writeable = False
    return points


def similarity(scale: float, degrees: float, centre: tuple[float, float], to: tuple[float, float]) -> np.ndarray:
    """(2, 3) float64 similarity taking photo point ``centre`` to frame point ``to``,
    scaled by ``scale`` and rotated by ``degrees`` (counter-clockwise on screen)."""
    th = np.radians(-degrees)  # y points down: a negative angle turns counter-clockwise on screen
    rot = scale * np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
    return np.hstack([rot, (np.asarray(to, np.float64) - rot @ np.asarray(centre, np.float64))[:, None]])


def warp(image: np.ndarray, affine: np.ndarray, size: tuple[int, int], border: str = "reflect",
         fill: int = 128) -> np.ndarray:
    """``image`` moved by ``affine`` onto a ``size = (width, height)`` canvas."""
    import cv2

    mode = cv2.BORDER_REFLECT101 if border == "reflect" else cv2.BORDER_CONSTANT
    return cv2.warpAffine(np.ascontiguousarray(image), affine, size, flags=cv2.INTER_LINEAR, borderMode=mode,
                          borderValue=(fill, fill, fill))


def moving_affines(n: int, fps: float, size: tuple[int, int], face_px: float = 170.0,
                   amplitude: float = 1.0) -> np.ndarray:
    """(n, 2, 3) photo -> frame similarities of a presenter who sways, leans and nods slowly.

    Scale 1 +- 6 % (period 4 s), roll +- 4 deg (3 s), drift +- 14 / 10 px (2.5 s / 3.5 s)
    around a face of ``face_px`` centred at (0.5 W, 0.37 H); ``amplitude`` scales the motion.
    """
    w, h = size
    base = face_px / FACE_PX
    t = np.arange(n) / fps
    out = np.empty((n, 2, 3))
    for k, tk in enumerate(t):
        s = base * (1 + amplitude * 0.06 * np.sin(2 * np.pi * tk / 4.0))
        deg = amplitude * 4.0 * np.sin(2 * np.pi * tk / 3.0 + 0.5)
        to = (0.5 * w + amplitude * 14 * np.sin(2 * np.pi * tk / 2.5), 0.37 * h + amplitude * 10 * np.sin(2 * np.pi * tk / 3.5 + 1))
        out[k] = similarity(s, deg, FACE_CENTRE, to)
    return out


def write_video(path: str | Path, frames: Iterable[np.ndarray], fps: float = 25.0, codec: str = "libx264",
                rotation: int | None = None, faststart: bool = False, crf: int | None = 18,
                keyint: int | None = None) -> Path:
    """Encode RGB frames with PyAV (yuv420p).

    Args:
        rotation: display rotation written into the stream (``set_display_rotation``).
        faststart: put the mp4 index (moov) before the data, as phones and web exports do.
        crf: quality for x264/x265 (None: the encoder's default).
        keyint: x264 keyframe interval (short: the bytes spread evenly over the frames).
    """
    import av

    path = Path(path)
    options = {"movflags": "faststart"} if faststart else {}
    frames = iter(frames)
    first = next(frames)
    with av.open(str(path), "w", options=options) as c:
        s = c.add_stream(codec, rate=int(round(fps)) if float(fps).is_integer() else fps)
        s.height, s.width = first.shape[:2]
        s.pix_fmt = "yuv420p"
        if codec in ("libx264", "libx265"):
            opts = {} if crf is None else {"crf": str(crf)}
            if codec == "libx265":
                opts["x265-params"] = "log-level=error"
            elif keyint:
                opts["x264-params"] = f"keyint={keyint}:min-keyint={keyint}"
            s.options = opts
        if rotation is not None:
            s.set_display_rotation(rotation)
        for f in _chain(first, frames):
            for p in s.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


def _chain(first: np.ndarray, rest: Iterable[np.ndarray]) -> Iterable[np.ndarray]:
    yield first
    yield from rest


def encoder_available(codec: str) -> bool:
    """True when this FFmpeg build can encode with ``codec``."""
    import av

    try:
        av.codec.Codec(codec, "w")
    except Exception:
        return False
    return True


@dataclass
class Clip:
    """A generated talking-head clip and its truth.

    Attributes:
        path: the encoded video.
        affines: (N, 2, 3) photo -> frame similarity of every frame.
        size: (width, height).
        fps: frame rate.
    """

    path: Path
    affines: np.ndarray
    size: tuple[int, int]
    fps: float

    def truth(self, ids: Iterable[int] | None = None) -> np.ndarray:
        """(N, P, 2) ground-truth mesh points per frame (the still photo's mesh moved)."""
        from dhsdk.geometry import apply_affine

        mesh = astronaut_mesh() if ids is None else astronaut_mesh()[list(ids)]
        return np.stack([apply_affine(a, mesh) for a in self.affines])


def moving_portrait(path: str | Path, seconds: float = 4.0, fps: float = 25.0, size: tuple[int, int] = (384, 512),
                    face_px: float = 170.0, amplitude: float = 1.0, **encode) -> Clip:
    """Encode the astronaut swaying in front of the camera (:func:`moving_affines`)."""
    n = int(round(seconds * fps))
    affines = moving_affines(n, fps, size, face_px, amplitude)
    image = astronaut()
    write_video(path, (warp(image, a, size) for a in affines), fps, **encode)
    return Clip(Path(path), affines, size, fps)


def face_on_canvas(face_px: float, canvas: tuple[int, int], at: tuple[float, float] = (0.5, 0.4),
                   fill: int = 128) -> np.ndarray:
    """The astronaut's face scaled to ``face_px`` tall, centred at ``at`` (fractions of the
    canvas), on a grey ``canvas = (width, height)``."""
    import cv2

    s = face_px / FACE_PX
    a = similarity(s, 0.0, FACE_CENTRE, (at[0] * canvas[0], at[1] * canvas[1]))
    flags = cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC
    return cv2.warpAffine(np.ascontiguousarray(astronaut()), a, canvas, flags=flags, borderMode=cv2.BORDER_CONSTANT,
                          borderValue=(fill, fill, fill))


def two_faces() -> np.ndarray:
    """(512, 1024, 3) the astronaut and her mirror image side by side."""
    image = astronaut()
    return np.ascontiguousarray(np.concatenate([image, image[:, ::-1]], 1))


def no_face() -> np.ndarray:
    """(400, 600, 3) a cup of coffee (skimage), no face."""
    from skimage import data

    return np.ascontiguousarray(data.coffee())


def save_image(path: str | Path, rgb: np.ndarray, mode: str = "RGB", **kwargs) -> Path:
    """Save with Pillow as ``mode``: ``"RGB"``, ``"L"`` (grey) or ``"RGBA"`` (alpha: opaque
    over the face, transparent in the left quarter)."""
    from PIL import Image

    path = Path(path)
    image = Image.fromarray(np.ascontiguousarray(rgb))
    if mode == "L":
        image = image.convert("L")
    elif mode == "RGBA":
        alpha = np.full(rgb.shape[:2], 255, np.uint8)
        alpha[:, : rgb.shape[1] // 4] = 0
        image = image.convert("RGBA")
        image.putalpha(Image.fromarray(alpha))
    image.save(path, **kwargs)
    return path


# ---- a head that nods and turns (out-of-plane rotation) -----------------------------------

PIVOT_BEHIND = 0.45  # rotation centre behind the face's mean depth, in face heights (about the ears' depth)


@functools.lru_cache(maxsize=1)
def astronaut_mesh3d() -> np.ndarray:
    """(478, 3) float64 mediapipe mesh of the still photo with depth: x, y in pixels, z in pixels
    too (mediapipe's relative depth, scaled like x; negative towards the camera). Taken from
    mediapipe directly, not through dhsdk (the generator's truth must not come from the code
    under test)."""
    import mediapipe as mp

    image = np.asarray(astronaut())
    h, w = image.shape[:2]
    with mp.solutions.face_mesh.FaceMesh(static_image_mode=True, refine_landmarks=True) as mesh:
        found = mesh.process(image).multi_face_landmarks
    assert found, "mediapipe found no face in skimage.data.astronaut()"
    points = np.array([(p.x * w, p.y * h, p.z * w) for p in found[0].landmark], np.float64)
    points.flags.writeable = False
    return points


def rotated_mesh(pitch_deg: float, yaw_deg: float) -> np.ndarray:
    """(478, 3) the photo's 3-D mesh with the head turned: ``pitch_deg`` nods the chin down
    (positive) or up, ``yaw_deg`` turns the face towards image-right (positive), about a centre
    :data:`PIVOT_BEHIND` face heights behind the face; x, y stay photo pixels (orthographic)."""
    mesh = astronaut_mesh3d()
    face_h = mesh[:, 1].max() - mesh[:, 1].min()
    pivot = np.array([mesh[:, 0].mean(), mesh[:, 1].mean(), mesh[:, 2].mean() + PIVOT_BEHIND * face_h])
    p, y = np.radians(pitch_deg), np.radians(yaw_deg)
    # y grows downwards and z away from the camera: chin down = rotation taking +y towards +z
    pitch = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    yaw = np.array([[np.cos(y), 0, -np.sin(y)], [0, 1, 0], [np.sin(y), 0, np.cos(y)]])
    return (mesh - pivot) @ (yaw @ pitch).T + pivot


def _anchor_points(mesh2d: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Fixed points that pin the image around the face: a ring at 1.6x the face's extent
    and the photo's border."""
    centre = mesh2d.mean(0)
    half = (mesh2d.max(0) - mesh2d.min(0)) / 2 * 1.6
    a = np.linspace(0, 2 * np.pi, 24, endpoint=False)
    ring = centre + np.stack([half[0] * np.cos(a), half[1] * np.sin(a)], 1)
    h, w = shape
    t = np.linspace(0, 1, 5)
    border = np.concatenate([np.stack([t * (w - 1), 0 * t], 1), np.stack([t * (w - 1), 0 * t + h - 1], 1),
                             np.stack([0 * t, t * (h - 1)], 1)[1:-1], np.stack([0 * t + w - 1, t * (h - 1)], 1)[1:-1]])
    return np.concatenate([ring, border])


@functools.lru_cache(maxsize=1)
def _photo_triangles() -> np.ndarray:
    """(T, 3) Delaunay triangles over the photo's mesh points and :func:`_anchor_points`."""
    from scipy.spatial import Delaunay

    mesh = astronaut_mesh3d()[:, :2]
    return Delaunay(np.concatenate([mesh, _anchor_points(mesh, astronaut().shape[:2])])).simplices


def turned_frame(pitch_deg: float, yaw_deg: float, placement: np.ndarray,
                 size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """The astronaut with her head turned, placed on a canvas.

    The face is a piecewise-affine warp of the photo over its mesh triangles, moved as the
    rotated 3-D mesh projects (drawn back to front), with the surroundings pinned by fixed
    anchor points, so hair and background stretch smoothly; the rest follows ``placement``.

    Args:
        placement: (2, 3) photo -> canvas similarity.
        size: canvas (width, height).

    Returns:
        ((H, W, 3) uint8 RGB frame, (478, 2) float64 true mesh in canvas pixels).
    """
    import cv2

    from dhsdk.geometry import apply_affine, invert_affine

    photo = astronaut()
    src3 = astronaut_mesh3d()
    moved = rotated_mesh(pitch_deg, yaw_deg)
    anchors = _anchor_points(src3[:, :2], photo.shape[:2])
    src = np.concatenate([src3[:, :2], anchors])
    dst = apply_affine(placement, np.concatenate([moved[:, :2], anchors]))
    depth = np.concatenate([moved[:, 2], np.full(len(anchors), moved[:, 2].max())])
    tris = _photo_triangles()
    w, h = size
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64))
    back = invert_affine(placement)
    mapx = back[0, 0] * gx + back[0, 1] * gy + back[0, 2]
    mapy = back[1, 0] * gx + back[1, 1] * gy + back[1, 2]
    ids = np.full((h, w), -1, np.int32)
    order = np.argsort(-depth[tris].mean(1))   # far triangles first, near ones drawn over them
    for t in order:
        cv2.fillConvexPoly(ids, np.round(dst[tris[t]] * 16).astype(np.int32), int(t), lineType=cv2.LINE_8, shift=4)
    d = np.concatenate([dst[tris], np.ones((len(tris), 3, 1))], 2)           # (T, 3, 3)
    ok = np.abs(np.linalg.det(d)) > 1e-6
    m = np.zeros((len(tris), 3, 2))
    m[ok] = np.linalg.solve(d[ok], src[tris[ok]])                            # dst -> src per triangle
    inside = (ids >= 0) & ok[np.maximum(ids, 0)]
    t = ids[inside]
    mapx[inside] = gx[inside] * m[t, 0, 0] + gy[inside] * m[t, 1, 0] + m[t, 2, 0]
    mapy[inside] = gx[inside] * m[t, 0, 1] + gy[inside] * m[t, 1, 1] + m[t, 2, 1]
    frame = cv2.remap(np.ascontiguousarray(photo), mapx.astype(np.float32), mapy.astype(np.float32),
                      cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101)
    return frame, apply_affine(placement, moved[:, :2])


@dataclass
class TurningClip:
    """A generated clip of a head that nods and turns, and its truth.

    Attributes:
        path: the encoded video.
        angles: (N, 2) float64 pitch (chin down +) and yaw (towards image-right +), degrees.
        points: (N, 478, 2) float64 true mesh per frame, canvas pixels.
        size: (width, height).
        fps: frame rate.
    """

    path: Path
    angles: np.ndarray
    points: np.ndarray
    size: tuple[int, int]
    fps: float


def turning_portrait(path: str | Path, seconds: float = 4.0, fps: float = 25.0, size: tuple[int, int] = (384, 512),
                     face_px: float = 170.0, pitch_deg: float = 25.0, yaw_deg: float = 0.0, period_s: float = 2.0,
                     **encode) -> TurningClip:
    """Encode the astronaut nodding by +-``pitch_deg`` and turning by +-``yaw_deg`` (sinusoids of
    ``period_s``, the turn a quarter period behind the nod), face ``face_px`` tall at
    (0.5 W, 0.37 H), like :func:`moving_portrait` but out of the image plane."""
    n = int(round(seconds * fps))
    phase = 2 * np.pi * np.arange(n) / fps / period_s
    angles = np.stack([pitch_deg * np.sin(phase), yaw_deg * np.sin(phase - np.pi / 2)], 1)
    placement = similarity(face_px / FACE_PX, 0.0, FACE_CENTRE, (0.5 * size[0], 0.37 * size[1]))
    frames, points = zip(*(turned_frame(p, y, placement, size) for p, y in angles))
    write_video(path, frames, fps, **encode)
    return TurningClip(Path(path), angles, np.stack(points), size, fps)
