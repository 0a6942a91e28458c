"""The ``dhsdk`` command line.

Each subcommand lives in its own module exposing ``add_arguments(parser)`` and
``run(args) -> int``; those modules import only argparse-level things at the top, so
``dhsdk --help`` stays fast and heavy imports happen inside ``run``.

Failures a user can act on end with one line on stderr, no traceback: a bad argument (exit 2,
from the parser), a :class:`~dhsdk.errors.DhsdkError` (its ``exit_code``: 2 for bad input, 1
for a run that could not deliver), Ctrl-C, SIGTERM or SIGHUP (128 + the signal's number; see
:mod:`dhsdk.signals`).
"""
from __future__ import annotations

import argparse
import importlib
import signal
import sys

from dhsdk.errors import DhsdkError

# command -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "doctor": ("dhsdk.doctor", "check the installation and say how to fix what is missing"),
    "avatar": ("dhsdk.avatar.cli", "review material and create avatar bundles from a video or photo"),
    "render": ("dhsdk.pipeline.render_cli", "lip-sync speech (audio or text) on an avatar into an mp4"),
    "drive": ("dhsdk.swap.drive_cli", "an avatar following a source video's head pose, blinks and gaze, lip-synced"),
    "live": ("dhsdk.pipeline.live_cli", "an avatar speaking live (wav, stdin text, mic) to file/RTMP/OBS/browser sinks"),
    "host": ("dhsdk.commerce.host_cli", "an unattended live-commerce session: pitch, answer comments, stay compliant"),
    "engines": ("dhsdk.engines.cli", "build, list and clean TensorRT engines (GPU)"),
    "train": ("dhsdk.train.cli", "train the project's models (a2k) and regenerate shipped weights"),
    "bench": ("dhsdk.bench.cli", "benchmark every stage and the live pipeline; compare two runs"),
    "eval": ("dhsdk.eval.cli", "judge output videos by numbers: lip-sync, closure, sharpness, seams; exit 1 on a failure"),
    "serve": ("dhsdk.serve.cli", "the HTTP API, job queue and merchant console (dhsdk serve token create --tenant NAME)"),
}


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (the usage is one ``--help`` away)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    from dhsdk import __version__

    parser = _Parser(prog="dhsdk", description="Real-time lip-synced digital humans.")
    parser.add_argument("--version", action="version", version=f"dhsdk {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        mod = importlib.import_module(module)
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    from dhsdk import signals

    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    previous = {s: signal.getsignal(s) for s in (*signals.STOP_SIGNALS, getattr(signal, "SIGXFSZ", None)) if s}
    signals.install()
    try:
        return int(args._run(args) or 0)
    except DhsdkError as e:
        print(f"dhsdk {args.command}: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt as e:
        print(f"dhsdk {args.command}: {e or 'interrupted'}", file=sys.stderr)
        return getattr(e, "exit_code", 130)
    finally:
        for s, handler in previous.items():
            if handler is not None:
                signal.signal(s, handler)


if __name__ == "__main__":
    sys.exit(main())
