"""``dhsdk drive``: an avatar following a source video's head pose, brows, blinks and gaze, with
its own mouth lip-synced to the driver's audio (or to given speech), into an mp4."""
from __future__ import annotations

import argparse
import json


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Register the ``drive`` options."""
    p.add_argument("--avatar", default="default",
                   help="avatar bundle directory, or 'default' for the bundled avatar (built on first use)")
    p.add_argument("--driver", required=True, help="source video whose face drives the avatar")
    p.add_argument("-o", "--output", required=True, help="output mp4 (written atomically)")
    speech = p.add_mutually_exclusive_group()
    speech.add_argument("--audio", help="speech for the mouth (default: the driver's own audio; silence if none)")
    speech.add_argument("--text", help="text for the mouth, through the embedded TTS (espeak-ng)")
    p.add_argument("--voice", default="en-us", help="TTS voice with --text")
    p.add_argument("--mouth", choices=["auto", "warp", "unet"], default="auto", help="mouth renderer")
    p.add_argument("--head-motion", type=float, default=1.0,
                   help="share of the driver's head roll, scale and position passed on (0: the avatar stays "
                        "in place; turns, nods, brows, blinks and gaze always follow)")
    p.add_argument("--report", help="also re-track the output and write how well it follows the driver "
                                    "(blinks, head turns, gaze) as JSON here")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    """Drive, write the mp4, optionally measure it."""
    from dhsdk.errors import InputError
    from dhsdk.swap.drive import Driver

    if not 0.0 <= args.head_motion <= 2.0:
        raise InputError(f"--head-motion must be between 0 and 2, got {args.head_motion}")
    driver = Driver(args.avatar, mouth=args.mouth, head_motion=args.head_motion)
    result = driver.render(args.driver, args.output, args.audio, text=args.text, voice=args.voice,
                           show_progress=not args.quiet)
    print(f"{result['path']}: {result['frames']} frames in {result['seconds']:.1f} s")
    if args.report:
        from dhsdk.atomic import atomic_file
        from dhsdk.swap import metrics

        scores = metrics.drive_scores(metrics.video_meshes(args.driver), metrics.video_meshes(args.output))
        with atomic_file(args.report) as tmp:   # NaN (no blink to find, no motion to follow) is null
            tmp.write_text(json.dumps({k: None if v != v else v for k, v in scores.items()}, indent=2) + "\n")
        print(" ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in scores.items()))
        print(f"report: {args.report}")
    return 0
