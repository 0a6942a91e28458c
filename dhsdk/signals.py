"""Stop signals: SIGTERM and SIGHUP end a command like Ctrl-C (SIGINT) does.

``docker stop``, systemd and a closed terminal send SIGTERM or SIGHUP, which by default kill
the process on the spot (a live file sink then leaves an unplayable temporary file). The CLI
calls :func:`install` once: each of the three signals then raises :class:`Interrupted` in the
main thread, so ``with`` blocks unwind (temporary outputs are removed) and the CLI exits with
``128 + signal number``. A live command wraps its frame loop in :func:`graceful`: there the
first signal only asks the loop to stop (so sinks finish their outputs between two frames,
never in the middle of one) and a second one raises as usual.
"""
from __future__ import annotations

import contextlib
import signal
import threading
from typing import Iterator

STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


class Interrupted(KeyboardInterrupt):
    """A stop signal arrived.

    Args:
        signum: the signal's number.
        message: what was (not) done, for the one-line report; the default names the signal.
    """

    def __init__(self, signum: int = signal.SIGINT, message: str | None = None):
        self.signum = int(signum)
        super().__init__(message or f"interrupted by {signal_name(self.signum)}")

    @property
    def exit_code(self) -> int:
        """The shell's convention for a process ended by a signal: 128 + its number."""
        return 128 + self.signum


def signal_name(signum: int) -> str:
    """``"SIGTERM"`` for 15, and so on."""
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def _raise(signum: int, _frame: object) -> None:
    raise Interrupted(signum)


def install() -> None:
    """Make SIGINT, SIGTERM and SIGHUP raise :class:`Interrupted` (main thread only).

    A signal the process was started with ignored (``nohup`` ignores SIGHUP; a shell's ``&``
    ignores SIGINT) stays ignored. SIGXFSZ is ignored too, so a file size limit (``ulimit -f``)
    surfaces as a write error (EFBIG) that the sinks report, instead of killing the process.
    """
    for signum in STOP_SIGNALS:
        if signal.getsignal(signum) is not signal.SIG_IGN:
            signal.signal(signum, _raise)
    if hasattr(signal, "SIGXFSZ"):
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


class StopRequest:
    """Set by the first stop signal inside :func:`graceful` (any thread may read it)."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.signum: int | None = None

    def is_set(self) -> bool:
        """True once a stop signal arrived."""
        return self.event.is_set()

    @property
    def name(self) -> str:
        """The signal's name (``"SIGTERM"``), once one arrived."""
        return signal_name(self.signum or signal.SIGINT)

    def interrupted(self, message: str | None = None) -> Interrupted:
        """The :class:`Interrupted` to report for the signal that arrived."""
        return Interrupted(self.signum or signal.SIGINT, message)


@contextlib.contextmanager
def graceful() -> Iterator[StopRequest]:
    """Inside the block the first stop signal sets the yielded :class:`StopRequest`; a second
    one raises :class:`Interrupted`. Signals the process ignores stay ignored; outside the main
    thread (where Python cannot set handlers) the block runs with the handlers as they are."""
    request = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield request
        return

    def first(signum: int, _frame: object) -> None:
        if request.is_set():
            raise Interrupted(signum)
        request.signum = signum
        request.event.set()

    previous = {s: h for s in STOP_SIGNALS if (h := signal.getsignal(s)) not in (signal.SIG_IGN, None)}
    for s in previous:
        signal.signal(s, first)
    try:
        yield request
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
