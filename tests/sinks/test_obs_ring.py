"""The OBS shared-memory ring, read by a separate C process built from obs-plugin/ (same header
as the plugin): right frames, timestamps and checksums, never a torn frame, a writer that does
not care whether anyone reads, and nothing left in /dev/shm after close."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import uuid
import zlib
from pathlib import Path

import numpy as np
import pytest

from sink_helpers import clip
from dhsdk.errors import InputError
from dhsdk.sinks.obs import ObsSink

PLUGIN = Path(__file__).resolve().parents[2] / "obs-plugin"


@pytest.fixture(scope="module")
def reader_exe(tmp_path_factory) -> Path:
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("needs a C compiler (Debian build-essential): bash scripts/install-system-deps.sh")
    exe = tmp_path_factory.mktemp("reader") / "ring_reader"
    subprocess.run([cc, "-O2", "-Wall", "-Wextra", "-Werror", "-std=c11", f"-I{PLUGIN / 'include'}",
                    str(PLUGIN / "tools" / "ring_reader.c"), "-o", str(exe)], check=True, timeout=60)
    return exe


@pytest.fixture
def name() -> str:
    """A ring name no other test (or concurrent run) uses."""
    return f"test-{uuid.uuid4().hex[:12]}"


def start_reader(exe: Path, name: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen([str(exe), name, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(proc: subprocess.Popen, timeout: float = 10.0) -> tuple[list[dict], dict]:
    """Wait for a reader; its frame lines and summary as dicts."""
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err
    rows = [dict(kv.split("=") for kv in line.split()[1:]) for line in out.splitlines()]
    kinds = [line.split()[0] for line in out.splitlines()]
    frames = [r for r, k in zip(rows, kinds) if k == "frame"]
    return frames, rows[-1]


def expected(frame) -> dict:
    """What the reader must report for ``frame`` (BGRA and audio checksums as it computes them)."""
    import cv2

    bgra = cv2.cvtColor(frame.image, cv2.COLOR_RGB2BGRA)
    h, w = frame.image.shape[:2]
    return {"index": str(frame.index), "pts_ns": str(round(frame.pts * 1e9)), "size": f"{w}x{h}",
            "samples": str(len(frame.audio)), "rate": str(frame.sample_rate), "flags": str(int(frame.speaking)),
            "crc": f"{zlib.crc32(bgra.tobytes()):08x}", "acrc": f"{zlib.crc32(frame.audio.tobytes()):08x}"}


def test_reader_gets_every_frame_with_its_pixels_audio_and_time(reader_exe, name):
    frames = list(clip(40, size=(320, 240)))
    for f in frames:
        f.speaking = f.index % 3 == 0
    proc = start_reader(reader_exe, name, "--frames", "40", "--timeout", "10")
    with ObsSink(name) as sink:
        for f in frames:
            sink.write(f)
            time.sleep(0.004)        # faster than real time; 4 slots cover the reader's polling
        got, summary = finish(proc)
    assert summary["lost"] == "0" and summary["reason"] == "count"
    assert [g["n"] for g in got] == [str(i) for i in range(40)]
    for g, f in zip(got, frames):
        assert {k: g[k] for k in expected(f)} == expected(f)


def test_a_reader_never_sees_a_torn_frame(reader_exe, name):
    """Two slots, a writer in bursts, and a reader that pauses 0.3 ms between a frame's metadata
    and its pixels, so the writer overwrites slots mid-read: each such read must be dropped.
    (With the seqlock's final check removed, most frames this reader reports are torn.)"""
    frames = list(clip(60, size=(640, 480)))
    for f in frames:                      # every frame's pixels differ everywhere
        f.image = np.full_like(f.image, (f.index * 37) % 256)
    want = {f.index: expected(f)["crc"] for f in frames}
    proc = start_reader(reader_exe, name, "--timeout", "15", "--hold-us", "300")
    sink = ObsSink(name, slots=2)
    for _ in range(30):                   # 1800 frames in bursts of 20, ~0.5 s
        for f in frames:
            sink.write(f)
            if f.index % 20 == 19:
                time.sleep(0.003)         # between bursts reads complete
    sink.close()
    got, summary = finish(proc, timeout=20)
    assert summary["reason"] == "closed" and int(summary["lost"]) > 0
    assert len(got) >= 20
    torn = [g["index"] for g in got if g["crc"] != want[int(g["index"])]]
    assert torn == []


def test_writer_does_not_wait_for_a_slow_or_dead_reader(reader_exe, name):
    frames = list(clip(200, size=(320, 240)))
    sink = ObsSink(name)
    slow = start_reader(reader_exe, name, "--slow-ms", "100", "--timeout", "20")
    times = []
    for f in frames:
        if f.index == 100:
            slow.send_signal(signal.SIGKILL)   # the reader dies mid-stream
            slow.wait(5)
        t = time.perf_counter()
        sink.write(f)
        times.append(time.perf_counter() - t)
        time.sleep(0.002)
    assert sink.metrics.written == 200
    assert np.median(times) < 0.002 and max(times) < 0.02
    # A new reader attaches late and reads the newest frames.
    late = start_reader(reader_exe, name, "--frames", "6", "--timeout", "5")
    time.sleep(0.1)
    for f in clip(3, size=(320, 240), start=200):
        sink.write(f)
        time.sleep(0.01)
    got, _ = finish(late)
    sink.close()
    assert [int(g["index"]) for g in got] == list(range(197, 203))   # the 3 frames still held + 3 new


def test_close_unlinks_the_shared_memory_and_tells_readers(reader_exe, name):
    sink = ObsSink(name)
    sink.write(next(clip(1)))
    assert os.path.exists(sink.shm_path)
    proc = start_reader(reader_exe, name, "--timeout", "5")
    time.sleep(0.2)
    sink.close()
    _, summary = finish(proc)
    assert summary["reason"] == "closed"
    assert not os.path.exists(sink.shm_path)


def test_one_writer_per_name_and_a_crashed_writers_ring_is_taken_over(name):
    import sys

    with ObsSink(name, max_size=(64, 48)):
        with pytest.raises(InputError, match="in use"):
            ObsSink(name, max_size=(64, 48))
    # A writer killed with its whole process group (its resource tracker too) leaves the ring.
    code = (f"from dhsdk.sinks.obs import ObsSink; import time; s = ObsSink({name!r}, max_size=(64, 48)); "
            f"print('ready', flush=True); time.sleep(30)")
    crashed = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                               start_new_session=True)
    try:
        assert crashed.stdout.readline().strip() == "ready"
    finally:
        os.killpg(crashed.pid, signal.SIGKILL)
        crashed.wait(5)
    stale = f"/dev/shm/dhsdk-obs-{name}"
    assert os.path.exists(stale)
    with ObsSink(name, max_size=(32, 32)) as again:
        assert again.ring.max_width == 32
    assert not os.path.exists(stale)


def test_bad_names_and_oversized_frames_are_refused(name):
    with pytest.raises(InputError, match="letters, digits"):
        ObsSink("no/slashes", max_size=(64, 48))
    with ObsSink(name, max_size=(64, 48)) as sink:
        with pytest.raises(InputError, match="does not fit"):
            sink.write(next(clip(1, size=(65, 48))))
        sink.write(next(clip(1, size=(32, 16))))     # smaller frames are fine
