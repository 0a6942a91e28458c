"""Material for the swap and drive tests: real clips from ../shared/data joined into longer
drivers, and generated stock clips (the astronaut, reshaped into a different face, swaying and
blinking) for what the suite must cover without the shared data.

The ground truth of a generated clip comes from how it was built: the per-frame affine of the
sway and the per-frame eye closure are returned with the clip.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Iterable

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "avatar"))
import avatar_material as gen  # noqa: E402  (the avatar tests' generators: astronaut, write_video)


def join_clips(paths: Iterable[Path], out: Path) -> Path:
    """Concatenate talking clips (video and their audio) into one H.264 + AAC mp4."""
    from dhsdk.audio import load_audio
    from dhsdk.avatar.material import open_material
    from dhsdk.frames import VideoFrame
    from dhsdk.sinks.file import FileSink

    k = 0
    with FileSink(out) as sink:
        for path in paths:
            material = open_material(path)
            fps = material.info.fps
            pcm = load_audio(path)
            edges = np.round(np.arange(10_000) * 16000 / fps).astype(int)
            for i, frame in enumerate(material.frames()):
                seg = pcm[edges[i]:edges[i + 1]]
                seg = np.pad(seg, (0, edges[i + 1] - edges[i] - len(seg)))
                sink.write(VideoFrame(frame, seg, 16000, k / fps, k))
                k += 1
    return out


def other_face() -> tuple[np.ndarray, np.ndarray]:
    """A face that is not the astronaut's: her photo reshaped through the face mesh (jaw 25 %
    wider, eyes 15 % closer together, nose 15 % longer, brows raised, a shorter face below the
    nose) and under a warmer, darker light.

    Returns:
        ((512, 512, 3) uint8 RGB image, (478, 2) float64 the mesh it was reshaped to).
    """
    from dhsdk.geometry import apply_affine, image_to_canonical, invert_affine
    from dhsdk.swap import topology as topo
    from dhsdk.swap.drive import warp_face

    image = gen.astronaut()
    mesh = np.asarray(gen.astronaut_mesh(), np.float64)
    to_canonical = image_to_canonical(mesh)
    shape = apply_affine(to_canonical, mesh)
    new = shape.copy()
    below = np.clip((shape[:, 1] - 0.3) / 1.2, 0.0, 1.0)
    new[:, 0] *= 1.0 + 0.25 * below                              # wider jaw
    eyes = (np.abs(shape[:, 1]) < 0.35) & (np.abs(shape[:, 0]) < 0.95)
    new[eyes, 0] *= 0.85                                         # eyes closer together
    nose = (shape[:, 1] > 0.1) & (shape[:, 1] < 0.75) & (np.abs(shape[:, 0]) < 0.3)
    new[nose, 1] += 0.15 * (shape[nose, 1] - 0.1)                # longer nose
    brows = (shape[:, 1] < -0.15) & (shape[:, 1] > -0.5)
    new[brows, 1] -= 0.08                                        # raised brows
    chin = shape[:, 1] > 0.9
    new[chin, 1] -= 0.1 * (shape[chin, 1] - 0.9)                 # shorter below the mouth
    target = apply_affine(invert_affine(to_canonical), new)
    rings = topo.ring_points(mesh)
    tris = np.concatenate([topo.face_triangles(), topo.band_triangles()])
    warped = warp_face(image, np.concatenate([mesh, rings]), np.concatenate([target, rings]), tris)
    tinted = np.clip(warped.astype(np.float32) * np.array([0.92, 0.74, 0.62], np.float32), 0, 255).astype(np.uint8)
    return tinted, target


def closed_eyes(image: np.ndarray, mesh: np.ndarray) -> np.ndarray:
    """``image`` with both eyes shut (its own lids brought together through the face mesh)."""
    from dhsdk.geometry import apply_affine, image_to_canonical, invert_affine
    from dhsdk.swap import topology as topo
    from dhsdk.swap.drive import warp_face
    from dhsdk.swap.retarget import Retarget, lid_sources

    to_canonical = image_to_canonical(mesh)
    shape = apply_affine(to_canonical, mesh)
    shut = shape.copy()
    for pairs in topo.LID_PAIRS:
        for up, lo in pairs:
            shut[up] = shut[lo]
    target = apply_affine(invert_affine(to_canonical), Retarget(shape, shape)(shut))
    rings = topo.ring_points(mesh)
    tris = np.concatenate([topo.face_triangles(), topo.band_triangles()])
    return warp_face(image, np.concatenate([lid_sources(mesh[:478], target), rings]), np.concatenate([target, rings]),
                     tris)


def occluder(size: int) -> np.ndarray:
    """(size, size, 4) uint8 RGBA: a disc of real texture (the fur of skimage's cat) with a soft
    edge, standing in for a hand held in front of the face."""
    import cv2
    from skimage import data

    fur = cv2.resize(np.ascontiguousarray(data.chelsea()[100:260, 150:310]), (size, size), interpolation=cv2.INTER_AREA)
    yy, xx = np.mgrid[0:size, 0:size]
    r = np.hypot(xx - size / 2, yy - size / 2) / (size / 2)
    alpha = np.clip((1.0 - r) * 8, 0, 1)
    return np.dstack([fur, (alpha * 255).astype(np.uint8)])


def paste(frame: np.ndarray, rgba: np.ndarray, centre: tuple[float, float]) -> np.ndarray:
    """``frame`` with ``rgba`` composited centred at ``centre`` (x, y)."""
    out = frame.astype(np.float32).copy()
    s = rgba.shape[0]
    x0, y0 = int(round(centre[0] - s / 2)), int(round(centre[1] - s / 2))
    a = rgba[..., 3:].astype(np.float32) / 255.0
    out[y0:y0 + s, x0:x0 + s] = out[y0:y0 + s, x0:x0 + s] * (1 - a) + rgba[..., :3] * a
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


class StockClip:
    """A generated stock presenter clip of :func:`other_face`, and its truth.

    Attributes:
        path: the H.264 file.
        mesh: (478, 2) the face's mesh in the still image it was made from.
        affines: (N, 2, 3) still image -> frame, per frame (a slow sway).
        blinks: frames with the eyes shut.
        hidden: frames where the occluder covers the left cheek, and its centre in the still image.
        disc_px: the occluder's diameter in frame pixels.
        size: (width, height).
    """

    def __init__(self, path: Path, mesh: np.ndarray, affines: np.ndarray, blinks: list[int],
                 hidden: tuple[list[int], tuple[float, float]], disc_px: int, size: tuple[int, int]):
        self.path, self.mesh, self.affines, self.blinks = path, mesh, affines, blinks
        self.hidden, self.disc_px, self.size = hidden, disc_px, size


def stock_clip(path: Path, seconds: float = 3.2, fps: float = 25.0, size: tuple[int, int] = (288, 384),
               face_px: float = 150.0) -> StockClip:
    """Encode :func:`other_face` swaying for ``seconds``, shutting its eyes at 1.0 s and with the
    occluder over its left cheek from 2.0 to 2.6 s."""
    from dhsdk.geometry import apply_affine

    image, mesh = other_face()
    shut = closed_eyes(image, mesh)
    n = int(round(seconds * fps))
    affines = gen.moving_affines(n, fps, size, face_px=face_px, amplitude=0.5)
    blinks = [int(fps * 1.0) + k for k in range(3)]
    covered = list(range(int(fps * 2.0), int(fps * 2.6)))
    cheek = tuple(mesh[205])                                      # left cheek, still-image pixels
    disc = occluder(int(0.9 * face_px / gen.FACE_PX * 45))

    def frames():
        for k, a in enumerate(affines):
            frame = gen.warp(shut if k in blinks else image, a, size)
            if k in covered:
                frame = paste(frame, disc, tuple(apply_affine(a, np.array([cheek]))[0]))
            yield frame

    gen.write_video(path, frames(), fps)
    return StockClip(path, mesh, affines, blinks, (covered, cheek), disc.shape[0], size)


def driver_clip(path: Path, seconds: float = 4.0, fps: float = 25.0, size: tuple[int, int] = (384, 512),
                blinks: tuple[int, ...] = (20, 62), gaze_eyes: float = 0.12) -> tuple[Path, np.ndarray, list[int]]:
    """A driver: :func:`other_face` swaying and rolling (+-4 deg), blinking (3 frames from each
    of ``blinks``) and looking left and right (irises +-``gaze_eyes`` eye widths, period 2 s).

    Returns:
        (the H.264 file, (N,) horizontal gaze in eye widths per frame, the shut frames).
    """
    from dhsdk.geometry import apply_affine, image_to_canonical, invert_affine
    from dhsdk.swap import topology as topo
    from dhsdk.swap.drive import warp_face
    from dhsdk.swap.retarget import Retarget, lid_sources

    image, mesh = other_face()
    to_canonical = image_to_canonical(mesh)
    back = invert_affine(to_canonical)
    shape = apply_affine(to_canonical, mesh)
    rt = Retarget(shape, shape)
    rings = topo.ring_points(mesh)
    tris = np.concatenate([topo.face_triangles(), topo.band_triangles()])
    n = int(round(seconds * fps))
    affines = gen.moving_affines(n, fps, size, face_px=230.0)
    look = gaze_eyes * np.sin(2 * np.pi * np.arange(n) / (2.0 * fps))
    shut = sorted({b + k for b in blinks for k in range(3)})

    def frames():
        for k, a in enumerate(affines):
            d = shape.copy()
            for centre, ring, (outer, inner) in zip(topo.IRIS_CENTRES, topo.IRIS_RINGS, topo.EYE_CORNERS):
                d[[centre, *ring], 0] += look[k] * np.linalg.norm(shape[outer] - shape[inner])
            if k in shut:
                for pairs in topo.LID_PAIRS:
                    for up, lo in pairs:
                        d[up] = d[lo]
            rt.reset()
            target = apply_affine(back, rt(d))
            face = warp_face(image, np.concatenate([lid_sources(mesh, target), rings]),
                             np.concatenate([target, rings]), tris)
            yield gen.warp(face, a, size)

    gen.write_video(path, frames(), fps)
    return path, look, shut


def leftovers(out: Path) -> list[str]:
    """Names at or beside ``out`` that a failed creation may have left (``out``, ``.NAME.*``)."""
    out = Path(out)
    if not out.parent.is_dir():
        return []
    return sorted(p.name for p in out.parent.iterdir() if p.name == out.name or p.name.startswith(f".{out.name}."))
