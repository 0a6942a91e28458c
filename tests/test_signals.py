"""dhsdk.signals, in fresh interpreters (signals are per process): SIGTERM and SIGHUP end a
command like Ctrl-C; inside ``graceful`` the first one only asks the loop to stop."""
from __future__ import annotations

import signal
import subprocess
import sys

import pytest
from child_signals import default_signals

from dhsdk.signals import Interrupted, signal_name

_RAISE = """
import os, signal, sys, time
from dhsdk import signals
signals.install()
try:
    os.kill(os.getpid(), getattr(signal, sys.argv[1]))
    time.sleep(5)
except signals.Interrupted as e:
    print(e, e.exit_code)
"""

_GRACEFUL = """
import os, signal, time
from dhsdk import signals
signals.install()
with signals.graceful() as stop:
    os.kill(os.getpid(), signal.SIGTERM)
    for _ in range(100):
        if stop.is_set():
            break
        time.sleep(0.01)
    print("asked to stop by", stop.name)
    try:
        os.kill(os.getpid(), signal.SIGHUP)
        time.sleep(5)
    except signals.Interrupted as e:
        print("second signal:", e)
"""

_IGNORED = """
import os, signal, time
from dhsdk import signals
signals.install()
os.kill(os.getpid(), signal.SIGHUP)
time.sleep(0.2)
print("still running", signal.getsignal(signal.SIGXFSZ) is signal.SIG_IGN)
"""


def python(code: str, *args: str, **kw) -> subprocess.CompletedProcess:
    kw.setdefault("preexec_fn", default_signals)
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=30, **kw)


@pytest.mark.parametrize("name,code", [("SIGINT", 130), ("SIGTERM", 143), ("SIGHUP", 129)])
def test_each_stop_signal_raises_interrupted_with_the_shell_exit_code(name, code):
    res = python(_RAISE, name)
    assert res.stdout.strip() == f"interrupted by {name} {code}", res.stderr


def test_graceful_turns_the_first_signal_into_a_request_and_the_second_into_an_interrupt():
    res = python(_GRACEFUL)
    assert res.stdout.splitlines() == ["asked to stop by SIGTERM", "second signal: interrupted by SIGHUP"], res.stderr


def test_a_signal_the_process_was_started_to_ignore_stays_ignored():
    """``nohup`` starts a program with SIGHUP ignored; a closed terminal must not stop it."""
    res = python(_IGNORED, preexec_fn=lambda: (default_signals(), signal.signal(signal.SIGHUP, signal.SIG_IGN)))
    assert res.returncode == 0 and res.stdout.strip() == "still running True", res.stderr


def test_interrupted_carries_its_signal():
    e = Interrupted(signal.SIGTERM, "stopped")
    assert isinstance(e, KeyboardInterrupt) and e.exit_code == 143 and str(e) == "stopped"
    assert signal_name(signal.SIGHUP) == "SIGHUP" and signal_name(99) == "signal 99"
