"""``dhsdk live`` argument handling, the real-time feeders and the frame loop's end (no avatar
needed: a fake lip-sync, the real Stream clock and the real espeak-ng TTS)."""
from __future__ import annotations

import io
import json
import threading

import numpy as np
import pytest

from dhsdk.cli import build_parser
from dhsdk.errors import SinkError
from dhsdk.pipeline.live_cli import Feeder, feed_pcm, feed_text, json_safe, open_tts, play
from dhsdk.pipeline.stream import Stream

from test_stream_fakes import FakeLipSync, tone


class Recorder:
    """Stands in for a SinkGroup: keeps the frames written."""

    def __init__(self):
        self.frames = []

    def write(self, frame):
        self.frames.append(frame)


def test_parser_accepts_inputs_and_repeated_sinks():
    args = build_parser().parse_args(["live", "--wav", "a.wav", "--sink", "file:o.mp4", "--sink", "obs"])
    assert args.wav == "a.wav" and args.sink == ["file:o.mp4", "obs"]
    assert (args.sink_timeout, args.sink_retry) == (10.0, False)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["live", "--wav", "a.wav", "--mic"])


@pytest.mark.parametrize("value", ["nan", "inf", "0", "-3"])
def test_durations_that_cannot_work_are_refused_by_the_parser(value, capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["live", "--wav", "a.wav", "--sink", "obs", "--duration", value])
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--duration" in err


def test_feed_pcm_pushes_in_real_time_and_everything_plays():
    pcm = tone(0.4)
    got = []
    with Stream(FakeLipSync(), realtime=True, on_frame=got.append) as s:
        feed_pcm(s, pcm, threading.Event())
        for _ in range(250):   # 0.4 s of audio; up to 5 s for a loaded machine to play it out
            if s.metrics.buffer_s == 0 and len(got) > 20:
                break
            threading.Event().wait(0.02)
    audio = np.concatenate([f.audio for f in got])
    assert np.isclose(np.abs(audio).sum(), np.abs(pcm).sum(), rtol=1e-4)
    assert s.metrics.underruns == 0


@pytest.mark.parametrize("lines", [["Hello and welcome\n"], ["Hello\n", "\n", "and welcome\n"]])
def test_stdin_text_ends_only_after_every_line_was_said(lines):
    """The README's ``echo ... | dhsdk live --stdin-text``: the TTS is much faster than real time,
    so the feeder is done while the first frame (made before any speech) waits to be pulled;
    the loop must still play every sample, not end at that silent frame."""
    tts = open_tts("en-us")
    said = np.concatenate([c.pcm for line in lines if line.strip() for c in tts.synthesize_stream(line.strip())])
    sink, stop = Recorder(), threading.Event()
    with Stream(FakeLipSync(), realtime=True) as stream:
        while stream.metrics.frames == 0:
            threading.Event().wait(0.002)
        feeder = Feeder(feed_text, stream, io.StringIO("".join(lines)), tts, stop)
        feeder.start()
        feeder.join()
        play(stream, sink, feeder, None, stop)
    audio = np.concatenate([f.audio for f in sink.frames])
    # The stream resamples to 16 kHz: compare the energy of what was said and what was played.
    played, expected = float(np.sum(audio ** 2)) / 16000, float(np.sum(said ** 2)) / tts_rate(tts)
    assert played == pytest.approx(expected, rel=0.02)
    assert not sink.frames[-1].speaking and [f.index for f in sink.frames] == list(range(len(sink.frames)))


def tts_rate(tts):
    return next(iter(tts.synthesize_stream("a"))).sample_rate


def test_a_failing_feeder_ends_the_run_with_its_error():
    def broken(stream, stop):
        raise SinkError("the feeder broke")

    with Stream(FakeLipSync(), realtime=True) as stream:
        feeder = Feeder(broken, stream, threading.Event())
        feeder.start()
        with pytest.raises(SinkError, match="the feeder broke"):
            play(stream, Recorder(), feeder, 5.0, threading.Event())


def test_a_stop_request_ends_the_loop_between_frames():
    stop, sink = threading.Event(), Recorder()
    threading.Timer(0.3, stop.set).start()
    with Stream(FakeLipSync(), realtime=True) as stream:
        elapsed = play(stream, sink, None, 10.0, stop)
    assert 0.25 < elapsed < 1.0 and 5 <= len(sink.frames) <= 25


def test_metrics_json_has_null_where_there_is_no_value():
    text = json.dumps(json_safe({"latency_p50_ms": float("nan"), "sinks": [{"outage_s": float("inf")}], "n": 3}))
    assert json.loads(text) == {"latency_p50_ms": None, "sinks": [{"outage_s": None}], "n": 3}
    assert "NaN" not in text and "Infinity" not in text
