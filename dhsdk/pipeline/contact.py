"""Contact sheet of a rendered clip: face close-ups at chosen times above the audio level
and the mouth opening over time, so a person sees at a glance that the mouth follows speech.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from dhsdk.figures import save_png


def face_box(affine: np.ndarray, crop_size: int, frame_shape: tuple[int, ...], scale: float = 2.2) -> tuple[int, int, int, int]:
    """Square box (x0, y0, x1, y1) around the mouth crop, enlarged to show the whole face.

    Args:
        affine: (2, 3) crop -> frame affine of the mouth crop.
        crop_size: S, the crop side.
        frame_shape: (H, W, ...) of the frame.
        scale: box side relative to the crop's side in the frame; the box is shifted up
            so eyes and mouth are both inside.
    """
    c = (crop_size - 1) / 2.0
    cx, cy = affine[:, :2] @ np.array([c, c]) + affine[:, 2]
    side = float(np.hypot(affine[0, 0], affine[1, 0]) * crop_size * scale)
    cy -= side * 0.18
    h, w = frame_shape[:2]
    side = min(side, h, w)
    x0 = int(np.clip(cx - side / 2, 0, w - side))
    y0 = int(np.clip(cy - side / 2, 0, h - side))
    return x0, y0, x0 + int(side), y0 + int(side)


def save_contact_sheet(path: str | Path, thumbs: Sequence[tuple[np.ndarray, str]], times: np.ndarray,
                       level_db: np.ndarray, opening: np.ndarray, marks: Sequence[float], title: str = "") -> Path:
    """Write the sheet as a PNG (atomically).

    Args:
        thumbs: (RGB uint8 image, label) per close-up, in time order.
        times: (T,) seconds of each video frame.
        level_db: (T,) audio level under each frame, dBFS.
        opening: (T,) rendered mouth opening (canonical units: fraction of the eye distance).
        marks: times of the close-ups, drawn as vertical lines.
        title: the sheet's title.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = min(6, max(1, len(thumbs)))
    rows = (len(thumbs) + cols - 1) // cols
    fig = plt.figure(figsize=(2.4 * cols, 2.6 * rows + 2.4), dpi=100)
    grid = fig.add_gridspec(rows + 1, cols, height_ratios=[2.6] * rows + [2.2])
    for n, (img, label) in enumerate(thumbs):
        ax = fig.add_subplot(grid[n // cols, n % cols])
        ax.imshow(img)
        ax.set_title(label, fontsize=8)
        ax.axis("off")
    ax = fig.add_subplot(grid[rows, :])
    ax.plot(times, opening, color="tab:red", label="mouth opening (rendered)")
    ax.set_ylabel("opening (eye dist.)", color="tab:red")
    ax.set_xlabel("time (s)")
    ax2 = ax.twinx()
    ax2.plot(times, level_db, color="tab:blue", alpha=0.5, label="audio level")
    ax2.set_ylabel("audio level (dBFS)", color="tab:blue")
    for t in marks:
        ax.axvline(t, color="grey", lw=0.6, ls=":")
    if title:
        fig.suptitle(title, fontsize=10)
    return save_png(fig, path, dpi=fig.dpi)
