"""``create_avatar``: material in, a reviewed avatar bundle out (or a clear reason why not).

Steps: probe the file; one decode pass that tracks the face, measures every frame and writes
the base frames (photos: one mesh and generated idle motion); the review; then, if no check
failed, the bundle (:func:`write_bundle`): the geometry (neutral lips, lower-face region, mouth
crop), the mouth state (each frame's lip gap, the closed-mouth threshold) and the idle loop.
Everything is written into a temporary directory that is renamed into place only when complete,
so a failure at any step leaves nothing behind.

Memory stays bounded whatever the footage's length: frames stream from the decoder through
the analysis straight into the frame store; only per-frame numbers (the mesh and measures)
and a fixed number of thumbnails are kept.

Steps that build on the bundle run after it is written and before it goes into place, while the
analysis' track and audio are still in hand: per-person a2k adaptation
(:func:`dhsdk.train.a2k_adapt.auto_adapt`: when the footage has >= 20 s of the presenter's speech,
the lip model is fine-tuned on it and kept only if its held-out tail improves; ``adapt=False``
or ``--no-adapt`` skips it).
"""
from __future__ import annotations

import datetime
import os
from pathlib import Path
from typing import Any, Callable

import numpy as np

from dhsdk.avatar import bundle, mouth_region
from dhsdk.avatar.analyze import Analysis, analyze
from dhsdk.avatar.framestore import FrameStoreWriter
from dhsdk.avatar.idle import IdleLoop, choose_loop
from dhsdk.avatar.material import Material, open_material
from dhsdk.avatar.mouth_state import closed_threshold
from dhsdk.avatar.photo import analyze_photo
from dhsdk.avatar.review import ReviewReport, review
from dhsdk.errors import InputError
from dhsdk.geometry import LIP_IDS, image_to_canonical
from dhsdk.paths import file_sha256


class ReviewFailed(InputError):
    """The material failed its review; ``report`` says which checks and how to fix them."""

    def __init__(self, report: ReviewReport):
        self.report = report
        fails = "; ".join(f"{c.name}: {c.reason} (fix: {c.fix})" for c in report.failures)
        super().__init__(f"{report.source} is not good enough for an avatar: {fails}")


def analyse_material(material: Material, on_frame: Any = None, show_progress: bool = True) -> Analysis:
    """The analysis pass for either kind of material (video or photo)."""
    if material.info.kind == "image":
        return analyze_photo(material, on_frame, show_progress)
    return analyze(material, on_frame, show_progress)


def review_material(source: str | os.PathLike, show_progress: bool = True,
                    reader: str = "pyav") -> tuple[ReviewReport, Analysis]:
    """Review material without building an avatar (``dhsdk avatar review``); ``reader`` as in
    :func:`~dhsdk.avatar.material.open_material`."""
    analysis = analyse_material(open_material(source, reader=reader), None, show_progress)
    return review(analysis), analysis


def _roi_corners(centre: np.ndarray, to_canonical: np.ndarray, size: int = 256) -> np.ndarray:
    """(N, 4, 2) frame-pixel corners of the mouth crop centred at canonical ``centre``, per frame."""
    from dhsdk.geometry import apply_affine

    to_crop = mouth_region.canonical_to_crop(centre, size)
    s = size - 1
    corners = np.array([[0, 0], [s, 0], [s, s], [0, s]], np.float64)
    return np.stack([apply_affine(mouth_region.crop_to_frame(to_crop, m), corners) for m in to_canonical])


def _most_open_frame(tmp: Path, offsets: np.ndarray, analysis: Analysis) -> tuple[np.ndarray, np.ndarray]:
    """(RGB frame, (478, 2) mesh) of the written base frame with the widest inner-lip gap."""
    from dhsdk.avatar.framestore import FrameStore
    from dhsdk.geometry import mouth_opening

    track = analysis.track
    index = int(np.argmax(mouth_opening(track.canonical_lips)))
    w, h = analysis.size
    store = FrameStore(tmp / bundle.FRAMES, offsets, (h, w), cache_mb=64)
    return np.array(store[index]), track.landmarks[index].astype(np.float64)


