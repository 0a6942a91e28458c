"""Argument types of the command line: numbers and sizes refused by name when they cannot work.

Each is an ``argparse`` ``type=``: it returns the parsed value or raises
``argparse.ArgumentTypeError`` with a message that says what is accepted, so a bad value fails
in the parser, before any model or avatar is loaded.
"""
from __future__ import annotations

import argparse
import math
from typing import Callable

MAX_PIXELS = 3840 * 2160   # 4K UHD: larger frames are refused (memory and encoder levels)
MAX_SIDE = 4096            # DCI 4K width; also the longest side of a 4K portrait frame is 3840
FPS_RANGE = (1.0, 120.0)   # frames per second a stream or render may have


def _number(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{what} must be a number, got {text!r}") from None
    if math.isnan(value):
        raise argparse.ArgumentTypeError(f"{what} is NaN (not a number): give a finite value")
    if math.isinf(value):
        raise argparse.ArgumentTypeError(f"{what} is infinite: give a finite value")
    return value


def fps(text: str) -> float:
    """A frame rate in :data:`FPS_RANGE` (``25``, ``29.97``)."""
    value = _number(text, "fps")
    lo, hi = FPS_RANGE
    if not lo <= value <= hi:
        raise argparse.ArgumentTypeError(f"fps {text} is outside {lo:g}-{hi:g} frames per second "
                                         f"(e.g. 25 or 30; the default is the avatar's)")
    return value


def positive(what: str) -> Callable[[str], float]:
    """A type accepting finite numbers > 0, naming ``what`` in its message."""

    def parse(text: str) -> float:
        value = _number(text, what)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"{what} must be positive, got {text}")
        return value

    parse.__name__ = what   # argparse names the type in some messages
    return parse


def size(text: str) -> tuple[int, int]:
    """``WIDTHxHEIGHT``: positive, even (H.264 4:2:0), at most 4K (:data:`MAX_PIXELS`, :data:`MAX_SIDE`)."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must look like 720x1280 (width x height), got {text!r}") from None
    if w <= 0 or h <= 0 or w % 2 or h % 2:
        raise argparse.ArgumentTypeError(f"size {w}x{h}: both sides must be positive and even (H.264 4:2:0)")
    if w * h > MAX_PIXELS or max(w, h) > MAX_SIDE:
        raise argparse.ArgumentTypeError(
            f"size {w}x{h} is above 4K ({w * h / 1e6:.1f} megapixels, {w * h * 3 / 1e6:.0f} MB a frame): "
            f"at most {MAX_PIXELS / 1e6:.1f} megapixels with sides up to {MAX_SIDE}, e.g. 3840x2160 or 2160x3840")
    return w, h


def add_sink_arguments(p: argparse.ArgumentParser, example: str = "file:out.mp4") -> None:
    """``--sink`` (repeatable), ``--sink-timeout`` and ``--sink-retry``, shared by the live commands
    (see :class:`dhsdk.sinks.group.SinkGroup`)."""
    p.add_argument("--sink", action="append", default=[], metavar="SPEC",
                   help=f"where frames go, repeatable: {example}, rtmp://host/app/key, obs[:NAME], browser:8080")
    p.add_argument("--sink-timeout", type=positive("--sink-timeout"), default=10.0, metavar="S",
                   help="end the run when a sink has reached nothing for this many seconds since its first "
                        "attempt (default 10)")
    p.add_argument("--sink-retry", action="store_true",
                   help="keep retrying a sink that cannot reach its endpoint (an ingest that starts later); "
                        "the run still fails at the end if it never delivered")
