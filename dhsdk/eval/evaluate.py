"""Evaluate output videos: track them, run every check group, and report.

>>> report = evaluate("out.mp4", reference="real.mp4", avatar="avatars/anna", text="bin blue at f two now")
>>> report.verdict, report.metrics["av_offset_ms"]
>>> results = evaluate_set(["a.mp4", "b.mp4"], references=["a_real.mp4", "b_real.mp4"])
>>> results.overall.metrics["ref_corr"]        # mean over the clips

A video or reference may be given as a path or as an already tracked
:class:`~dhsdk.eval.lipsync.MouthTrack` (a benchmark that compares several models with the same
references tracks each reference once).
"""
from __future__ import annotations

import os
from typing import Any, Sequence

import numpy as np

from dhsdk.errors import InputError
from dhsdk.eval.checks import CLOSED_GAP, GROUPS, CheckGroup, EvalClip, closed_threshold
from dhsdk.eval.lipsync import MouthTrack, mouth_track
from dhsdk.eval.report import EvalReport, EvalSet

Source = str | os.PathLike | MouthTrack


def _track(source: Source, show_progress: bool) -> MouthTrack:
    return source if isinstance(source, MouthTrack) else mouth_track(source, show_progress=show_progress)


def load_avatar(avatar: Any) -> Any:
    """An :class:`~dhsdk.avatar.Avatar` from a bundle path, ``"default"``, an Avatar, or None."""
    if avatar is None or not isinstance(avatar, (str, os.PathLike)):
        return avatar
    from dhsdk.avatar import Avatar

    return Avatar.default() if str(avatar) == "default" else Avatar.load(avatar)


def load_clip(video: Source, reference: Source | None = None, avatar: Any = None, text: str | None = None,
              align: str | os.PathLike | None = None, show_progress: bool = False) -> EvalClip:
    """Track a video (and its reference) and gather what the checks need.

    Args:
        video: the output video (path or :class:`MouthTrack`).
        reference: a video of the real person saying the same audio (path or track).
        avatar: the avatar it was rendered from (bundle path, ``"default"`` or an Avatar).
        text: the transcript (force-aligned for p/b/m timings).
        align: a GRID ``.align`` word file or a phone table (:mod:`dhsdk.eval.closure`).
    """
    from dhsdk.eval.closure import load_phones
    from dhsdk.eval.soundtrack import speech_envelope

    track = _track(video, show_progress)
    ref = _track(reference, show_progress) if reference is not None else None
    av = load_avatar(avatar)
    envelope = speech_envelope(track.pcm, track.fps, track.frames) if track.pcm is not None else None
    phones = load_phones(track.pcm, text, align) if (text is not None or align is not None) else None
    gap = closed_threshold(av) if av is not None else CLOSED_GAP
    return EvalClip(track, envelope, ref, av, phones, gap)


