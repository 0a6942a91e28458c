"""For tests that start a child process and signal it: the child's stop signals at their
defaults (a ``preexec_fn``)."""
from __future__ import annotations

import signal


def default_signals() -> None:
    """In the child: the stop signals at their defaults, whatever the test run was started with
    (under ``nohup`` or a shell's ``&`` SIGHUP or SIGINT arrive ignored, and a program keeps
    what it was started to ignore, so the child would never see them)."""
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, signal.SIG_DFL)
