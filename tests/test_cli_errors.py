"""The bad-input and fault table of the ``dhsdk`` command line, run through the real CLI in
fresh interpreters: every case must end with the expected exit code, one ``error:`` line that
names the problem (the last line, no traceback) and no leftovers (no output, no temporary).

Fast cases fail before any avatar loads. Run-time cases (signals, a full disk, a dead RTMP
ingest, stdin text) use a small avatar made once per session from a photo by ``dhsdk avatar
create``, with short audio. A full disk is simulated without root or a small file system: the
child's file size limit (RLIMIT_FSIZE, ``ulimit -f``) makes the kernel fail its writes with
EFBIG just as a full disk fails them with ENOSPC (``tests/sinks/test_file.py`` checks a real
ENOSPC from ``/dev/full``).
"""
from __future__ import annotations

import json
import os
import resource
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from child_signals import default_signals

REPO = Path(__file__).resolve().parents[1]
SR = 16000


def env(cache: Path) -> dict[str, str]:
    """The child's environment: this tree first on the path, a private dhsdk cache."""
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, "DHSDK_CACHE": str(cache)}


def dhsdk(args: list[str], cwd: Path, timeout: float = 120, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dhsdk.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=env(cwd / ".cache"), **kw)


def start(args: list[str], cwd: Path, **kw) -> subprocess.Popen:
    """The CLI in the background, with the stop signals at their defaults (see
    :func:`child_signals.default_signals`) so the signal tests hold under ``nohup`` too."""
    kw.setdefault("preexec_fn", default_signals)
    return subprocess.Popen([sys.executable, "-m", "dhsdk.cli", *args], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env(cwd / ".cache"), **kw)


def write_wav(path: Path, seconds: float, nan_at: float | None = None, amp: float = 0.3) -> Path:
    """Speech-like bursts (200 Hz, on 0.5 s / off 0.5 s), float32 WAV so NaN can be stored."""
    t = np.arange(int(seconds * SR)) / SR
    pcm = (amp * np.sin(2 * np.pi * 200 * t) * (np.sin(2 * np.pi * t) > 0)).astype("<f4")
    if nan_at is not None:
        pcm[int(nan_at * SR):int(nan_at * SR) + 100] = np.nan
    data = pcm.tobytes()
    head = (b"RIFF" + (36 + len(data)).to_bytes(4, "little") + b"WAVEfmt " + (16).to_bytes(4, "little")
            + (3).to_bytes(2, "little") + (1).to_bytes(2, "little") + SR.to_bytes(4, "little")
            + (4 * SR).to_bytes(4, "little") + (4).to_bytes(2, "little") + (32).to_bytes(2, "little")
            + b"data" + len(data).to_bytes(4, "little"))
    path.write_bytes(head + data)
    return path


def wait_for_frames(directory: Path, prefix: str, timeout: float = 60) -> None:
    """Until the temporary output ``prefix*`` in ``directory`` has data: frames are being written."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(p.stat().st_size > 0 for p in directory.glob(f"{prefix}*")):
            return
        time.sleep(0.05)
    raise AssertionError(f"no frames written to {directory}/{prefix}* within {timeout} s")


def files(directory: Path) -> list[str]:
    """What is in ``directory`` (hidden names included), less the child's cache."""
    return sorted(p.name for p in directory.iterdir() if p.name != ".cache")


def assert_one_error_line(res: subprocess.CompletedProcess, code: int, match: str) -> str:
    """Exit ``code``; the last stderr line is the only ``error:`` line and matches; no traceback."""
    lines = res.stderr.strip().splitlines()
    assert res.returncode == code, res.stderr
    assert "Traceback" not in res.stderr, res.stderr
    errors = [line for line in lines if "error:" in line]
    assert errors == lines[-1:], res.stderr
    import re

    assert re.search(match, lines[-1]), lines[-1]
    return lines[-1]


