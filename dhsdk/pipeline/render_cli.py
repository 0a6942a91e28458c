"""``dhsdk render``: speech (audio file or text) to a lip-synced mp4 on an avatar."""
from __future__ import annotations

import argparse

from dhsdk.errors import InputError


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must look like 720x1280 (width x height), got {text!r}") from None
    if w <= 0 or h <= 0 or w % 2 or h % 2:
        raise argparse.ArgumentTypeError(f"size {w}x{h}: both sides must be positive and even (H.264 4:2:0)")
    return w, h


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--avatar", default="default",
                   help="avatar bundle directory, or 'default' for the bundled avatar (built on first use)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--audio", help="speech to lip-sync: wav, mp3, m4a, ogg, flac, ...")
    src.add_argument("--text", help="text to say through the embedded TTS (espeak-ng)")
    p.add_argument("--voice", default="en-us", help="TTS voice with --text, e.g. en-us, cmn (Mandarin)")
    p.add_argument("-o", "--output", required=True, help="output mp4 (written atomically)")
    p.add_argument("--fps", type=float, help="output frame rate (default: the avatar's)")
    p.add_argument("--size", type=_size, help="output size WxH, e.g. 720x1280 (default: the avatar's)")
    p.add_argument("--mouth", choices=["auto", "warp", "unet"], default="auto",
                   help="mouth renderer (auto: the one the avatar's manifest names)")
    p.add_argument("--gain", type=float, default=1.0, help="mouth-openness gain (1 = as predicted)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    p.add_argument("--contact", help="also write a contact-sheet PNG of the result here")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from dhsdk.avatar import Avatar
    from dhsdk.pipeline.lipsync import LipSync

    if args.gain <= 0:
        raise InputError(f"--gain must be positive, got {args.gain}")
    avatar = Avatar.default() if args.avatar == "default" else Avatar.load(args.avatar)
    sync = LipSync(avatar, mouth=args.mouth, device=args.device, openness_gain=args.gain)
    summary = sync.render(args.audio, args.output, text=args.text, voice=args.voice, fps=args.fps,
                          size=args.size, contact=args.contact, show_progress=not args.quiet)
    print(summary)
    if args.contact:
        print(f"contact sheet: {args.contact}")
    return 0
