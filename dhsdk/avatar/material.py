"""Reading a merchant's material: a talking video or a single photo, as RGB frames.

:func:`open_material` probes the file and returns a :class:`Material` whose :meth:`~Material.frames`
decodes on demand (a 60 s 1080p clip is 9 GB as raw RGB, so nothing holds every frame).
Videos are decoded with PyAV (any container/codec FFmpeg reads: mp4, mov, mkv, webm; H.264,
H.265, VP9, AV1), images with Pillow (jpg, png, webp; grey or with alpha, EXIF orientation
applied). The display rotation of phone videos is applied, so frames come out upright.

``open_material(path, reader="dali")`` decodes videos with NVIDIA DALI instead (NVDEC into GPU
memory, :mod:`dhsdk.avatar.dali_reader`), behind the same interface.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from dhsdk.errors import InputError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp")
ANALYSIS_MAX_SIDE = 1920   # frames above this long side are downscaled for analysis
IMAGE_BACKGROUND = 255     # alpha images are composited over white


@dataclass
class MaterialInfo:
    """What the file is, before decoding all of it.

    Attributes:
        path: the file.
        kind: ``"video"`` or ``"image"``.
        width, height: upright frame size in pixels (after the display rotation).
        fps: frames per second (images: 0).
        declared_frames: frame count the container declares (images: 1; 0 if unknown).
        duration: seconds the container declares (images: 0).
        rotation: degrees counter-clockwise applied to decoded frames to make them upright.
        codec: video codec name (images: the image format).
        has_audio: the file has an audio stream.
        has_alpha: the image had an alpha channel (composited over white).
    """

    path: Path
    kind: str
    width: int
    height: int
    fps: float
    declared_frames: int
    duration: float
    rotation: int = 0
    codec: str = ""
    has_audio: bool = False
    has_alpha: bool = False

    @property
    def long_side(self) -> int:
        """The larger of width and height, pixels."""
        return max(self.width, self.height)


@dataclass
class DecodeStats:
    """Filled in while :meth:`Material.frames` runs.

    Attributes:
        decoded: frames decoded so far.
        error: the decoder error that ended decoding early, if any (a damaged or truncated file).
    """

    decoded: int = 0
    error: str | None = None

    def truncated(self, info: MaterialInfo) -> bool:
        """True when decoding stopped on an error or well short of the declared length."""
        short = info.declared_frames > 0 and self.decoded < 0.95 * info.declared_frames - 1
        return self.error is not None or short


@dataclass
class Material:
    """An opened video or image.

    Attributes:
        info: :class:`MaterialInfo` from the probe.
        stats: :class:`DecodeStats` of the last :meth:`frames` pass.
        reader: video decoder, ``"pyav"`` (FFmpeg on the CPU) or ``"dali"``
            (:mod:`dhsdk.avatar.dali_reader`).
        dali_device: ``"gpu"`` (NVDEC) or ``"cpu"`` with the DALI reader.
    """

    info: MaterialInfo
    stats: DecodeStats = field(default_factory=DecodeStats)
    reader: str = "pyav"
    dali_device: str = "gpu"

    def frames(self, max_side: int | None = None) -> Iterator[np.ndarray]:
        """Decode upright RGB frames in order.

        Args:
            max_side: downscale (area interpolation) frames whose long side exceeds this;
                None keeps the original size.

        Yields:
            (H, W, 3) uint8 RGB, C-contiguous. A decoder error mid-stream ends the iteration
            and is recorded in :attr:`stats` (``stats.truncated(info)`` tells).
        """
        self.stats = DecodeStats()
        if self.info.kind == "image":
            source = _image_frames(self.info)
        elif self.reader == "dali":
            from dhsdk.avatar.dali_reader import DaliVideo

            source = DaliVideo(self.info, self.dali_device).frames(self.stats)
        else:
            source = _video_frames(self.info, self.stats)
        for frame in source:
            self.stats.decoded += 1
            yield fit_long_side(frame, max_side)

    def analysis_scale(self, max_side: int = ANALYSIS_MAX_SIDE) -> float:
        """Factor from original pixels to the analysis frames of ``frames(max_side)`` (<= 1)."""
        return min(1.0, max_side / self.info.long_side)

    def audio(self) -> np.ndarray | None:
        """The audio track as (n,) float32 16 kHz mono PCM, or None when there is none."""
        if not self.info.has_audio:
            return None
        from dhsdk.audio import load_audio

        try:
            return load_audio(self.info.path)
        except InputError:
            return None


def open_material(path: str | os.PathLike, reader: str = "pyav", dali_device: str = "gpu") -> Material:
    """Probe a video or image file.

    Args:
        path: the file.
        reader: ``"pyav"`` or ``"dali"`` for videos (see :class:`Material`).
        dali_device: ``"gpu"`` or ``"cpu"`` with ``reader="dali"``.

    Raises:
        InputError: the file is missing, empty, or not a video/image FFmpeg or Pillow can
            read (the message names the file and what to give instead).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"material not found: {path} (give a talking video or a photo of the presenter)")
    if path.stat().st_size == 0:
        raise InputError(f"{path} is empty (0 bytes): the copy or upload did not finish; give the file again")
    if reader not in ("pyav", "dali"):
        raise InputError(f"reader must be 'pyav' or 'dali', got {reader!r}")
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return Material(_probe_image(path))
    return Material(_probe_video(path), reader=reader, dali_device=dali_device)