@pytest.fixture
def work(tmp_path) -> Path:
    """A directory with the inputs of the fast cases (each test its own: parallel-safe)."""
    write_wav(tmp_path / "speech.wav", 1.0)
    write_wav(tmp_path / "nan.wav", 1.0, nan_at=0.25)
    (tmp_path / "notes.txt").write_text("not audio\n")
    (tmp_path / "outdir").mkdir()
    return tmp_path


INPUTS = ["nan.wav", "notes.txt", "outdir", "speech.wav"]

# (argv, exit code, what the error line must say); all fail before any avatar is loaded.
FAST = [
    (["render", "--audio", "speech.wav", "-o", "outdir"], 2, r"outdir: it is a directory; give a file path"),
    (["render", "--audio", "speech.wav", "-o", "/"], 2, r"it is a directory"),
    (["render", "--audio", "speech.wav", "-o", "no/such/dir/x.mp4"], 2, r"directory no/such/dir does not exist"),
    (["render", "--audio", "speech.wav", "-o", "notes.txt/x.mp4"], 2, r"notes.txt is a file, not a directory"),
    (["render", "--audio", "speech.wav", "-o", "x.mp4", "--fps", "nan"], 2, r"--fps: fps is NaN"),
    (["render", "--audio", "speech.wav", "-o", "x.mp4", "--fps", "inf"], 2, r"--fps: fps is infinite"),
    (["render", "--audio", "speech.wav", "-o", "x.mp4", "--fps", "0"], 2, r"fps 0 is outside 1-120"),
    (["render", "--audio", "speech.wav", "-o", "x.mp4", "--fps", "-25"], 2, r"fps -25 is outside 1-120"),
    (["render", "--audio", "speech.wav", "-o", "x.mp4", "--fps", "1000"], 2, r"fps 1000 is outside 1-120"),
    (["render", "--audio", "speech.wav", "-o", "x.mp4", "--fps", "fast"], 2, r"fps must be a number, got 'fast'"),
    (["render", "--audio", "speech.wav", "-o", "x.mp4", "--size", "8000x8000"], 2, r"8000x8000 is above 4K"),
    (["render", "--audio", "speech.wav", "-o", "x.mp4", "--size", "4096x4096"], 2, r"above 4K"),
    (["render", "--audio", "speech.wav", "-o", "x.mp4", "--size", "721x1280"], 2, r"positive and even"),
    (["render", "--audio", "speech.wav", "-o", "x.mp4", "--size", "big"], 2, r"size must look like 720x1280"),
    (["render", "--audio", "speech.wav", "-o", "x.mp4", "--gain", "nan"], 2, r"--gain is NaN"),
    (["render", "--audio", "speech.wav", "-o", "x.mp4", "--gain", "0"], 2, r"--gain must be positive"),
    (["render", "--audio", "missing.wav", "-o", "x.mp4"], 2, r"audio file not found: missing.wav"),
    (["render", "--audio", "notes.txt", "-o", "x.mp4"], 2, r"cannot decode audio from notes.txt"),
    (["render", "--text", "  ", "-o", "x.mp4"], 2, r"the text is empty"),
    (["render", "--audio", "speech.wav"], 2, r"the following arguments are required: -o/--output"),
    (["render", "--audio", "speech.wav", "-o", "x.mp4", "--mouth", "magic"], 2, r"invalid choice: 'magic'"),
    (["live", "--wav", "speech.wav"], 2, r"no --sink given"),
    (["live", "--wav", "speech.wav", "--sink", "browser:99999"], 2, r"the port must be a number from 1 to 65535"),
    (["live", "--wav", "speech.wav", "--sink", "browser:http"], 2, r"the port must be a number"),
    (["live", "--wav", "speech.wav", "--sink", "ftp://x/y"], 2, r"unknown sink 'ftp://x/y'"),
    (["live", "--wav", "speech.wav", "--sink", "rtmp://host"], 2, r"is not an RTMP ingest URL"),
    (["live", "--wav", "speech.wav", "--sink", "file:outdir"], 2, r"outdir: it is a directory"),
    (["live", "--wav", "speech.wav", "--sink", "file:"], 2, r"needs a target"),
    (["live", "--wav", "nan.wav", "--sink", "file:x.mp4"], 2, r"nan.wav contains NaN or infinite samples"),
    (["live", "--wav", "missing.wav", "--sink", "file:x.mp4"], 2, r"audio file not found"),
    (["live", "--wav", "speech.wav", "--sink", "obs", "--duration", "nan"], 2, r"--duration is NaN"),
    (["live", "--wav", "speech.wav", "--sink", "obs", "--duration", "-1"], 2, r"--duration must be positive"),
    (["live", "--wav", "speech.wav", "--sink", "obs", "--sink-timeout", "0"], 2, r"--sink-timeout must be positive"),
    (["live", "--stdin-text", "--voice", "xx-nope", "--sink", "file:x.mp4"], 2, r"unknown espeak voice 'xx-nope'"),
    (["host", "--catalog", "missing.yaml", "--sink", "file:x.mp4"], 2, r"catalogue missing.yaml does not exist"),
    (["host", "--sink", "file:outdir"], 2, r"it is a directory"),
    (["host", "--sink", "file:x.mp4", "--duration", "inf"], 2, r"--duration is infinite"),
    (["host", "--sink", "file:x.mp4", "--comments", "http:99999"], 2, r"port up to 65535"),
    (["frobnicate"], 2, r"invalid choice: 'frobnicate'"),
]


