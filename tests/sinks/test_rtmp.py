"""RtmpSink against a real nginx-rtmp on loopback, read back from the server with PyAV."""
from __future__ import annotations

import socket
import threading
import time

import numpy as np
import pytest

from sink_helpers import burst_onsets, clip, write_timed
from dhsdk.errors import InputError
from dhsdk.sinks.rtmp import RtmpSink, redact

FPS = 25.0


class Reader(threading.Thread):
    """Plays the stream back from the server (as a viewer would) until ``frames`` video frames
    arrived or ``seconds`` passed; readers do not end when the publisher stops, so it is bounded."""

    def __init__(self, url: str, frames: int, seconds: float = 15.0, fast_start: bool = False):
        super().__init__(daemon=True)
        self.url, self.frames, self.seconds = url, frames, seconds
        self.probe_us = "200000" if fast_start else "1500000"   # how much the player analyses first
        self.first_frame_at: float | None = None                # perf_counter of the first video frame
        self.video: list[tuple[float, float]] = []      # (pts s, mean brightness)
        self.audio: list[tuple[float, np.ndarray]] = []  # (pts s, mono samples)
        self.info: dict = {}
        self.error: Exception | None = None
        self.start()

    def run(self) -> None:
        import av

        deadline = time.monotonic() + self.seconds
        try:
            with av.open(self.url, timeout=(10.0, 5.0), options={"analyzeduration": self.probe_us}) as c:
                if not (c.streams.video and c.streams.audio):
                    raise RuntimeError(f"streams found: {[s.type for s in c.streams]}")
                v, a = c.streams.video[0], c.streams.audio[0]
                self.info = {"video": v.codec_context.name, "size": (v.codec_context.width, v.codec_context.height),
                             "audio": a.codec_context.name, "rate": a.rate, "channels": a.channels}
                for packet in c.demux(v, a):
                    for f in packet.decode():
                        t = float(f.pts * f.time_base)
                        if packet.stream is v:
                            self.first_frame_at = self.first_frame_at or time.perf_counter()
                            self.video.append((t, float(f.to_ndarray(format="gray").mean())))
                        else:
                            self.audio.append((t, f.to_ndarray().mean(axis=0)))
                    if len(self.video) >= self.frames or time.monotonic() > deadline:
                        return
        except Exception as e:  # noqa: BLE001  (reported by the test)
            self.error = e


def paced(frames, fps=FPS):
    """Yield frames at their real-time due times (as a live Stream delivers them)."""
    t0 = time.perf_counter()
    for i, f in enumerate(frames):
        time.sleep(max(0.0, t0 + i / fps - time.perf_counter()))
        yield f


@pytest.mark.slow
def test_stream_reaches_a_viewer_with_video_at_fps_and_audio_in_sync(nginx):
    reader = Reader(nginx.url(), frames=50)   # waits on the server for the publisher
    time.sleep(0.3)
    with RtmpSink(nginx.url(), max_queue=50) as sink:
        for f in paced(clip(60, size=(640, 360), marks=(20, 40))):
            sink.write(f)
    reader.join(20)
    assert reader.error is None, reader.error
    assert sink.metrics.summary() == {"written": 60, "dropped": 0, "reconnects": 0, "outage_s": 0.0}
    assert reader.info == {"video": "h264", "size": (640, 360), "audio": "aac", "rate": 48000, "channels": 2}
    times = np.array([t for t, _ in reader.video])
    assert len(times) >= 50
    assert (len(times) - 1) / (times[-1] - times[0]) == pytest.approx(FPS, rel=0.02)
    flashes = [t for t, level in reader.video if level > 230]
    audio = np.concatenate([s for _, s in reader.audio])
    bursts = burst_onsets(audio, reader.info["rate"], reader.audio[0][0])
    assert len(flashes) == 2 and len(bursts) == 2
    # Lips and sound arrive together: same flash/burst times to within one frame.
    assert np.abs(np.array(flashes) - np.array(bursts)).max() <= 1 / FPS, (flashes, bursts)


