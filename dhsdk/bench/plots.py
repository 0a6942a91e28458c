"""PNG plots of a ``dhsdk bench`` result (matplotlib, Agg backend, written atomically).

- :func:`latency_cdf`: cumulative distribution of per-frame processing time and audio-in ->
  frame-out latency, one curve per mouth model;
- :func:`fps_vs_streams`: aggregate rendered fps and the worst stream's late fraction against
  the number of concurrent streams (whole counts), every mouth model at the 25 and 30 fps
  targets, with the 1 % limit.

A plot with no data says so in the figure instead of being skipped, so a run always has both files.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from dhsdk.bench.live import LATE_LIMIT
from dhsdk.figures import save_png


def _figure(ncols: int, width: float = 6.0):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(1, ncols, figsize=(width * ncols, 4.2), squeeze=False)


def _empty(ax, what: str) -> None:
    ax.text(0.5, 0.5, f"no {what} measured\n(see the JSON for the reason)", ha="center", va="center",
            transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])


def latency_cdf(doc: dict[str, Any], path: str | Path) -> Path:
    """Write the latency CDF plot of ``doc`` to ``path``."""
    fig, axes = _figure(2)
    titles = {"frame_ms": "per-frame processing", "latency_ms": "audio-in -> frame-out latency"}
    for ax, (key, title) in zip(axes[0], titles.items()):
        curves = {m: np.sort(np.asarray(s[key], np.float64)) for m, s in doc["samples"].items() if s.get(key)}
        if not curves:
            _empty(ax, title)
        for m, v in curves.items():
            ax.plot(v, np.arange(1, len(v) + 1) / len(v), label=f"{m} (p50 {np.percentile(v, 50):.1f}, "
                                                               f"p99 {np.percentile(v, 99):.1f} ms)")
        ax.set(title=f"{title} ({doc['config']['device']})", xlabel="ms", ylabel="fraction of frames")
        if curves:
            ax.grid(alpha=0.3)
            ax.legend(loc="lower right", fontsize=8)
    return save_png(fig, path, dpi=90)


def fps_vs_streams(doc: dict[str, Any], path: str | Path) -> Path:
    """Write the fps-vs-streams plot of ``doc`` to ``path``: aggregate rendered fps and the
    worst stream's late fraction against the number of concurrent streams."""
    fig, axes = _figure(2)
    ax_fps, ax_late = axes[0]
    plotted = False
    for m, e in doc["end_to_end"].items():
        for fps, s in (e.get("streams") or {}).items():
            runs = s["runs"]
            if not runs:
                continue
            n = [r["streams"] for r in runs]
            style = "o-" if fps == "25" else "s--"
            label = f"{m} @ {fps} fps (held {s['held']})"
            ax_fps.plot(n, [r["rendered_fps"] for r in runs], style, label=label)
            ax_late.plot(n, [100 * r["late_frac_max"] for r in runs], style, label=label)
            plotted = True
    if not plotted:
        _empty(ax_fps, "concurrent streams")
        _empty(ax_late, "concurrent streams")
        return save_png(fig, path, dpi=90)
    device = doc["config"]["device"]
    counts = sorted({r["streams"] for e in doc["end_to_end"].values() for s in (e.get("streams") or {}).values()
                     for r in s["runs"]})
    ax_fps.set(title=f"rendered fps, all streams ({device})", xlabel="concurrent streams", ylabel="frames/s")
    ax_late.axhline(100 * LATE_LIMIT, color="r", lw=0.8, ls=":", label="1 % limit")
    ax_late.set_yscale("symlog", linthresh=1.0)
    ax_late.set_ylim(bottom=0)
    ax_late.set(title=f"worst stream: late or repeated frames ({device})", xlabel="concurrent streams",
                ylabel="% of frames")
    for ax in (ax_fps, ax_late):
        _stream_axis(ax, counts)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return save_png(fig, path, dpi=90)


def _stream_axis(ax: Any, counts: list[int]) -> None:
    """Stream counts are whole numbers: ticks at the counts tried, on a log2 axis when they span
    a factor of 8 or more (a sweep doubles)."""
    if counts[-1] >= 8 * counts[0]:
        ax.set_xscale("log", base=2)
    ax.set_xticks(counts)
    ax.set_xticklabels([str(n) for n in counts])
    ax.minorticks_off()
