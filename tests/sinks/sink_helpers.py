"""Helpers of the sink tests: synthetic frames with a visible and audible marker, decoding,
timed writes, bounded process shutdown and a real nginx-rtmp ingest on loopback."""
from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path
from typing import Iterator

import numpy as np

from dhsdk.frames import VideoFrame

SR = 16000


def clip(n: int, fps: float = 25.0, size: tuple[int, int] = (320, 240), marks: tuple[int, ...] = (),
         start: int = 0) -> Iterator[VideoFrame]:
    """``n`` frames from index ``start`` on the stream clock of dhsdk.pipeline.stream.

    A smooth gradient whose corner square brightens with the frame index; at each index in
    ``marks`` the whole image turns white and the frame's audio is a loud 1 kHz burst (the rest
    is a quiet 220 Hz tone), so A/V alignment can be measured after a round trip.

    Args:
        n: frames.
        fps: frame rate.
        size: (width, height).
        marks: indices with the white flash + burst.
        start: index of the first frame.
    """
    w, h = size
    ys, xs = np.mgrid[0:h, 0:w]
    base = np.stack([xs * 255 // max(w - 1, 1), ys * 255 // max(h - 1, 1), (xs + ys) * 127 // max(w + h, 1)],
                    -1).astype(np.uint8)
    for k in range(start, start + n):
        a, b = int(round(k * SR / fps)), int(round((k + 1) * SR / fps))
        t = np.arange(a, b) / SR
        if k in marks:
            image = np.full_like(base, 255)
            audio = 0.8 * np.sin(2 * np.pi * 1000 * t)
        else:
            image = base.copy()
            image[:32, :32] = (k * 7) % 256
            audio = 0.05 * np.sin(2 * np.pi * 220 * t)
        yield VideoFrame(image=image, audio=audio.astype(np.float32), sample_rate=SR, pts=k / fps, index=k)


def decode(path: str) -> tuple[list[float], np.ndarray, np.ndarray, int, list[float]]:
    """Decode a media file or URL back: (video pts s, frames (T,H,W,3) RGB, audio (n,) mono, rate,
    audio frame pts s)."""
    import av

    with av.open(path) as c:
        vts, images = [], []
        for f in c.decode(video=0):
            vts.append(float(f.pts * f.time_base))
            images.append(f.to_ndarray(format="rgb24"))
    with av.open(path) as c:
        rate = c.streams.audio[0].rate
        chunks, ats = [], []
        for f in c.decode(audio=0):
            ats.append(float(f.pts * f.time_base))
            chunks.append(f.to_ndarray().mean(axis=0))
    return vts, np.stack(images), np.concatenate(chunks), rate, ats


def burst_onsets(audio: np.ndarray, rate: int, start: float = 0.0) -> list[float]:
    """Times (s) where the loud burst of :func:`clip` starts, from 5 ms RMS windows."""
    win = rate // 200
    n = len(audio) // win
    rms = np.sqrt((audio[:n * win].reshape(n, win) ** 2).mean(axis=1))
    loud = rms > 0.3
    return [start + i * win / rate for i in range(n) if loud[i] and (i == 0 or not loud[i - 1])]


def write_timed(sink, frames) -> list[float]:
    """Write ``frames`` to ``sink`` as fast as possible; seconds each ``write`` took."""
    took = []
    for f in frames:
        t = time.perf_counter()
        sink.write(f)
        took.append(time.perf_counter() - t)
    return took


def stop_process(proc, timeout: float = 5.0) -> None:
    """Terminate ``proc``, and kill it if it has not exited within ``timeout`` seconds."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout)


RTMP_MODULE = Path("/usr/lib/nginx/modules/ngx_rtmp_module.so")


class Nginx:
    """nginx with the rtmp module as a user process on a free loopback port (FACTS.md recipe)."""

    def __init__(self, root: Path):
        self.root = root
        (root / "conf").mkdir(parents=True)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        (root / "conf" / "nginx.conf").write_text(
            f"load_module {RTMP_MODULE};\n"
            f"daemon off; master_process off; worker_processes 1;\n"
            f"pid {root}/nginx.pid; error_log {root}/error.log info;\n"
            "events { worker_connections 64; }\n"
            f"rtmp {{ server {{ listen 127.0.0.1:{self.port}; chunk_size 4096;\n"
            "  application live { live on; record off; wait_key on; wait_video on; } } }\n")
        self.proc: subprocess.Popen | None = None

    def url(self, key: str = "test") -> str:
        return f"rtmp://127.0.0.1:{self.port}/live/{key}"

    def start(self) -> None:
        self.proc = subprocess.Popen(["nginx", "-p", str(self.root), "-e", str(self.root / "error.log"),
                                      "-c", str(self.root / "conf" / "nginx.conf")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited: {self.proc.stderr.read().decode()}")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.02)
        raise RuntimeError("nginx did not listen within 5 s")

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
        self.proc = None
