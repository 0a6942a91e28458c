"""CallbackSink and the shared sink lifecycle (checks, close, abort, the worker's drop-oldest queue)."""
from __future__ import annotations

import threading

import numpy as np
import pytest

from sink_helpers import clip, write_timed
from dhsdk.errors import InputError, SinkError
from dhsdk.sinks.base import SinkMetrics
from dhsdk.sinks.callback import CallbackSink


def test_frames_reach_the_callback_in_order():
    got, closed = [], []
    with CallbackSink(got.append, on_close=lambda: closed.append(True)) as sink:
        for f in clip(5):
            sink.write(f)
    assert [f.index for f in got] == list(range(5)) and closed == [True]
    assert sink.metrics.summary() == {"written": 5, "dropped": 0, "reconnects": 0, "outage_s": 0.0}
    with pytest.raises(InputError, match="closed"):
        sink.write(got[0])


def test_callback_errors_propagate_on_the_callers_thread():
    def boom(frame):
        raise RuntimeError("integrator bug")

    sink = CallbackSink(boom)
    with pytest.raises(RuntimeError, match="integrator bug"):
        sink.write(next(clip(1)))
    sink.close()


def test_a_slow_threaded_callback_loses_the_oldest_frames_never_blocks():
    release, got = threading.Event(), []

    def slow(frame):
        release.wait(5)
        got.append(frame.index)

    sink = CallbackSink(slow, threaded=True, max_queue=4)
    took = write_timed(sink, clip(30))
    release.set()
    sink.close()
    assert max(took) < 0.010
    assert got[-4:] == [26, 27, 28, 29]           # the newest frames survive
    assert sink.metrics.written + sink.metrics.dropped == 30 and sink.metrics.dropped >= 25


def test_malformed_frames_are_refused_before_the_callback():
    got = []
    sink = CallbackSink(got.append)
    frame = next(clip(1))
    for change, message in [(dict(image=np.zeros((4, 4), np.uint8)), "uint8 RGB"),
                            (dict(image=np.zeros((1, 4, 3), np.uint8)), "too small"),
                            (dict(audio=[0.0] * 10), "mono"),
                            (dict(sample_rate=0), "positive")]:
        with pytest.raises(InputError, match=message):
            sink.write(type(frame)(**{**frame.__dict__, **change}))
    assert got == []


def test_a_threaded_callback_that_keeps_failing_fails_the_sink_at_the_next_write():
    def broken(frame):
        raise OSError("the integrator's socket is closed")

    sink = CallbackSink(broken, threaded=True, max_queue=64)
    for f in clip(25):                 # 25 failures in a row = the worker's limit
        sink.write(f)
    deadline = threading.Event()
    for _ in range(200):
        if sink.error is not None:
            break
        deadline.wait(0.01)
    with pytest.raises(SinkError, match="25 frames in a row.*socket is closed"):
        sink.write(next(clip(1, start=25)))
    sink.close()


def test_one_bad_frame_does_not_fail_a_threaded_sink():
    got = []

    def flaky(frame):
        if frame.index == 3:
            raise ValueError("one bad frame")
        got.append(frame.index)

    with CallbackSink(flaky, threaded=True, max_queue=64) as sink:
        for f in clip(10):
            sink.write(f)
    assert sink.error is None and got == [0, 1, 2, 4, 5, 6, 7, 8, 9] and sink.metrics.dropped == 1


def test_outage_seconds_add_up_across_outages_and_count_the_current_one():
    m = SinkMetrics()
    m.down(now=10.0)
    m.down(now=11.0)          # still the same outage
    m.up(now=12.5)
    m.up(now=13.0)            # already up: nothing to add
    assert m.outage_s == pytest.approx(2.5)
    import time

    m.down(now=time.monotonic() - 2.0)   # down for 2 s and counting
    assert m.outage_s == pytest.approx(4.5, abs=0.05)
    assert m.summary()["outage_s"] == pytest.approx(4.5, abs=0.05)
