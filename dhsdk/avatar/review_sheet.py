"""The review's contact sheet: what a reviewer would look at, in one PNG.

Top: thumbnails across the clip with the tracked face (lip contours, face outline) and the
mouth ROI drawn on them; frames a failing or warning check points at are framed in red and
labelled. Bottom: the per-frame signals behind the checks (face found, sharpness, brightness,
inner-lip gap with the closed-mouth threshold) with their thresholds, so "why did it fail" is
visible at a glance.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from dhsdk.avatar import review as rv
from dhsdk.avatar.analyze import Analysis
from dhsdk.avatar.mouth_state import closed_threshold
from dhsdk.figures import save_png
from dhsdk.geometry import LIP_IDS

MAX_TILES = 12
OVAL_IDS = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152,
            148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)


def _pick(analysis: Analysis, report: rv.ReviewReport) -> list[tuple[int, np.ndarray, list[str]]]:
    """Thumbnails to show: flagged frames first (nearest stored thumbnail), then evenly spaced."""
    thumbs = analysis.thumbs
    stored = np.array([i for i, _ in thumbs])
    flags: dict[int, list[str]] = {}
    for c in report.checks:
        if c.status in ("warn", "fail"):
            for f in c.frames:
                j = int(np.argmin(np.abs(stored - f)))
                flags.setdefault(j, []).append(c.name)
    chosen = list(flags)[: MAX_TILES // 2]
    rest = [j for j in np.linspace(0, len(thumbs) - 1, min(MAX_TILES, len(thumbs))).round().astype(int)
            if j not in chosen]
    chosen = sorted(set(chosen + rest[: MAX_TILES - len(chosen)]))
    return [(thumbs[j][0], thumbs[j][1], flags.get(j, [])) for j in chosen]


def _draw(ax, image: np.ndarray, index: int, analysis: Analysis, roi: np.ndarray | None, labels: list[str]) -> None:
    ax.imshow(image)
    track, s = analysis.track, analysis.thumb_scale
    if track is not None and index < len(track.landmarks):
        pts = track.landmarks[index] * s
        lips = pts[list(LIP_IDS)]
        for ring in (lips[:20], lips[20:]):
            closed = np.vstack([ring, ring[:1]])
            ax.plot(closed[:, 0], closed[:, 1], "-", color="#00e0ff", lw=0.7)
        oval = pts[list(OVAL_IDS)]
        ax.plot(*np.vstack([oval, oval[:1]]).T, "-", color="#ffe000", lw=0.5)
        if roi is not None:
            quad = roi[index] * s
            ax.plot(*np.vstack([quad, quad[:1]]).T, "--", color="#ff00ff", lw=0.7)
    t = index / analysis.material.info.fps if analysis.material.info.fps else 0.0
    ax.set_title(f"#{index}  {t:.1f} s" + (f"\n{', '.join(labels)}" if labels else ""), fontsize=7,
                 color="red" if labels else "black")
    if labels:
        for side in ax.spines.values():
            side.set_edgecolor("red")
            side.set_linewidth(3)
    ax.set_xticks([])
    ax.set_yticks([])


def save_review_sheet(path: str | Path, analysis: Analysis, report: rv.ReviewReport,
                      roi: np.ndarray | None = None) -> Path:
    """Write the contact sheet PNG (atomically).

    Args:
        path: the PNG to write.
        analysis: the analysis the report was made from.
        report: the review.
        roi: (N, 4, 2) corners of the mouth ROI per frame in output pixels, when known.
    """
    from dhsdk._optional import require

    require("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tiles = _pick(analysis, report)
    cols = min(6, len(tiles))
    rows = int(np.ceil(len(tiles) / cols))
    lines = [f"{c.status.upper()} {c.name}: {c.reason}" for c in report.checks if c.status in ("warn", "fail")][:8]
    text_h = 0.14 * max(len(lines), 1) + 0.1
    fig = plt.figure(figsize=(2.2 * cols + 1, 2.6 * rows + 2.6 + text_h))
    grid = fig.add_gridspec(rows + 2, cols, height_ratios=[2.6] * rows + [text_h, 2.2])
    for k, (index, image, labels) in enumerate(tiles):
        _draw(fig.add_subplot(grid[k // cols, k % cols]), image, index, analysis, roi, labels)
    note = fig.add_subplot(grid[rows, :])
    note.axis("off")
    note.text(0.0, 1.0, "\n".join(lines) or "every check passed", fontsize=7, va="top", ha="left",
              transform=note.transAxes)
    ax = fig.add_subplot(grid[rows + 1, :])
    m, info = analysis.measures, analysis.material.info
    t = np.arange(len(m["brightness"])) / (info.fps or 1.0)
    if len(t) > 1:
        ax.plot(t, m["brightness"], label="face brightness (0..1)", color="#d08000")
        sharp = m["sharpness"] / max(rv.SHARPNESS[0] * 4, 1.0)
        ax.plot(t, sharp, label=f"sharpness / {rv.SHARPNESS[0] * 4:g}", color="#2060c0")
        ax.axhline(rv.SHARPNESS[1] / (rv.SHARPNESS[0] * 4), color="#2060c0", ls=":", lw=0.8)
        if analysis.track is not None:
            gap = analysis.track.lip_gap
            ax.plot(t, 4 * gap[: len(t)], label="lip gap x4", color="#c02060")
            ax.axhline(4 * closed_threshold(gap), color="#c02060", ls=":", lw=0.8)   # closed below
            missing = ~analysis.track.found[: len(t)]
            ax.fill_between(t, 0, 1, where=missing, color="red", alpha=0.2, label="no face", step="mid")
        ax.set_xlabel("seconds")
        ax.set_ylim(0, 1.05)
        ax.legend(fontsize=7, loc="upper right", ncol=4)
    else:
        ax.axis("off")
    fig.suptitle(f"{Path(report.source).name}: review {report.verdict.upper()}", fontsize=11,
                 color={"fail": "red", "warn": "#b07000"}.get(report.verdict, "green"))
    return save_png(fig, path, dpi=110)