@pytest.mark.parametrize("argv,code,match", FAST, ids=[" ".join(c[0])[:60] for c in FAST])
def test_bad_input_fails_fast_with_one_line_and_leaves_nothing(work, argv, code, match):
    t0 = time.perf_counter()
    res = dhsdk(argv, work, timeout=60, stdin=subprocess.DEVNULL)
    took = time.perf_counter() - t0
    assert_one_error_line(res, code, match)
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert files(work) == INPUTS
    assert took < 10, took      # no avatar, no model: interpreter start and argument checks only


def test_a_directory_as_the_output_fails_within_two_seconds(work):
    t0 = time.perf_counter()
    res = dhsdk(["render", "--audio", "speech.wav", "-o", "/tmp"], work, timeout=60)
    assert_one_error_line(res, 2, r"cannot write /tmp: it is a directory")
    assert time.perf_counter() - t0 < 2.0


# ---- run-time cases: a small real avatar ----------------------------------------------

@pytest.fixture(scope="session")
def avatar(tmp_path_factory) -> Path:
    """A 480x640 photo avatar built by the real ``dhsdk avatar create`` (about 10 s, once)."""
    import cv2
    from skimage import data

    root = tmp_path_factory.mktemp("cli-avatar")
    photo = cv2.resize(data.astronaut(), None, fx=1.25, fy=1.25, interpolation=cv2.INTER_LANCZOS4)[:640, 80:560]
    cv2.imwrite(str(root / "presenter.png"), cv2.cvtColor(photo, cv2.COLOR_RGB2BGR))
    res = dhsdk(["avatar", "create", "presenter.png", "-o", "presenter", "--quiet"], root, timeout=300)
    assert res.returncode == 0, res.stderr
    for noise in ("absl::InitializeLog", "XNNPACK", "inference_feedback_manager", "GetPrototype"):
        assert noise not in res.stderr, res.stderr    # mediapipe/absl/protobuf log noise is silenced
    return root / "presenter"


