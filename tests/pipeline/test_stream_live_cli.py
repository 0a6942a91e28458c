"""``dhsdk live`` argument handling and the real-time feeders (no avatar needed)."""
from __future__ import annotations

import threading

import numpy as np
import pytest

from dhsdk.cli import build_parser
from dhsdk.errors import InputError
from dhsdk.pipeline.live_cli import feed_pcm, open_sink
from dhsdk.pipeline.stream import Stream

from test_stream_fakes import FakeLipSync, tone


def test_parser_accepts_inputs_and_repeated_sinks():
    args = build_parser().parse_args(["live", "--wav", "a.wav", "--sink", "file:o.mp4", "--sink", "obs"])
    assert args.wav == "a.wav" and args.sink == ["file:o.mp4", "obs"]
    with pytest.raises(SystemExit):
        build_parser().parse_args(["live", "--wav", "a.wav", "--mic"])


@pytest.mark.parametrize("spec", ["ftp:x", "file:", "nonsense", "browser:eighty"])
def test_bad_sink_specs_say_what_is_accepted(spec):
    with pytest.raises(InputError, match="sink"):
        open_sink(spec)


def test_each_sink_spec_opens_its_sink(tmp_path):
    import uuid

    from dhsdk.sinks.browser import BrowserSink
    from dhsdk.sinks.file import FileSink
    from dhsdk.sinks.obs import ObsSink
    from dhsdk.sinks.rtmp import RtmpSink

    name = f"cli-{uuid.uuid4().hex[:8]}"
    sinks = [open_sink(f"file:{tmp_path / 'o.mp4'}"), open_sink("rtmp://127.0.0.1:9/live/k"),
             open_sink(f"obs:{name}"), open_sink("obs"), open_sink("browser:0")]
    try:
        assert [type(s) for s in sinks] == [FileSink, RtmpSink, ObsSink, ObsSink, BrowserSink]
        assert sinks[1].url == "rtmp://127.0.0.1:9/live/k"
        assert (sinks[2].name, sinks[3].name) == (name, "dhsdk")
        assert sinks[4].port > 0
    finally:
        sinks[0].abort()          # nothing written: leave no file
        for s in sinks[1:]:
            s.close()
    assert list(tmp_path.iterdir()) == []


def test_feed_pcm_pushes_in_real_time_and_everything_plays():
    pcm = tone(0.4)
    got = []
    with Stream(FakeLipSync(), realtime=True, on_frame=got.append) as s:
        feed_pcm(s, pcm, threading.Event())
        for _ in range(60):
            if s.metrics.buffer_s == 0 and len(got) > 20:
                break
            threading.Event().wait(0.02)
    audio = np.concatenate([f.audio for f in got])
    assert np.isclose(np.abs(audio).sum(), np.abs(pcm).sum(), rtol=1e-4)
    assert s.metrics.underruns == 0
