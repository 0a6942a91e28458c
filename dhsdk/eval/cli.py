"""``dhsdk eval``: judge output videos by numbers (lip-sync, closure, picture), exit 1 on a failure.

    dhsdk eval out.mp4 [--reference real.mp4] [--avatar DIR] [--text "..." | --align FILE]
                       [--json report.json] [--sheet report.png]
    dhsdk eval a.mp4 b.mp4 --reference a_real.mp4 b_real.mp4 --align a.align b.align
    dhsdk eval renders/ --reference grid_s1/ --align grid_s1/     # pair files by name

Several videos are evaluated one by one and pooled into an overall verdict. A directory stands
for its videos (``.mp4 .mov .mkv .webm``); with a directory of outputs, ``--reference`` and
``--align`` may be directories too, and each output is paired with the file of the same name
(stem) there (``.align`` first, then ``.tsv``/``.txt`` for alignments).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from dhsdk.errors import InputError

VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".webm")
ALIGN_SUFFIXES = (".align", ".tsv", ".txt")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Register the ``eval`` options."""
    p.add_argument("videos", nargs="+", help="output video(s) to judge, or a directory of them")
    p.add_argument("--reference", nargs="+", help="video(s) of the real person saying the same audio, one per "
                   "output in order, or a directory (paired by file name)")
    p.add_argument("--avatar", help="the avatar bundle the videos were rendered from ('default' for the bundled "
                   "one): enables sharpness and seam, and its own closed-mouth threshold")
    words = p.add_mutually_exclusive_group()
    words.add_argument("--text", help="the transcript (one video): force-aligned for the p/b/m closure check")
    words.add_argument("--align", nargs="+", help="GRID .align word file(s) or phone table(s) (start end label, "
                       "seconds), one per output, or a directory (paired by file name)")
    p.add_argument("--json", help="write the report as JSON here")
    p.add_argument("--sheet", help="write the PNG (curves, flagged frames, verdicts) here")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _videos(items: list[str]) -> list[Path]:
    out: list[Path] = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES)
            if not found:
                raise InputError(f"{path} holds no video ({', '.join(VIDEO_SUFFIXES)})")
            out += found
        elif not path.is_file():
            raise InputError(f"video not found: {path}")
        else:
            out.append(path)
    return out


def _paired(items: list[str] | None, videos: list[Path], what: str, suffixes: tuple[str, ...]) -> list[Path] | None:
    """One file per video: the list as given, or from a directory by the videos' stems."""
    if not items:
        return None
    if len(items) == 1 and Path(items[0]).is_dir():
        folder = Path(items[0])
        out = []
        for v in videos:
            hit = next((folder / (v.stem + s) for s in suffixes if (folder / (v.stem + s)).is_file()), None)
            if hit is None:
                raise InputError(f"no {what} for {v.name} in {folder} (looked for {v.stem} with "
                                 f"{', '.join(suffixes)})")
            out.append(hit)
        return out
    if len(items) != len(videos):
        raise InputError(f"{len(items)} {what} file(s) for {len(videos)} video(s): give one per video in the same "
                         f"order, or a directory")
    return [Path(i) for i in items]


def run(args: argparse.Namespace) -> int:
    """Evaluate, print the verdicts, write JSON/PNG; 1 when a check failed."""
    from dhsdk.eval.evaluate import evaluate, evaluate_set
    from dhsdk.eval.sheet import save_eval_sheet

    videos = _videos(args.videos)
    refs = _paired(args.reference, videos, "reference", VIDEO_SUFFIXES)
    aligns = _paired(args.align, videos, "alignment", ALIGN_SUFFIXES)
    if args.text is not None and len(videos) > 1:
        raise InputError("--text is one transcript: with several videos give --align files instead")
    show = not args.quiet
    if len(videos) == 1:
        result = evaluate(videos[0], refs[0] if refs else None, args.avatar, args.text,
                          aligns[0] if aligns else None, show_progress=show)
    else:
        result = evaluate_set(videos, refs, args.avatar, None, aligns, show_progress=show)
    print(result.text())
    if args.json:
        result.save(args.json)
        print(f"report: {args.json}")
    if args.sheet:
        save_eval_sheet(args.sheet, result)
        print(f"sheet: {args.sheet}")
    return 1 if result.verdict == "fail" else 0
