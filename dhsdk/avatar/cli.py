"""``dhsdk avatar review|create|info``: review material, build an avatar bundle (from material, or a
face photo swapped onto a stock clip), describe one."""
from __future__ import annotations

import argparse
import json
import sys


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Register the ``avatar`` subcommands."""
    sub = p.add_subparsers(dest="avatar_command", metavar="ACTION", required=True)
    r = sub.add_parser("review", help="check a video or photo and say what to fix",
                       description="Review material: every check with its value, threshold, verdict and fix.")
    r.add_argument("input", help="talking video (mp4, mov, mkv, webm) or photo (jpg, png, webp)")
    r.add_argument("--json", help="write the report as JSON here")
    r.add_argument("--sheet", help="write the contact sheet PNG here")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    r.add_argument("--reader", choices=["pyav", "dali"], default="pyav", help="video decoder (dali: NVDEC on a GPU)")
    c = sub.add_parser("create", help="build an avatar bundle from a video or photo",
                       description="Review the material and, if it passes, write an avatar bundle. "
                                   "With --face and --base: put the face of a photo onto a stock presenter clip.")
    c.add_argument("input", nargs="?", help="talking video or photo of the presenter (not with --face/--base)")
    c.add_argument("--face", help="head swap: the face photo (one person, frontal)")
    c.add_argument("--base", help="head swap: the stock presenter video the face goes onto")
    c.add_argument("-o", "--output", required=True, help="bundle directory to create")
    c.add_argument("--force", action="store_true", help="replace an existing output directory")
    c.add_argument("--quiet", action="store_true", help="no progress bar")
    c.add_argument("--reader", choices=["pyav", "dali"], default="pyav", help="video decoder (dali: NVDEC on a GPU)")
    c.add_argument("--no-adapt", action="store_true", help="do not fine-tune the lip model on the presenter's own "
                                                          "speech (done when the footage has >= 20 s of it)")
    i = sub.add_parser("info", help="describe an avatar bundle")
    i.add_argument("bundle", help="bundle directory, or 'default'")


def run(args: argparse.Namespace) -> int:
    """Run the chosen action; exit 0 on success, 1 when the review fails."""
    if args.avatar_command == "review":
        return _review(args)
    if args.avatar_command == "create":
        return _create(args)
    return _info(args)


def _review(args: argparse.Namespace) -> int:
    from dhsdk.avatar.create import review_material
    from dhsdk.avatar.review_sheet import save_review_sheet

    report, analysis = review_material(args.input, show_progress=not args.quiet, reader=args.reader)
    print(report.text())
    if args.json:
        report.save(args.json)
        print(f"report: {args.json}")
    if args.sheet:
        save_review_sheet(args.sheet, analysis, report)
        print(f"contact sheet: {args.sheet}")
    return 1 if report.verdict == "fail" else 0


def _create(args: argparse.Namespace) -> int:
    from dhsdk.avatar.create import ReviewFailed, create_avatar
    from dhsdk.errors import InputError

    swap = args.face is not None or args.base is not None
    if swap and (args.face is None or args.base is None or args.input is not None):
        raise InputError("a head swap takes --face PHOTO and --base VIDEO, and no other input")
    if not swap and args.input is None:
        raise InputError("give the presenter's video or photo, or --face PHOTO --base VIDEO for a head swap")
    try:
        if swap:
            from dhsdk.swap.create import create_swap_avatar

            avatar, report = create_swap_avatar(args.face, args.base, args.output, force=args.force,
                                                show_progress=not args.quiet)
        else:
            avatar, report = create_avatar(args.input, args.output, force=args.force, show_progress=not args.quiet,
                                           reader=args.reader, adapt=not args.no_adapt)
    except ReviewFailed as e:
        print(e.report.text(), file=sys.stderr)
        print("dhsdk avatar create: no avatar written: the material failed its review", file=sys.stderr)
        return 1
    print(report.text())
    if "a2k_adaptation" in avatar.manifest:
        print(f"lip model: {avatar.manifest['a2k_adaptation']['reason']}")
    print(f"avatar: {avatar!r}")
    print(f"review: {avatar.path / 'review.json'}, contact sheet: {avatar.path / 'review.png'}")
    if swap:
        print(f"swap sheet: {avatar.path / avatar.manifest['swap']['sheet']}")
    return 0


def _info(args: argparse.Namespace) -> int:
    from dhsdk.avatar.avatar import Avatar

    avatar = Avatar.default() if args.bundle == "default" else Avatar.load(args.bundle)
    m = avatar.manifest
    print(repr(avatar))
    print(json.dumps({k: m[k] for k in ("source", "idle_loop", "crop", "mouth", "review", "mouth_model",
                                                         "a2k_model") if k in m},
                     indent=2, ensure_ascii=False))
    return 0
