"""The Makefile's commands run dhsdk through the interpreter given as PYTHON (a venv's), never
a ``dhsdk`` that happens to be on PATH."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make")
def test_demo_and_bench_use_the_given_interpreter():
    venv = "/opt/some-venv/bin/python"
    res = subprocess.run(["make", "-n", "-C", str(REPO), "demo", "bench", f"PYTHON={venv}"],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    commands = [line for line in res.stdout.splitlines() if re.search(r"\bdhsdk\b", line) and "echo" not in line
                and "pip" not in line and "rm -rf" not in line]
    assert any(" render " in c for c in commands) and any(" bench " in c for c in commands), commands
    for line in commands:
        assert line.startswith(f"{venv} -m dhsdk.cli "), line
