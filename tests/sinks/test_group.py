"""SinkGroup: ``--sink`` specs checked before work, every sink fed, a sink that never delivers
ends the run, outputs finished however the run ends, each sink's health reported."""
from __future__ import annotations

import socket
import time
import uuid

import pytest

from sink_helpers import clip, decode
from dhsdk.errors import InputError, SinkError
from dhsdk.signals import Interrupted
from dhsdk.sinks.callback import CallbackSink
from dhsdk.sinks.file import FileSink
from dhsdk.sinks.group import SinkGroup, check_spec, conclude, live_outputs, open_sink
from dhsdk.sinks.rtmp import RtmpSink


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]     # nothing listens here once the socket is closed


@pytest.mark.parametrize("spec,match", [
    ("ftp:x", "unknown sink"), ("file:", "needs a target"), ("nonsense", "unknown sink"),
    ("browser:eighty", "1 to 65535"), ("browser:99999", "1 to 65535"), ("browser:0", "1 to 65535"),
    ("rtmp://host", "rtmp://HOST"),
])
def test_bad_specs_say_what_is_accepted(spec, match):
    with pytest.raises(InputError, match=match):
        check_spec(spec)


def test_file_specs_are_checked_before_any_work(tmp_path):
    with pytest.raises(InputError, match="is a directory"):
        check_spec(f"file:{tmp_path}")
    with pytest.raises(InputError, match="does not exist"):
        check_spec(f"file:{tmp_path / 'missing' / 'o.mp4'}")
    with pytest.raises(InputError, match="not enough free space"):   # a year of 4K video
        check_spec(f"file:{tmp_path / 'o.mp4'}", (3840, 2160), 60.0, 365 * 24 * 3600.0)
    check_spec(f"file:{tmp_path / 'o.mp4'}", (320, 240), 25.0, 2.0)
    assert list(tmp_path.iterdir()) == []


def test_each_sink_spec_opens_its_sink(tmp_path):
    from dhsdk.sinks.browser import BrowserSink
    from dhsdk.sinks.obs import ObsSink

    name = f"cli-{uuid.uuid4().hex[:8]}"
    group = SinkGroup.open([f"file:{tmp_path / 'o.mp4'}", "rtmp://127.0.0.1:9/live/k", f"obs:{name}",
                            "browser:8080" if _free(8080) else "obs"])
    try:
        assert [type(s) for s in group.sinks[:3]] == [FileSink, RtmpSink, ObsSink]
        assert type(group.sinks[3]) in (BrowserSink, ObsSink)
        assert group.sinks[1].url == "rtmp://127.0.0.1:9/live/k" and group.sinks[2].name == name
        assert [s["sink"] for s in group.summary()][:3] == [f"file:{tmp_path / 'o.mp4'}",
                                                            "rtmp://127.0.0.1:9/live/****", f"obs:{name}"]
    finally:
        group.finish()            # nothing written: the file sink leaves no file
    assert list(tmp_path.iterdir()) == []


def _free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def test_a_spec_that_cannot_open_discards_the_sinks_opened_before(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        with pytest.raises(InputError, match="another port"):
            SinkGroup.open([f"file:{tmp_path / 'o.mp4'}", f"browser:{busy.getsockname()[1]}"])
    assert list(tmp_path.iterdir()) == []


def test_a_sink_that_never_delivers_ends_the_run_with_its_reason():
    url = f"rtmp://127.0.0.1:{closed_port()}/live/secret-key"
    group = SinkGroup([RtmpSink(url, backoff=(0.05, 0.1))], give_up_s=0.5)
    t0 = time.perf_counter()
    with pytest.raises(SinkError, match=r"rtmp://127.0.0.1:\d+/live/\*\*\*\*: nothing delivered in 0\.\d s "
                                        r"\(ConnectionRefusedError.*--sink-retry") as e:
        for f in clip(100):
            group.write(f)
            time.sleep(0.02)
    group.finish(e.value)
    assert 0.5 < time.perf_counter() - t0 < 1.5 and "secret" not in str(e.value)


def test_retrying_keeps_going_and_the_end_of_the_run_reports_what_never_arrived():
    group = SinkGroup([RtmpSink(f"rtmp://127.0.0.1:{closed_port()}/live/k", backoff=(0.05, 0.1)),
                       CallbackSink(lambda f: None)], give_up_s=None)
    for f in clip(30):
        group.write(f)
        time.sleep(0.02)
    group.finish()
    (line,) = group.undelivered()
    assert "nothing was delivered (ConnectionRefusedError" in line
    rtmp, callback = group.summary()
    assert rtmp["written"] == 0 and rtmp["dropped"] == 30 and rtmp["outage_s"] > 0.4
    assert "refused" in rtmp["last_error"].lower()
    assert callback == {"sink": "CallbackSink", "written": 30, "dropped": 0, "reconnects": 0, "outage_s": 0.0,
                        "last_error": None}
    report = group.report()
    assert "0 written, 30 dropped, 0 reconnects" in report[0] and report[1] == "CallbackSink: 30 written, 0 dropped"


def test_a_failed_sink_thread_ends_the_run_at_the_next_frame():
    sink = CallbackSink(lambda f: None)
    group = SinkGroup([sink])
    group.write(next(clip(1)))
    sink.fail("its worker thread stopped: RuntimeError: gone")
    with pytest.raises(SinkError, match="CallbackSink: its worker thread stopped: RuntimeError: gone"):
        group.write(next(clip(1, start=1)))


def test_an_interrupted_run_finishes_the_file_with_what_streamed(tmp_path):
    """Ctrl-C / SIGTERM end a live run between frames: the mp4 of what streamed is kept and plays."""
    out = tmp_path / "live.mp4"
    with pytest.raises(Interrupted, match="stopped by SIGTERM after 1.0 s; the outputs were finished"):
        with live_outputs([f"file:{out}"], 10.0) as (group, stop):
            for f in clip(25):
                group.write(f)
            stop.signum = 15
            stop.event.set()
        conclude("live", group, stop, 1.0)
    vts, images, audio, rate, _ = decode(str(out))
    assert len(images) == 25 and len(audio) / rate == pytest.approx(1.0, abs=0.03)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["live.mp4"]


def test_a_failing_run_still_finishes_the_outputs_that_got_frames(tmp_path):
    out, empty = tmp_path / "kept.mp4", tmp_path / "never.mp4"
    with pytest.raises(RuntimeError, match="the stream broke"):
        with live_outputs([f"file:{out}"], 10.0) as (group, _):
            for f in clip(10):
                group.write(f)
            raise RuntimeError("the stream broke")
    with pytest.raises(RuntimeError, match="before any frame"):
        with live_outputs([f"file:{empty}"], 10.0):
            raise RuntimeError("before any frame")     # not hidden by "no frames were written"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.mp4"]
    assert len(decode(str(out))[1]) == 10


def test_open_sink_builds_the_sink_of_each_kind(tmp_path):
    sink = open_sink(f"file:{tmp_path / 'a.mp4'}")
    assert isinstance(sink, FileSink) and str(sink) == f"file:{tmp_path / 'a.mp4'}"
    sink.abort()