def decoded(path: Path) -> tuple[int, float, np.ndarray]:
    """(video frames, seconds of audio, mono audio at 48 kHz) of an mp4 (fails if unplayable)."""
    import av

    with av.open(str(path)) as c:
        frames = sum(1 for _ in c.decode(video=0))
    with av.open(str(path)) as c:
        audio = np.concatenate([f.to_ndarray().mean(axis=0) for f in c.decode(audio=0)])
    return frames, len(audio) / 48000, audio


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_a_stop_signal_finishes_a_live_file_sink_with_what_streamed(tmp_path, avatar, sig):
    """What ``docker stop`` / systemd / a closed terminal do: the mp4 of what streamed plays."""
    write_wav(tmp_path / "speech.wav", 20.0)
    proc = start(["live", "--avatar", str(avatar), "--wav", "speech.wav", "--sink", "file:x.mp4"], tmp_path)
    wait_for_frames(tmp_path, ".x.mp4.")
    time.sleep(3.0)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    res = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    line = res.stderr.strip().splitlines()[-1]
    assert res.returncode == 128 + sig and "Traceback" not in res.stderr, res.stderr
    assert line == f"dhsdk live: stopped by {signal.Signals(sig).name} after {line.split('after ')[1]}"
    assert files(tmp_path) == ["speech.wav", "x.mp4"]      # no hidden temporary
    frames, seconds, _ = decoded(tmp_path / "x.mp4")
    streamed = float(line.split("after ")[1].split(" s")[0])
    # Data shows in the temporary file with the first fragment (a keyframe, 2 s in), then 3 s more:
    # about 5 s, more on a busy machine; never the whole 20 s.
    assert 2.5 < seconds < 12.0 and seconds == pytest.approx(streamed, abs=0.3)
    assert frames == pytest.approx(seconds * 25, abs=2)


@pytest.mark.slow
def test_a_stopped_render_removes_its_temporary_and_says_so(tmp_path, avatar):
    write_wav(tmp_path / "speech.wav", 60.0)
    proc = start(["render", "--avatar", str(avatar), "--audio", "speech.wav", "-o", "r.mp4", "--quiet"], tmp_path)
    wait_for_frames(tmp_path, ".r.mp4.")
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 143 and "Traceback" not in err, err
    assert err.strip().splitlines()[-1] == ("dhsdk render: interrupted by SIGTERM: r.mp4 was not written "
                                            "(its temporary file was removed)")
    assert files(tmp_path) == ["speech.wav"]


@pytest.mark.slow
def test_temporaries_of_a_killed_run_are_removed_by_the_next_run(tmp_path, avatar):
    write_wav(tmp_path / "speech.wav", 20.0)
    proc = start(["live", "--avatar", str(avatar), "--wav", "speech.wav", "--sink", "file:x.mp4"], tmp_path)
    wait_for_frames(tmp_path, ".x.mp4.")
    proc.kill()                          # SIGKILL: nothing can clean up
    proc.communicate(timeout=30)
    assert any(n.startswith(".x.mp4.dhsdk-") for n in files(tmp_path))
    write_wav(tmp_path / "short.wav", 0.5)
    res = dhsdk(["render", "--avatar", str(avatar), "--audio", "short.wav", "-o", "y.mp4", "--quiet"], tmp_path)
    assert res.returncode == 0, res.stderr
    assert files(tmp_path) == ["short.wav", "speech.wav", "y.mp4"]


def _file_size_limit(limit: int):
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


@pytest.mark.slow
@pytest.mark.parametrize("command", ["render", "live"])
def test_a_disk_filling_mid_run_is_one_line_and_leaves_nothing(tmp_path, avatar, command):
    write_wav(tmp_path / "speech.wav", 6.0)
    argv = (["render", "--avatar", str(avatar), "--audio", "speech.wav", "-o", "x.mp4", "--quiet"]
            if command == "render" else ["live", "--avatar", str(avatar), "--wav", "speech.wav", "--sink", "file:x.mp4"])
    res = dhsdk(argv, tmp_path, preexec_fn=_file_size_limit(150_000))
    assert_one_error_line(res, 1, r"writing x.mp4 failed: the file size limit was reached \(see ulimit -f\); "
                                  r"nothing was kept")
    assert files(tmp_path) == ["speech.wav"]