def fit_long_side(frame: np.ndarray, max_side: int | None) -> np.ndarray:
    """``frame`` downscaled (area interpolation) so its long side is at most ``max_side``."""
    h, w = frame.shape[:2]
    if max_side is None or max(h, w) <= max_side:
        return frame
    import cv2

    s = max_side / max(h, w)
    size = (max(1, int(round(w * s))), max(1, int(round(h * s))))
    return cv2.resize(frame, size, interpolation=cv2.INTER_AREA)


def _not_material(path: Path, why: str, damaged: bool = False) -> InputError:
    """``damaged``: the reader rejected the bytes, so the file may be a cut or corrupt copy of real material."""
    hint = (": the file is truncated or damaged (an unfinished copy, upload or export: copy or export it "
            "again), or it is not a video or photo at all;" if damaged else ":")
    return InputError(f"{path} is not a video or image dhsdk can read ({why}){hint} give an mp4/mov/mkv/webm "
                      f"video or a jpg/png/webp photo")


def _probe_image(path: Path) -> MaterialInfo:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im.verify()
        with Image.open(path) as im:
            fmt = im.format or path.suffix.lstrip(".")
            alpha = im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info
            w, h = im.size
            orient = im.getexif().get(0x0112, 1)
    except (UnidentifiedImageError, OSError, SyntaxError) as e:
        raise _not_material(path, str(e), damaged=True) from None
    if orient in (5, 6, 7, 8):  # EXIF orientations that swap the axes
        w, h = h, w
    return MaterialInfo(path, "image", w, h, 0.0, 1, 0.0, 0, fmt.lower(), False, alpha)


def _image_frames(info: MaterialInfo) -> Iterator[np.ndarray]:
    from PIL import Image, ImageOps

    with Image.open(info.path) as im:
        im = ImageOps.exif_transpose(im)
        if im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info:
            rgba = np.asarray(im.convert("RGBA"), np.float32)
            a = rgba[..., 3:] / 255.0
            rgb = rgba[..., :3] * a + IMAGE_BACKGROUND * (1.0 - a)
            yield np.ascontiguousarray(np.clip(np.rint(rgb), 0, 255).astype(np.uint8))
        else:
            yield np.ascontiguousarray(np.asarray(im.convert("RGB"), np.uint8))


def _probe_video(path: Path) -> MaterialInfo:
    import av

    try:
        with av.open(str(path)) as c:
            if not c.streams.video:
                raise _not_material(path, "it has no video stream")
            vs = c.streams.video[0]
            fps = float(vs.average_rate or vs.guessed_rate or 0)
            if vs.duration is not None and vs.time_base is not None:
                duration = float(vs.duration * vs.time_base)
            else:
                duration = float(c.duration or 0) / 1e6
            declared = int(vs.frames or (round(duration * fps) if fps else 0))
            rotation, w, h = 0, vs.codec_context.width, vs.codec_context.height
            for frame in c.decode(vs):  # the display rotation rides on the frames
                rotation, w, h = int(frame.rotation or 0), frame.width, frame.height
                break
            else:
                raise _not_material(path, "its video stream has no decodable frame", damaged=True)
            codec = vs.codec_context.name
            has_audio = bool(c.streams.audio)
    except InputError:
        raise
    except Exception as e:  # FFmpeg's many error types: not a container, no moov atom, ...
        raise _not_material(path, f"{type(e).__name__}: {e}", damaged=True) from None
    rotation = int(round(rotation / 90.0)) * 90 % 360
    if rotation in (90, 270):
        w, h = h, w
    return MaterialInfo(path, "video", w, h, fps, declared, duration, rotation, codec, has_audio, False)


def _video_frames(info: MaterialInfo, stats: DecodeStats) -> Iterator[np.ndarray]:
    import av

    k = info.rotation // 90
    with av.open(str(info.path)) as c:
        vs = c.streams.video[0]
        vs.thread_type = "AUTO"
        frames = c.decode(vs)
        while True:
            try:
                frame = next(frames)
            except StopIteration:
                return
            except Exception as e:  # a damaged packet: stop, and say so in the stats
                stats.error = f"{type(e).__name__}: {e}"
                return
            rgb = frame.to_ndarray(format="rgb24")
            yield np.ascontiguousarray(np.rot90(rgb, k)) if k else rgb
