"""The OBS plugin itself: it builds against Debian's libobs-dev with its own CMakeLists.txt,
and, loaded by a small libobs host under Xvfb, turns ObsSink frames into what OBS renders
and mixes."""
from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from sink_helpers import clip, stop_process
from dhsdk.sinks.obs import ObsSink

PLUGIN = Path(__file__).resolve().parents[2] / "obs-plugin"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def build(tmp_path_factory) -> Path:
    if shutil.which("cmake") is None:
        pytest.skip("needs cmake: pip install cmake, or apt-get install cmake")
    if subprocess.run(["pkg-config", "--exists", "libobs"], capture_output=True).returncode != 0:
        pytest.skip("needs libobs-dev (Debian): bash scripts/install-system-deps.sh")
    out = tmp_path_factory.mktemp("obs-plugin")
    subprocess.run(["cmake", "-S", str(PLUGIN), "-B", str(out), "-DCMAKE_BUILD_TYPE=Release",
                    "-DCMAKE_C_FLAGS=-Werror"], check=True, capture_output=True, timeout=120)
    subprocess.run(["cmake", "--build", str(out), "-j2"], check=True, capture_output=True, timeout=300)
    return out


def test_plugin_builds_and_exports_the_module_entry_points(build):
    so = build / "dhsdk-obs.so"
    assert so.exists() and (build / "ring_reader").exists()
    symbols = subprocess.run(["nm", "-D", "--defined-only", str(so)], capture_output=True, text=True,
                             check=True, timeout=30).stdout
    for name in ("obs_module_load", "obs_module_set_pointer", "obs_module_ver", "obs_module_description"):
        assert f" {name}" in symbols


@pytest.fixture
def display():
    """A private Xvfb server (libobs needs an X display); yields its DISPLAY value."""
    if shutil.which("Xvfb") is None:
        pytest.skip("needs Xvfb (Debian xvfb): bash scripts/install-system-deps.sh")
    proc = subprocess.Popen(["Xvfb", "-displayfd", "1", "-nolisten", "tcp", "-screen", "0", "640x480x24"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        number = proc.stdout.readline().strip()
        assert number.isdigit(), "Xvfb did not start"
        yield f":{number}"
    finally:
        stop_process(proc)


def test_obs_renders_and_mixes_what_the_sink_writes(build, display):
    if not (build / "obs_host").exists():
        pytest.skip("the test host needs the X11 headers (libx11-dev, pulled in by libobs-dev)")
    name = f"e2e-{uuid.uuid4().hex[:8]}"
    host = subprocess.Popen([str(build / "obs_host"), str(build / "dhsdk-obs.so"), name, "4"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, DISPLAY=display))
    try:
        assert host.stdout.readline().strip() == "ready", host.stderr.read()[-2000:]
        red, green = (200, 40, 10), (10, 180, 60)
        with ObsSink(name) as sink:
            t0 = time.perf_counter()
            for f in clip(75, size=(320, 240)):      # 3 s at 25 fps: red, then green
                f.image[:] = red if f.index < 40 else green
                sink.write(f)
                time.sleep(max(0.0, t0 + (f.index + 1) / 25 - time.perf_counter()))
            out, err = host.communicate(timeout=30)
    finally:
        stop_process(host)
    assert host.returncode == 0, err[-2000:]
    lines = {line.split()[0]: line.split()[1:] for line in out.splitlines()}
    video = dict(kv.split("=") for kv in lines["video"])
    audio = dict(kv.split("=") for kv in lines["audio"])
    # OBS composited ~30 output frames/s; the centre pixel went red, then green (BGRA).
    assert int(video["frames"]) >= 90
    colours = [run.split("*")[0] for run in lines["runs"]]
    seen = [c for c in colours if c in ("10,40,200,255", "60,180,10,255")]
    assert seen == ["10,40,200,255", "60,180,10,255"], lines["runs"]
    # The source's audio reached OBS's mixer (48 kHz) at the tone's level, for the 3 s it played.
    assert 2.5 * 48000 <= int(audio["frames"]) <= 4.5 * 48000
    assert abs(float(audio["peak"]) - 0.05) < 0.01
