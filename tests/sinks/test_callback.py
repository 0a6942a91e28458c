"""CallbackSink and the shared sink lifecycle (checks, close, abort, the worker's drop-oldest queue)."""
from __future__ import annotations

import threading

import numpy as np
import pytest

from sink_helpers import clip, write_timed
from dhsdk.errors import InputError
from dhsdk.sinks.callback import CallbackSink


def test_frames_reach_the_callback_in_order():
    got, closed = [], []
    with CallbackSink(got.append, on_close=lambda: closed.append(True)) as sink:
        for f in clip(5):
            sink.write(f)
    assert [f.index for f in got] == list(range(5)) and closed == [True]
    assert sink.metrics.summary() == {"written": 5, "dropped": 0, "reconnects": 0}
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