def _write_jpeg(path: Path, image: np.ndarray) -> None:
    import cv2

    if not cv2.imwrite(str(path), np.ascontiguousarray(image[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, 95]):
        raise OSError(f"cannot write {path}")


def create_avatar(source: str | os.PathLike, out: str | os.PathLike, *, force: bool = False,
                  show_progress: bool = True, device: str = "auto", reader: str = "pyav",
                  adapt: bool = True,
                  extend: Callable[[ReviewReport, Analysis, Path], dict] | None = None) -> tuple[Any, ReviewReport]:
    """Build an avatar bundle from a talking video or a photo.

    Args:
        source: the material (mp4/mov/mkv/webm video, or jpg/png/webp photo).
        out: the bundle directory to create; it must not exist unless ``force``.
        force: replace an existing ``out`` (only once the new bundle is complete).
        show_progress: progress bars on stderr.
        device: passed to the returned :class:`~dhsdk.avatar.avatar.Avatar`.
        reader: video decoder, ``"pyav"`` or ``"dali"`` (NVDEC on a GPU).
        adapt: fine-tune the lip model on the presenter's own speech when the footage has
            enough (:func:`adapt_lips`); the outcome is the manifest's ``a2k_adaptation``.
        extend: for material made by another stage (a head swap): called with the review, the
            analysis and the bundle's temporary directory before the verdict is taken; it may add
            checks to the review and files to the directory, and returns extra manifest entries.

    Returns:
        (the loaded Avatar, its review report). The report is also in the bundle
        (``review.json``, ``review.png``).

    Raises:
        InputError: unreadable material, an output directory that exists (without ``force``)
            or cannot be written; :class:`ReviewFailed` when a check failed.
    """
    from dhsdk.atomic import atomic_dir
    from dhsdk.avatar.avatar import Avatar

    material = open_material(source, reader=reader)
    out = Path(out)
    with atomic_dir(out, force=force) as tmp:
        writer = FrameStoreWriter(tmp / bundle.FRAMES)
        try:
            analysis = analyse_material(material, writer.add, show_progress)
        finally:
            offsets = writer.close()
        report = review(analysis)
        extra = extend(report, analysis, tmp) if extend is not None else {}
        if report.verdict == "fail":
            raise ReviewFailed(report)
        write_bundle(tmp, analysis, report, offsets, extra)
        if analysis.material.info.kind == "video":
            adapt_lips(tmp, analysis, adapt, show_progress, report.audio_quality)
        Avatar.load(tmp)  # read it back before it goes into place: an unloadable bundle is never left
    return Avatar.load(out, device=device), report


def adapt_lips(tmp: Path, analysis: Analysis, adapt: bool = True, show_progress: bool = True,
               quality: Any = None) -> dict[str, Any]:
    """Per-person a2k adaptation of a video avatar being built in ``tmp``, recorded in its manifest
    (``quality``: the review's :class:`~dhsdk.avatar.audio_quality.AudioQuality` of the soundtrack,
    measured again when None).

    Writes ``a2k_adaptation`` (``adapted``, a one-line ``reason`` and the numbers) and, when the
    adapted model is kept, ``a2k_model``. Skipped (with the reason) when ``adapt`` is False or the
    training extra (PyTorch) is not installed.

    Returns:
        The ``a2k_adaptation`` entry.
    """
    import importlib.util

    from dhsdk.avatar.avatar import Avatar

    if not adapt:
        result = {"adapted": False, "reason": "skipped (--no-adapt)"}
    elif importlib.util.find_spec("torch") is None:
        result = {"adapted": False, "reason": "per-person lip adaptation needs PyTorch: pip install torch==2.13.0 "
                                              "&& pip install 'dhsdk[train]'"}
    else:
        from dhsdk.train.a2k_adapt import A2K_FILE, auto_adapt

        neutral = Avatar.load(tmp).neutral_lips
        result = auto_adapt(tmp, analysis.track, analysis.audio, neutral, analysis.material.info.path,
                            show_progress=show_progress, quality=quality)
        if result["adapted"]:
            bundle.update_manifest(tmp, a2k_model=A2K_FILE)
    bundle.update_manifest(tmp, a2k_adaptation=result)
    return result


def write_bundle(tmp: Path, analysis: Analysis, report: ReviewReport, offsets: np.ndarray,
                 extra: dict | None = None) -> None:
    """Write everything but the frame store into the bundle directory ``tmp``.

    Args:
        tmp: the bundle being built (its ``frames.jpg`` already written).
        analysis: the material's analysis (with a face track).
        report: its review (not failed).
        offsets: (N + 1,) frame-store offsets.
        extra: more manifest entries (they win over the standard ones: a head swap names its
            stock clip as the source).

    Raises:
        InputError: the frames written and the frames tracked disagree.
    """
    from dhsdk import __version__
    from dhsdk.avatar.review_sheet import save_review_sheet

    track, info = analysis.track, analysis.material.info
    n = len(track.landmarks)
    if len(offsets) != n + 1:
        raise InputError(f"{info.path}: {len(offsets) - 1} frames were written but {n} were tracked; "
                         f"the file may be damaged, export it again")
    neutral = track.neutral_lips()
    centre = mouth_region.crop_centre(neutral)
    report.save(tmp / bundle.REVIEW_JSON)
    save_review_sheet(tmp / bundle.REVIEW_PNG, analysis, report, _roi_corners(centre, track.to_canonical))
    if info.kind == "image":
        loop, fps = IdleLoop("loop", 0, n - 1), track.fps
    else:
        desc = np.nan_to_num(analysis.measures["face_desc"])
        loop, fps = choose_loop(track.to_canonical, track.canonical_lips, info.fps, desc), info.fps
    ref_image, ref_points = analysis.reference or _most_open_frame(tmp, offsets, analysis)
    _write_jpeg(tmp / bundle.REFERENCE, ref_image)
    gap = track.lip_gap
    closed = closed_threshold(gap)
    bundle.write_arrays(tmp, offsets=offsets, landmarks=track.landmarks, to_canonical=track.to_canonical,
                        lips=track.lips, neutral_lips=neutral, lower_face=track.lower_face_canonical(),
                        reference_lips=ref_points[list(LIP_IDS)].astype(np.float32),
                        reference_to_canonical=image_to_canonical(ref_points), lip_gap=gap)
    w, h = analysis.size
    bundle.write_manifest(tmp, {
        "dhsdk_version": __version__,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "source": {"name": info.path.name, "path": str(info.path.resolve()), "sha256": file_sha256(info.path),
                   "kind": info.kind, "width": info.width, "height": info.height, "fps": info.fps,
                   "frames": analysis.frames, "rotation": info.rotation, "codec": info.codec},
        "fps": fps, "num_frames": n, "width": w, "height": h,
        "crop": {"centre": [float(v) for v in centre], "extent": mouth_region.CROP_EXTENT},
        "idle_loop": loop.to_json(),
        "mouth_model": "warp",
        "mouth": {"closed_threshold": closed, "closed_frames": int(np.count_nonzero(gap < closed))},
        "review": report.summary(),
        "files": {"frames": bundle.FRAMES, "arrays": bundle.ARRAYS, "reference": bundle.REFERENCE,
                  "review": bundle.REVIEW_JSON, "review_sheet": bundle.REVIEW_PNG},
        **(extra or {}),
    })
