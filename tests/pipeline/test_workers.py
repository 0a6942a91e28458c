"""Render worker processes: frames rendered by K workers equal the local frame path's bit for
bit, arrive in shared memory that is recycled and leaves no name behind in /dev/shm; a Scheduler
with two processes emits what one process emits; a dead worker is reported, not waited for; a
path's spec crosses the process boundary without its frames; the automatic process count."""
from __future__ import annotations

import gc
import time

import numpy as np
import pytest

from dhsdk.bench.synthetic import SyntheticAvatar
from dhsdk.errors import DhsdkError, InputError
from dhsdk.pipeline import workers
from dhsdk.pipeline.scheduler import Scheduler
from dhsdk.pipeline.workers import RenderWorkers, auto_processes, dumps_spec, resolve_processes

from test_scheduler import _alone, _speech
from test_stream_fakes import FPS

pytestmark = pytest.mark.skipif(not workers.SHM_DIR.is_dir(), reason="needs POSIX shared memory in /dev/shm")


def _lips(sync, n: int) -> np.ndarray:
    lips = np.repeat(sync.geometry.neutral_lips[None], n, 0)
    lips[:, 21:30, 1] += (0.08 * (1 - np.cos(np.arange(n) * 1.1)))[:, None]
    return lips


@pytest.fixture(scope="module")
def sync():
    from dhsdk.pipeline.lipsync import LipSync

    return LipSync(SyntheticAvatar(160, 224, frames=10), mouth="warp", device="cpu", size=(150, 200))


@pytest.fixture(scope="module")
def pool():
    with RenderWorkers(2) as w:
        yield w


def _our_names() -> set[str]:
    return {p.name for p in workers.SHM_DIR.iterdir() if p.name.startswith("psm_")}


def test_workers_render_the_local_paths_frames_into_recycled_shared_memory(sync, pool):
    before = _our_names()
    remote = pool.path(sync.path)
    assert pool.path(sync.path) is remote                      # registered once
    bases, lips = [3, 0, 7, 3, 5], _lips(sync, 5)
    got = remote.render(bases, lips)
    want = sync.path.render(bases, lips)
    for g, w in zip(got, want):
        assert g.shape == (200, 150, 3)                        # the fitted size, built in the worker
        np.testing.assert_array_equal(g, w)
    assert type(got[0].base).__name__ == "_Slot"             # the workers' buffers, no copy
    assert _our_names() <= before                              # names unlinked once mapped
    made = [p.made for p in remote.pools]
    assert made == [2, 3]                                      # the batch split between the two
    del got, g                                                 # (g: the loop above held the last one)
    gc.collect()
    again = remote.render(bases[::-1], lips[::-1])
    assert [p.made for p in remote.pools] == made             # buffers came back and were reused
    for g, w in zip(again, want[::-1]):
        np.testing.assert_array_equal(g, w)
    assert len(sync.path.stage_ms["mouth"]) >= 5 and pool.cpu_seconds() > 0


def test_a_scheduler_with_two_processes_emits_what_one_stream_renders_alone(sync):
    pcms = [_speech(1.0, seed) for seed in (3, 4)]
    got: dict[int, list] = {0: [], 1: []}
    with Scheduler(fps=FPS, workers=2, processes=2) as sched:
        streams = [sched.add(sync, on_frame=got[i].append) for i in range(2)]
        for s, pcm in zip(streams, pcms):
            s.push_audio(pcm)
        time.sleep(0.9)
        assert sched.worker_cpu_s() > 0
    for i in range(2):
        n = min(len(got[i]), 15)
        assert n >= 10
        for j, (mine, alone) in enumerate(zip(got[i][:n], _alone(sync, pcms[i], got[i][:n]))):
            if j == 0 or mine.image is not got[i][j - 1].image:   # rendered, not repeated
                np.testing.assert_array_equal(mine.image, alone.image)


def test_a_dead_worker_is_reported_with_its_exit_code(sync):
    with RenderWorkers(2) as w:
        remote = w.path(sync.path)
        w._workers[1].process.kill()
        with pytest.raises(DhsdkError, match=r"render worker dhsdk-render-1 \(pid \d+\) stopped answering "
                                             r"\(exit code -9\)"):
            remote.render([0, 1], _lips(sync, 2))


def test_a_path_without_a_spec_is_refused(pool):
    from dhsdk.render.geometry import MouthGeometry
    from dhsdk.render.host_path import HostFramePath
    from dhsdk.render.path import make_renderer

    avatar = SyntheticAvatar(160, 224, frames=4)
    renderer = make_renderer(avatar, "warp", 64)
    with pytest.raises(InputError, match="no spec to build it in a worker process"):
        pool.path(HostFramePath(avatar, MouthGeometry.of(avatar, 64), renderer))


def test_an_avatar_bundle_crosses_as_its_path():
    import pickle

    from dhsdk.avatar import Avatar
    from dhsdk.pipeline.fit import FittedAvatar
    from dhsdk.render.path import PathSpec

    try:
        avatar = Avatar.default(device="cpu")
    except ImportError as e:
        pytest.skip(f"the default avatar cannot be built here: {e}")
    blob = dumps_spec(PathSpec(FittedAvatar(avatar, (360, 640)), "warp", "cpu", 256))
    assert len(blob) < 4096                                    # no frames, no arrays: the path
    spec = pickle.loads(blob)
    assert spec.avatar.path == avatar.path and (spec.avatar.width, spec.avatar.height) == (360, 640)
    np.testing.assert_array_equal(spec.avatar.frame(2), FittedAvatar(avatar, (360, 640)).frame(2))


def test_process_counts():
    assert [auto_processes(c) for c in (1, 2, 8, 15, 16, 40, 64)] == [1, 1, 1, 1, 2, 5, 8]
    assert resolve_processes(3) == 3 and resolve_processes("auto") == auto_processes(workers.cpu_cores())
    for bad in (0, -1, "two", 1.5, True):
        with pytest.raises(InputError, match="processes must be 'auto' or a whole number >= 1"):
            resolve_processes(bad)
