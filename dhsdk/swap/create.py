"""``create_swap_avatar``: one face photo on a stock presenter clip, as a reviewed avatar.

The photo's face is pasted into every frame of the stock clip (:func:`dhsdk.swap.video.swap_video`),
and the swapped clip is then material like any other: :func:`dhsdk.avatar.create.create_avatar`
reviews it (with the swap's own checks added: identity, seam, flicker), tracks it, picks the idle
loop and writes the bundle, which lip-syncs like any avatar. The swapped clip is an intermediate
in a temporary directory beside the output; the bundle records the photo and the stock clip it
came from (``manifest["swap"]``), the swap's contact sheet (``swap.png``), and the photo's mesh
with the stock face's neutral shape (``swap.npz``: ``dhsdk eval`` judges the identity of renders
with them). A failure at any step leaves nothing behind.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from dhsdk.errors import InputError
from dhsdk.swap.compose import SwapFace
from dhsdk.swap.video import OUTPUT_SHORT_SIDE

SHEET = "swap.png"
ARRAYS = "swap.npz"     # the photo's mesh and the stock face's neutral shape, for dhsdk eval


def _check_output(out: Path, force: bool) -> None:
    """Refuse an output the bundle could not be written to, before the long work starts."""
    if out.exists() and not force:
        raise InputError(f"{out} already exists: choose another output directory or pass --force to replace it")
    if not out.parent.is_dir():
        raise InputError(f"cannot write {out}: the directory {out.parent} does not exist "
                         f"(create it first, e.g. mkdir -p {out.parent})")


def _file_facts(path: Path) -> dict[str, Any]:
    from dhsdk.paths import file_sha256

    return {"name": path.name, "path": str(path.resolve()), "sha256": file_sha256(path)}


def create_swap_avatar(face: str | os.PathLike | np.ndarray | SwapFace, base: str | os.PathLike,
                       out: str | os.PathLike, *, force: bool = False, show_progress: bool = True,
                       device: str = "auto", short_side: int = OUTPUT_SHORT_SIDE) -> tuple[Any, Any]:
    """Build an avatar with the face of ``face`` on the stock presenter of ``base``.

    Args:
        face: the face photo (path or (H, W, 3) uint8 RGB), or a prepared :class:`SwapFace`.
        base: the stock presenter clip (body, gestures, lighting and head motion come from it).
        out: the bundle directory to create.
        force: replace an existing ``out`` (only once the new bundle is complete).
        show_progress: progress bars on stderr.
        device: passed to the returned :class:`~dhsdk.avatar.avatar.Avatar`.
        short_side: a stock clip whose short side is smaller is upscaled to it (720p by default:
            the photo's face keeps its detail, and the avatar meets the review's resolution floor).

    Returns:
        (the loaded Avatar, its review report, the swap checks included).

    Raises:
        InputError: a photo with no face or several, a stock clip with no usable face, more
            than one face or a face too small, an output that exists (without ``force``);
            :class:`~dhsdk.avatar.create.ReviewFailed` when the swapped material fails its review.
    """
    from dhsdk.avatar.create import create_avatar
    from dhsdk.avatar.material import open_material
    from dhsdk.swap.quality import swap_checks
    from dhsdk.swap.sheet import save_swap_sheet
    from dhsdk.swap.source import face_from_photo
    from dhsdk.swap.video import swap_video

    out, base = Path(out), Path(base)
    _check_output(out, force)
    prepared = face if isinstance(face, SwapFace) else face_from_photo(face)
    stock_info = open_material(base).info
    with tempfile.TemporaryDirectory(prefix=f".{out.name}.swap-", dir=out.parent) as work:
        material = Path(work) / f"{base.stem}-swapped.mp4"
        run = swap_video(prepared, base, material, show_progress, short_side=short_side)

        def extend(report, analysis, bundle_dir: Path) -> dict:
            checks, numbers = swap_checks(run, analysis, prepared.points)
            report.checks.extend(checks)
            report.source = f"{prepared.name} swapped onto {base}"
            title = f"{prepared.name} on {base.name}:  " + "  ".join(
                f"{c.name} {c.status.upper()} ({c.value:.2f})" for c in checks if c.value is not None)
            save_swap_sheet(bundle_dir / SHEET, prepared.image, prepared.points, run.samples, title)
            np.savez(bundle_dir / ARRAYS, photo=prepared.points[:478].astype(np.float32),
                     stock_neutral=run.stock.neutral().astype(np.float32))
            face_facts = ({"name": prepared.name} if not isinstance(face, (str, os.PathLike))
                          else _file_facts(Path(face)))
            source = {**_file_facts(base), "kind": "video", "width": stock_info.width, "height": stock_info.height,
                      "fps": stock_info.fps, "frames": run.frames, "rotation": stock_info.rotation,
                      "codec": stock_info.codec}
            swap = {"face": face_facts, "base": _file_facts(base), "size": list(run.size), "scale": run.scale,
                    "ms_per_frame": round(run.ms_per_frame, 2), "sheet": SHEET, "arrays": ARRAYS,
                    **{k: {n: round(float(v), 4) for n, v in d.items()} for k, d in numbers.items()}}
            return {"source": source, "swap": swap}

        # adapt=False: the stock clip's speech (if any) belongs to another mouth; the material has none
        return create_avatar(material, out, force=force, show_progress=show_progress, device=device, adapt=False,
                             extend=extend)
