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
