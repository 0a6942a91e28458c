"""The swap's contact sheet: the photo, then stock frames above the same frames swapped, face
close-ups and whole frames, with the swap's numbers: whether the identity came across and the
seam is invisible is judged at a glance."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from dhsdk.figures import save_png

CLOSE_UP_PAD = 0.35   # close-ups extend this share of the face's size beyond its mesh


def _close_up(image: np.ndarray, points: np.ndarray) -> np.ndarray:
    from dhsdk.swap.raster import bounding_box

    size = float(np.ptp(points, 0).max())
    x0, y0, x1, y1 = bounding_box(points, image.shape, pad=int(CLOSE_UP_PAD * size))
    return image[y0:y1, x0:x1]


def save_swap_sheet(path: str | Path, photo: np.ndarray, photo_points: np.ndarray, samples: list,
                    title: str) -> Path:
    """Write the sheet PNG (atomically).

    Args:
        path: the PNG to write.
        photo: (H, W, 3) uint8 the photo (mouth closed, as pasted).
        photo_points: (478, 2) its mesh.
        samples: (frame index, stock frame, swapped frame, stock mesh, swapped mesh) tuples.
        title: a line of numbers for the top.
    """
    from dhsdk._optional import require

    require("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = len(samples) + 1
    fig, axes = plt.subplots(3, cols, figsize=(2.4 * cols, 8.2), squeeze=False)
    axes[0, 0].imshow(_close_up(photo, photo_points))
    axes[0, 0].set_title("photo", fontsize=8)
    for ax in axes[1:, 0]:
        ax.axis("off")
    for j, (index, stock, swapped, stock_points, points) in enumerate(samples, start=1):
        both = np.concatenate([stock_points, points])
        axes[0, j].imshow(_close_up(stock, both))
        axes[0, j].set_title(f"stock #{index}", fontsize=8)
        axes[1, j].imshow(_close_up(swapped, both))
        axes[1, j].set_title(f"swapped #{index}", fontsize=8)
        axes[2, j].imshow(swapped)
        axes[2, j].set_title("whole frame", fontsize=8)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(title, fontsize=9)
    return save_png(fig, path, dpi=100)