def _series(clip: EvalClip, measures: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Per-frame series and lag curves for the sheet (lists, JSON-ready)."""
    t = clip.track
    out: dict[str, Any] = {"fps": t.fps, "opening": t.opening.tolist(), "found": t.found.tolist()}
    if clip.reference is not None:
        from dhsdk.eval.lipsync import at_rate

        out["reference"] = at_rate(clip.reference, t.fps)[0].tolist()
    if clip.envelope is not None:
        out["envelope_db"] = clip.envelope.envelope.tolist()
        out["silent"] = clip.envelope.silent.tolist()
    out["flagged"] = {key.lstrip("_"): np.flatnonzero(value).tolist() for m in measures.values()
                      for key, value in m.items()
                      if key.startswith("_") and isinstance(value, np.ndarray) and value.dtype == bool}
    return out


def _curves(measures: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The lag searches of the groups that made one, JSON-ready."""
    return {name: {"lags_ms": (1000.0 * m["_curve"].lags / m["_curve"].fps).tolist(), "corr": m["_curve"].corr.tolist()}
            for name, m in measures.items() if "_curve" in m}


def _metrics(measures: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {k: v for m in measures.values() for k, v in m.items() if not k.startswith("_")}


def _report(source: str, kind: str, groups: Sequence[CheckGroup], measures: dict[str, dict[str, Any]],
            info: dict[str, Any]) -> EvalReport:
    checks, names = [], {}
    for g in groups:
        made = g.grade(measures[g.name])
        names[g.name] = [c.name for c in made]
        checks += made
    return EvalReport(source, kind, checks, {**info, "groups": names, "metrics": _metrics(measures)})


def _clip_info(clip: EvalClip, phones_given: bool) -> dict[str, Any]:
    t = clip.track
    return {"fps": t.fps, "frames": t.frames, "duration": round(t.duration, 3), "size": list(t.size),
            "face_found": float(t.found.mean()), "has_audio": t.pcm is not None, "closed_gap": clip.closed_gap,
            "reference": str(clip.reference.path) if clip.reference is not None else None,
            "avatar": str(clip.avatar.path) if clip.avatar is not None else None,
            "phones": len(clip.phones) if phones_given and clip.phones is not None else None}


def evaluate_clip(clip: EvalClip, groups: Sequence[CheckGroup] | None = None) -> tuple[EvalReport, dict[str, dict]]:
    """Run ``groups`` (default :data:`~dhsdk.eval.checks.GROUPS`) on a loaded clip.

    Returns:
        (the report, each group's raw measures, for pooling with :func:`pool`).
    """
    groups = list(GROUPS if groups is None else groups)
    measures = {g.name: g.measure(clip) for g in groups}
    info = _clip_info(clip, clip.phones is not None)
    info["series"] = _series(clip, measures)
    info["curves"] = _curves(measures)
    return _report(str(clip.track.path), "eval", groups, measures, info), measures


def evaluate(video: Source, reference: Source | None = None, avatar: Any = None, text: str | None = None,
             align: str | os.PathLike | None = None, groups: Sequence[CheckGroup] | None = None,
             show_progress: bool = False) -> EvalReport:
    """Evaluate one output video (see :func:`load_clip` for the arguments and
    :mod:`dhsdk.eval.checks` for the checks)."""
    return evaluate_clip(load_clip(video, reference, avatar, text, align, show_progress), groups)[0]


def pool(groups: Sequence[CheckGroup], measures: list[dict[str, dict]], source: str) -> EvalReport:
    """The overall report of several clips' measures (each group pools its own)."""
    pooled = {g.name: g.pool([m[g.name] for m in measures]) for g in groups}
    return _report(source, "set", groups, pooled, {"clips": len(measures), "curves": _curves(pooled)})


def _per_clip(values: Sequence[Any] | Any, n: int, what: str) -> list[Any]:
    """One value per clip from a list of n, or the same value for all."""
    if isinstance(values, (list, tuple)):
        if len(values) != n:
            raise InputError(f"{len(values)} {what} for {n} videos: give one per video, in the same order")
        return list(values)
    return [values] * n


def evaluate_set(videos: Sequence[Source], references: Sequence[Source] | None = None, avatar: Any = None,
                 texts: Sequence[str | None] | None = None, aligns: Sequence[Any] | None = None,
                 groups: Sequence[CheckGroup] | None = None, show_progress: bool = False) -> EvalSet:
    """Evaluate several output videos (e.g. a benchmark's test sentences) and pool them.

    Args:
        videos: output videos (paths or tracks).
        references: one reference per video, in the same order, or None.
        avatar: the avatar all were rendered from, or None.
        texts: one transcript per video (or None entries), or None.
        aligns: one alignment file per video (or None entries), or None.
        groups: check groups (default :data:`~dhsdk.eval.checks.GROUPS`).

    Returns:
        An :class:`EvalSet`: per-clip reports and the overall one (mean r over clips, lags of the
        pooled lag curves, shares over all frames, medians of the picture ratios).
    """
    if not videos:
        raise InputError("no videos to evaluate: give at least one")
    n = len(videos)
    groups = list(GROUPS if groups is None else groups)
    refs = _per_clip(references, n, "references")
    texts_, aligns_ = _per_clip(texts, n, "transcripts"), _per_clip(aligns, n, "alignments")
    av = load_avatar(avatar)
    reports, measures = [], []
    from dhsdk.progress import progress

    for video, ref, text, al in progress(list(zip(videos, refs, texts_, aligns_)), desc="evaluating", unit="clip",
                                         enabled=show_progress and n > 1):
        report, m = evaluate_clip(load_clip(video, ref, av, text, al), groups)
        reports.append(report)
        measures.append(m)
    return EvalSet(reports, pool(groups, measures, f"{n} clip{'s' if n != 1 else ''}"))


__all__ = ["evaluate", "evaluate_set", "evaluate_clip", "load_clip", "load_avatar", "pool"]