@pytest.mark.slow
def test_server_restart_drops_frames_then_reconnects_without_blocking(nginx):
    sink = RtmpSink(nginx.url("fault"), backoff=(0.1, 0.4))
    write_ms, down_at, up_at, reconnected_at = [], None, None, None
    for f in paced(clip(125)):          # 5 s at 25 fps
        if f.index == 25:               # 1 s in: the server goes away ...
            nginx.stop()
            down_at = time.perf_counter()
        if f.index == 50:               # ... and comes back 1 s later
            nginx.start()
            up_at = time.perf_counter()
        t = time.perf_counter()
        sink.write(f)
        write_ms.append((time.perf_counter() - t) * 1e3)
        if up_at and reconnected_at is None and sink.connected:
            reconnected_at = time.perf_counter()
        if f.index == 55:
            reader = Reader(nginx.url("fault"), frames=10, seconds=8)
    sink.close()
    reader.join(10)
    m = sink.metrics
    assert down_at is not None and reconnected_at is not None, sink.last_error
    assert m.reconnects == 1
    assert 20 <= m.dropped <= 40                    # about the second the server was away
    assert m.written + m.dropped == 125
    assert reconnected_at - up_at < 0.8             # backoff capped at 0.4 s
    assert max(write_ms) < 10.0, max(write_ms)      # never waits on the network (GIL switch: 5 ms)
    assert reader.error is None and len(reader.video) >= 10   # the restarted stream is watchable


@pytest.mark.slow
def test_after_a_five_second_outage_viewers_get_frames_within_a_second(nginx):
    """Default backoff: the sink is back within 1 s of the server, its first frame a keyframe
    (a viewer that joins then decodes at once: its first frame is the sink's first after the return)."""
    sink = RtmpSink(nginx.url("outage"))
    up_at = reconnected_at = reader = None
    for f in paced(clip(8 * 25)):       # 8 s: up 1 s, down 5 s, up 2 s
        if f.index == 25:
            nginx.stop()
        if f.index == 150:
            nginx.start()
            up_at = time.perf_counter()
            reader = Reader(nginx.url("outage"), frames=10, seconds=6, fast_start=True)
        sink.write(f)
        if up_at and reconnected_at is None and sink.connected:
            reconnected_at = time.perf_counter()
    sink.close()
    reader.join(8)
    assert reconnected_at is not None, sink.last_error
    assert reconnected_at - up_at < 1.0
    assert reader.error is None and len(reader.video) >= 10
    assert reader.first_frame_at - up_at < 1.5, reader.first_frame_at - up_at   # player probing included
    assert reader.video[0][0] < 1 / FPS  # a fresh FLV stream whose first frame is a decodable keyframe
    assert sink.metrics.reconnects == 1 and 4.8 < sink.metrics.outage_s < 6.2


def test_a_silent_server_never_freezes_the_process():
    """A listener that accepts and never answers: FFmpeg would wait forever holding the GIL."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"rtmp://127.0.0.1:{silent.getsockname()[1]}/live/x"
        sink = RtmpSink(url, connect_timeout=0.3, backoff=(0.05, 0.1))
        ticks, t0 = 0, time.perf_counter()
        for f in paced(clip(25)):         # 1 s: the main thread keeps running meanwhile
            sink.write(f)
            ticks += 1
        took = time.perf_counter() - t0
        sink.close()
    assert ticks == 25 and took < 1.5
    assert sink.metrics.written == 0 and "timed out" in sink.last_error
    assert sink.metrics.outage_s > 0.5


def test_write_does_not_block_when_no_server_is_there():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]           # nothing listens here
    sink = RtmpSink(f"rtmp://127.0.0.1:{port}/live/x", max_queue=4, backoff=(0.05, 0.2))
    took = write_timed(sink, clip(40))
    sink.close()
    assert max(took) < 0.010
    assert sink.metrics.written == 0 and sink.metrics.dropped == 40
    assert not sink.connected and "refused" in sink.last_error.lower()


@pytest.mark.parametrize("url", ["http://x/live/k", "rtmp://", "rtmp://host", "rtmp://host/app"])
def test_bad_urls_say_what_is_expected(url):
    with pytest.raises(InputError, match="rtmp://HOST"):
        RtmpSink(url)


def test_stream_keys_stay_out_of_logs():
    assert redact("rtmp://a.example/live/sk_12345678") == "rtmp://a.example/live/****"
    sink = RtmpSink("rtmp://127.0.0.1:9/live/sk_12345678")   # nothing is sent: no frames
    sink.close()
    assert "sk_" not in repr(sink)
