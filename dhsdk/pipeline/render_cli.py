"""``dhsdk render``: speech (audio file or text) to a lip-synced mp4 on an avatar.

Everything that can be checked before rendering is checked first, in about a second: the
arguments (fps, size, gain), the output path (not a directory, its directory writable), the
audio (there and decodable); then, once the avatar gives the frame size, the free space for the
expected file. Ctrl-C, SIGTERM or SIGHUP stop the render and remove its temporary file.
"""
from __future__ import annotations

import argparse

from dhsdk import cli_args
from dhsdk.errors import InputError

_TTS_CHARS_PER_S = 12.0   # espeak-ng at its default rate speaks ~14 characters a second; fewer = safer


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--avatar", default="default",
                   help="avatar bundle directory, or 'default' for the bundled avatar (built on first use)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--audio", help="speech to lip-sync: wav, mp3, m4a, ogg, flac, ...")
    src.add_argument("--text", help="text to say through the embedded TTS (espeak-ng)")
    p.add_argument("--voice", default="en-us", help="TTS voice with --text, e.g. en-us, cmn (Mandarin)")
    p.add_argument("-o", "--output", required=True, help="output mp4 (written atomically)")
    p.add_argument("--fps", type=cli_args.fps, help="output frame rate, 1-120 (default: the avatar's)")
    p.add_argument("--size", type=cli_args.size,
                   help="output size WxH up to 4K, e.g. 720x1280 (default: the avatar's)")
    p.add_argument("--mouth", choices=["auto", "warp", "unet"], default="auto",
                   help="mouth renderer (auto: the one the avatar's manifest names)")
    p.add_argument("--gain", type=cli_args.positive("--gain"), default=1.0,
                   help="mouth-openness gain (1 = as predicted)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    p.add_argument("--contact", help="also write a contact-sheet PNG of the result here")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def speech_seconds(audio: str | None, text: str | None) -> float:
    """How long the speech will be: the audio file's duration (read from its header), or an
    estimate for text.

    Raises:
        InputError: the text is empty; the audio file is missing, not decodable or has no audio stream.
    """
    if audio is None:
        if not (text or "").strip():
            raise InputError("the text is empty: give something to say")
        return len(text) / _TTS_CHARS_PER_S
    from dhsdk.audio import audio_seconds

    return audio_seconds(audio)


def _identity(path: str) -> tuple[int, int] | None:
    """(inode, mtime in ns) of ``path``, or None when there is no file: tells a renamed-in output."""
    import os

    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns


def run(args: argparse.Namespace) -> int:
    from dhsdk.atomic import check_output

    check_output(args.output)
    if args.contact:
        check_output(args.contact)
    seconds = speech_seconds(args.audio, args.text)

    from dhsdk.avatar import Avatar
    from dhsdk.pipeline.lipsync import LipSync
    from dhsdk.signals import Interrupted
    from dhsdk.sinks.file import estimate_bytes

    avatar = Avatar.default() if args.avatar == "default" else Avatar.load(args.avatar)
    width, height = args.size or (avatar.width, avatar.height)
    check_output(args.output, estimate_bytes(width, height, args.fps or avatar.fps, seconds))
    sync = LipSync(avatar, mouth=args.mouth, device=args.device, openness_gain=args.gain)
    before = _identity(args.output)
    try:
        summary = sync.render(args.audio, args.output, text=args.text, voice=args.voice, fps=args.fps,
                              size=args.size, contact=args.contact, show_progress=not args.quiet)
    except Interrupted as e:
        done = _identity(args.output) not in (None, before)   # the signal came after the rename
        raise Interrupted(e.signum, f"{e} after {args.output} was complete" if done else
                          f"{e}: {args.output} was not written (its temporary file was removed)") from None
    print(summary)
    if args.contact:
        print(f"contact sheet: {args.contact}")
    return 0
