"""The evaluation's PNG: what a person checks at a glance.

One video: its timeline (mouth opening of the output and, with a reference, of the real
person; the speech envelope; silence shaded grey; frames a check flagged shaded red), the lag
searches (correlation against lag, the chosen peak and the pass band), and the verdict table.
A set: per-clip figures (r with the reference, A/V offset), the pooled lag searches, the
overall verdict table, and the timelines of the worst clips.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from dhsdk.eval import checks as ck
from dhsdk.eval.report import EvalReport, EvalSet
from dhsdk.figures import save_png

COLOURS = {"pass": "#1a8f3c", "warn": "#c07a00", "fail": "#d02020", "skip": "#808080"}
FLAG_COLOURS = {"open_in_silence": "#ff4040", "unclosed": "#ff9900"}
MAX_TIMELINES = 3


def _timeline(ax: Any, report: EvalReport) -> None:
    s = report.info["series"]
    fps = s["fps"]
    opening = np.asarray(s["opening"], np.float64)
    t = np.arange(len(opening)) / fps
    if "silent" in s:
        ax.fill_between(t, 0, 1, where=np.asarray(s["silent"], bool), step="mid", color="#d8d8d8",
                        transform=ax.get_xaxis_transform(), label="silence", lw=0)
    for name, frames in s["flagged"].items():
        if not frames:
            continue
        mask = np.zeros(len(t), bool)
        mask[np.asarray(frames, int)] = True
        ax.fill_between(t, 0, 1, where=mask, step="mid", color=FLAG_COLOURS.get(name, "#ff4040"), alpha=0.35,
                        transform=ax.get_xaxis_transform(), lw=0, label=name.replace("_", " "))
    top = max(float(np.nanmax(opening)) if len(opening) else 0.0, 0.1)
    if "envelope_db" in s:
        env = np.asarray(s["envelope_db"], np.float64)
        scale = top / max(env.max(), 1e-6)
        ax.fill_between(t, 0, env * scale, color="#9ab8e0", alpha=0.6, lw=0, label="speech envelope (dB, scaled)")
    ax.plot(t, opening, color="#1f4e9c", lw=1.3, label="mouth opening (output)")
    if "reference" in s:
        ref = np.asarray(s["reference"], np.float64)
        ax.plot(np.arange(len(ref)) / fps, ref, color="black", lw=1.1, ls="--", label="mouth opening (reference)")
    ax.axhline(report.info["closed_gap"], color="#404040", lw=0.7, ls=":", label="closed below")
    ax.set_xlim(0, max(t[-1] if len(t) else 1.0, 1e-3))
    ax.set_ylim(min(0.0, float(np.nanmin(opening)) if len(opening) else 0.0), top * 1.15)
    ax.set_xlabel("seconds")
    ax.set_ylabel("inner-lip gap (eye distances)")
    ax.set_title(f"{Path(report.source).name}: {report.verdict.upper()}", fontsize=9, loc="left",
                 color=COLOURS[report.verdict])
    ax.legend(fontsize=6, loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=4, frameon=False)


def _curves(ax: Any, report: EvalReport) -> None:
    curves = report.info.get("curves", {})
    styles = {"sync": ("mouth vs sound", "#1f4e9c", ck.AV_OFFSET_MS[0]), "reference": ("output vs reference mouth",
                                                                                       "black", ck.REF_LAG_MS[0])}
    for name, c in curves.items():
        label, colour, band = styles.get(name, (name, "#606060", 0.0))
        ax.plot(c["lags_ms"], c["corr"], "-o", ms=2.5, color=colour, lw=1, label=label)
        ax.axvspan(-band, band, color=colour, alpha=0.06)
    m = report.metrics
    for key, colour in (("av_offset_ms", "#1f4e9c"), ("ref_best_lag_ms", "black")):
        if key in m and m[key] is not None and np.isfinite(m[key]):
            ax.axvline(m[key], color=colour, lw=0.8, ls="--")
    ax.axvline(0, color="#a0a0a0", lw=0.5)
    ax.set_xlabel("lag, ms (> 0: the mouth trails)")
    ax.set_ylabel("Pearson r")
    ax.set_title("lag search", fontsize=9, loc="left")
    if curves:
        ax.legend(fontsize=6, loc="lower right")


def _table(ax: Any, report: EvalReport, title: str) -> None:
    ax.axis("off")
    ax.set_title(title, fontsize=9, loc="left", color=COLOURS[report.verdict])
    rows = report.checks
    for i, c in enumerate(rows):
        y = 1.0 - (i + 0.5) / max(len(rows), 1)
        value = "" if c.value is None else f"{c.value:.3g}"
        ax.text(0.0, y, c.status.upper(), color=COLOURS[c.status], fontsize=7, fontweight="bold", va="center",
                transform=ax.transAxes)
        ax.text(0.05, y, c.name, fontsize=7, va="center", transform=ax.transAxes)
        ax.text(0.15, y, value, fontsize=7, va="center", transform=ax.transAxes)
        ax.text(0.21, y, c.threshold, fontsize=6.5, va="center", color="#404040", transform=ax.transAxes)
        ax.text(0.37, y, c.reason[:140], fontsize=6.5, va="center", transform=ax.transAxes)


def _per_clip(ax: Any, results: EvalSet) -> None:
    names = [Path(c.source).stem for c in results.clips]
    x = np.arange(len(names))
    corr = [c.metrics.get("ref_corr") for c in results.clips]
    off = [c.metrics.get("av_offset_ms") for c in results.clips]
    if any(v is not None for v in corr):
        ax.bar(x - 0.2, [np.nan if v is None else v for v in corr], 0.4, color="#1f4e9c", label="r with reference")
        ax.axhline(ck.CORR[0], color="#1f4e9c", lw=0.7, ls=":")
    ax.set_ylabel("r")
    ax.set_ylim(min(0.0, np.nanmin([v for v in corr if v is not None], initial=0.0)), 1.0)
    ax2 = ax.twinx()
    ax2.plot(x, [np.nan if v is None else v for v in off], "o", color="#c07a00", ms=4, label="A/V offset, ms")
    ax2.axhspan(-ck.AV_OFFSET_MS[0], ck.AV_OFFSET_MS[0], color="#c07a00", alpha=0.07)
    ax2.set_ylabel("A/V offset, ms")
    ax.set_xticks(x, names, rotation=60, fontsize=6, ha="right")
    ax.set_title("per clip", fontsize=9, loc="left")
    ax.legend(fontsize=6, loc="upper left")
    ax2.legend(fontsize=6, loc="upper right")


def save_eval_sheet(path: str | Path, result: EvalReport | EvalSet) -> Path:
    """Write the evaluation's PNG (atomically) for one report or a set."""
    from dhsdk._optional import require

    require("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if isinstance(result, EvalSet):
        worst = sorted(result.clips, key=lambda c: ({"fail": 0, "warn": 1, "pass": 2}[c.verdict],
                                                     -sum(k.status == "fail" for k in c.checks)))[:MAX_TIMELINES]
        overall = result.overall
        rows = 2 + len(worst)
        fig = plt.figure(figsize=(13, 3.0 * rows + 0.6))
        grid = fig.add_gridspec(rows, 2, height_ratios=[2.6, 0.35 * len(overall.checks) + 0.6] + [2.4] * len(worst))
        _per_clip(fig.add_subplot(grid[0, 0]), result)
        _curves(fig.add_subplot(grid[0, 1]), overall)
        _table(fig.add_subplot(grid[1, :]), overall, f"overall of {len(result.clips)} clips: {result.verdict.upper()}")
        for i, clip in enumerate(worst):
            _timeline(fig.add_subplot(grid[2 + i, 0]), clip)
            _curves(fig.add_subplot(grid[2 + i, 1]), clip)
        title, verdict = f"dhsdk eval: {len(result.clips)} clips", result.verdict
    else:
        fig = plt.figure(figsize=(13, 5.6 + 0.22 * len(result.checks)))
        grid = fig.add_gridspec(2, 2, width_ratios=[2.2, 1], height_ratios=[2.6, 0.3 * len(result.checks) + 0.4])
        _timeline(fig.add_subplot(grid[0, 0]), result)
        _curves(fig.add_subplot(grid[0, 1]), result)
        _table(fig.add_subplot(grid[1, :]), result, "checks")
        title, verdict = f"dhsdk eval: {Path(result.source).name}", result.verdict
    fig.suptitle(f"{title}: {verdict.upper()}", fontsize=11, color=COLOURS[verdict])
    return save_png(fig, path, dpi=100)

