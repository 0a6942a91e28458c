"""Scheduler on a GPU (the stand-in of tests/cuda/fake_gpu.py): a worker drives CUDA-rendering
streams with its own CUDA stream current (one per worker, reused), so frames of different
streams run on different CUDA streams; CPU streams touch no CUDA."""
from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import pytest

from dhsdk.pipeline.scheduler import Scheduler

from test_stream_fakes import FakeLipSync, FakePath, tone

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cuda"))
from fake_gpu import install  # noqa: E402


class GpuPath(FakePath):
    """Records the CUDA stream current for each batch and the thread that rendered it."""

    device = "cuda"

    def __init__(self, cp):
        super().__init__(delay=0.004)
        self.cp, self.seen = cp, []

    def render(self, bases, lips):
        self.seen.append((threading.get_ident(), self.cp.current))
        return super().render(bases, lips)


class GpuLipSync(FakeLipSync):
    def __init__(self, cp):
        super().__init__()
        self.path = GpuPath(cp)
        self.seen = self.path.seen


def test_each_worker_renders_on_its_own_cuda_stream(monkeypatch):
    cp, _ = install(monkeypatch)
    syncs = [GpuLipSync(cp) for _ in range(3)]
    with Scheduler(workers=2) as sched:
        for sync in syncs:
            sched.add(sync).push_audio(tone(0.4))
        time.sleep(0.5)
    seen = [s for sync in syncs for s in sync.seen]
    assert len(seen) > 20
    per_thread: dict[int, set] = {}
    for thread, stream in seen:
        per_thread.setdefault(thread, set()).add(stream)
    assert len(per_thread) <= 2 and all(len(v) == 1 for v in per_thread.values())  # one stream per worker
    streams = {next(iter(v)) for v in per_thread.values()}
    assert all(ptr >= 1000 for ptr in streams) and len(streams) == len(per_thread)
    assert cp.current == 0  # made current only while a worker drives a GPU stream


def test_cpu_streams_touch_no_cuda(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)  # importing CuPy would fail
    got = []
    with Scheduler(workers=2) as sched:
        sched.add(FakeLipSync(), on_frame=got.append).push_audio(tone(0.2))
        time.sleep(0.3)
    assert len(got) > 3


@pytest.mark.gpu
def test_real_gpu_streams_keep_their_pace():
    pytest.importorskip("cupy")
    from dhsdk.bench.synthetic import SyntheticAvatar
    from dhsdk.pipeline.lipsync import LipSync

    avatar = SyntheticAvatar(720, 1280)  # a portrait-sized avatar that needs no face tracker (mediapipe)
    with Scheduler(workers=2) as sched:
        streams = [sched.add(LipSync(avatar, mouth="warp", device="cuda")) for _ in range(4)]
        for s in streams:
            s.push_audio(tone(1.5))
        time.sleep(1.2)
    # Four speaking 25 fps streams on one GPU: each frame is ~1 ms of kernels plus one copy, so
    # none falls behind (a couple of late frames allowed for the first frames' warm-up).
    assert all(abs(s.metrics.frames - 30) <= 3 and s.metrics.repeated <= 2 for s in streams)
