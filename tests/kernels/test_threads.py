"""The CPU kernels' thread pool (csrc/cpu/parallel.h): its size follows DHSDK_NUM_THREADS (else
OMP_NUM_THREADS), results do not depend on it, concurrent callers share it, and a forked child
(which has none of its threads) still finishes every call."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from dhsdk import _C

REPO = Path(__file__).resolve().parents[2]
SCRIPT = """
import numpy as np
from dhsdk import _C
f = np.random.default_rng(1).integers(0, 256, (96, 130, 3), dtype=np.uint8)
print(_C.build_info()["threads"], _C.rgb_to_yuv(f, True).tobytes().hex()[:64], int(_C.rgb_to_yuv(f).sum()))
"""


def _run(env: dict) -> list[str]:
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(REPO), **env}, check=True)
    return out.stdout.split()


def test_pool_size_from_the_environment_and_results_independent_of_it():
    one, five = _run({"DHSDK_NUM_THREADS": "1"}), _run({"DHSDK_NUM_THREADS": "5"})
    assert one[0] == "1" and five[0] == "5" and one[1:] == five[1:]
    assert _run({"DHSDK_NUM_THREADS": "", "OMP_NUM_THREADS": "3"})[0] == "3"


def test_concurrent_callers_share_the_pool():
    rng = np.random.default_rng(2)
    frames = [rng.integers(0, 256, (64 + 2 * i, 90, 3), dtype=np.uint8) for i in range(8)]
    want = [_C.emulated.rgb_to_yuv(f) for f in frames]
    got: dict[int, list] = {}

    def work(k: int) -> None:
        got[k] = [_C.rgb_to_yuv(f) for f in frames for _ in range(5)][::5]

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(got) == 4
    for res in got.values():
        for g, w in zip(res, want):
            np.testing.assert_array_equal(g, w)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_finishes_its_calls():
    frame = np.random.default_rng(3).integers(0, 256, (200, 300, 3), dtype=np.uint8)
    _C.rgb_to_yuv(frame)  # the parent's pool exists before the fork
    pid = os.fork()
    if pid == 0:  # child: every call runs on the caller
        ok = np.array_equal(_C.rgb_to_yuv(frame), _C.emulated.rgb_to_yuv(frame))
        os._exit(0 if ok else 1)
    deadline = time.monotonic() + 60
    while (done := os.waitpid(pid, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    if done[0] == 0:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        pytest.fail("the forked child hung in a kernel call")
    assert os.WIFEXITED(done[1]) and os.WEXITSTATUS(done[1]) == 0