@pytest.mark.slow
def test_a_nan_wav_to_render_names_the_nan(tmp_path, avatar):
    write_wav(tmp_path / "nan.wav", 1.0, nan_at=0.5)
    res = dhsdk(["render", "--avatar", str(avatar), "--audio", "nan.wav", "-o", "x.mp4", "--quiet"], tmp_path)
    assert_one_error_line(res, 2, r"nan.wav contains NaN or infinite samples")
    assert files(tmp_path) == ["nan.wav"]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_an_rtmp_ingest_that_is_not_there_fails_the_run_with_the_reason(tmp_path, avatar):
    write_wav(tmp_path / "speech.wav", 4.0)
    url = f"rtmp://127.0.0.1:{closed_port()}/live/secret-key"
    res = dhsdk(["live", "--avatar", str(avatar), "--wav", "speech.wav", "--sink", url, "--sink", "file:x.mp4",
                 "--sink-timeout", "1"], tmp_path)
    line = assert_one_error_line(res, 1, r"rtmp://127.0.0.1:\d+/live/\*\*\*\*: nothing delivered in 1\.\d s "
                                         r"\(ConnectionRefusedError.*\); check that the server is running")
    assert "secret-key" not in res.stderr and line
    assert files(tmp_path) == ["speech.wav", "x.mp4"]   # the file sink kept what streamed until then
    frames, seconds, _ = decoded(tmp_path / "x.mp4")
    assert 0.8 < seconds < 2.5


@pytest.mark.slow
def test_retrying_an_absent_ingest_still_fails_at_the_end_and_reports_it(tmp_path, avatar):
    write_wav(tmp_path / "speech.wav", 1.5)
    url = f"rtmp://127.0.0.1:{closed_port()}/live/k"
    res = dhsdk(["live", "--avatar", str(avatar), "--wav", "speech.wav", "--sink", url, "--sink-retry",
                 "--sink-timeout", "0.2", "--metrics"], tmp_path)
    assert_one_error_line(res, 1, r"/live/\*\*\*\*: nothing was delivered \(ConnectionRefusedError")
    metrics = json.loads(res.stdout, parse_constant=lambda c: pytest.fail(f"bare {c} in the JSON"))
    (sink,) = metrics["sinks"]
    assert sink["written"] == 0 and sink["dropped"] == metrics["frames"] and sink["outage_s"] > 1.0
    assert f"{sink['sink']}: 0 written, {sink['dropped']} dropped" in res.stderr


@pytest.mark.slow
def test_stdin_text_speaks_every_line_and_metrics_json_is_strict(tmp_path, avatar):
    """The README's ``echo "…" | dhsdk live --stdin-text --sink …``."""
    from dhsdk.adapters.tts.espeak import EspeakTTS

    line = "Hello and welcome to the show"
    res = dhsdk(["live", "--avatar", str(avatar), "--stdin-text", "--sink", "file:x.mp4", "--metrics"], tmp_path,
                input=line + "\n")
    assert res.returncode == 0, res.stderr
    metrics = json.loads(res.stdout, parse_constant=lambda c: pytest.fail(f"bare {c} in the JSON"))
    said = EspeakTTS().synthesize(line)
    frames, seconds, audio = decoded(tmp_path / "x.mp4")
    assert metrics["sinks"][0]["written"] == frames and frames <= metrics["frames"]
    loud = np.convolve(audio ** 2, np.ones(480) / 480, "valid") > 1e-4          # 10 ms windows
    expected = np.convolve(said.pcm ** 2, np.ones(said.sample_rate // 100) / (said.sample_rate // 100), "valid") > 1e-4
    spoken, line_s = loud.sum() / 48000, expected.sum() / said.sample_rate
    # Every word plays; only frames the real-time stream dropped on a machine too busy to keep
    # up (counted in "dropped") may take their audio with them.
    lost_s = metrics["dropped"] / 25.0
    assert line_s - lost_s - 0.1 * line_s <= spoken <= 1.1 * line_s, (spoken, line_s, lost_s)
    assert seconds > said.duration
