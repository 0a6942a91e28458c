"""``dhsdk host``: argument checks, and a whole unattended session (synthetic avatar, real
espeak-ng speech, comments from a tailed file) into a sink."""
from __future__ import annotations

import json
import threading

import numpy as np
import pytest

from dhsdk.bench.synthetic import SyntheticAvatar
from dhsdk.cli import build_parser, main
from dhsdk.commerce import host_cli
from dhsdk.commerce.comments import CommentQueue
from dhsdk.errors import InputError
from dhsdk.pipeline.lipsync import LipSync


def parse(*argv):
    return build_parser().parse_args(["host", *argv])


class FrameList:
    """A sink that keeps what it is given."""

    def __init__(self):
        self.frames = []

    def write(self, frame):
        self.frames.append(frame)


@pytest.mark.parametrize("argv,match", [
    (["--llm", "openai"], "--base-url and --model"),
    (["--tts", "openai"], "--tts-base-url"),
    (["--tts", "piper"], "--piper-voice"),
    (["--tts", "piper", "--piper-voice", "nope.onnx"], "does not exist"),
    (["--catalog", "nope.yaml"], "does not exist"),
    (["--rate", "2000"], "80..450"),
])
def test_bad_arguments_are_input_errors_before_any_avatar_loads(argv, match):
    with pytest.raises(InputError, match=match):
        host_cli.Show.from_args(parse(*argv))


def test_the_command_is_registered_and_needs_a_sink(capsys):
    assert main(["host", "--catalog", "x.yaml"]) == 2
    assert "no --sink given" in capsys.readouterr().err


def test_comment_sources_are_checked_and_http_listens():
    queue, stop = CommentQueue(), threading.Event()
    for spec in ("http:abc", "http:99999", "http:127.0.0.1:70000"):
        with pytest.raises(InputError, match="http:PORT"):
            host_cli.open_comments([spec], queue, stop)
    (busy,) = host_cli.open_comments(["http:127.0.0.1:0"], queue, stop)
    try:
        with pytest.raises(InputError, match="cannot listen on .*choose another port"):
            host_cli.open_comments([f"http:127.0.0.1:{busy.server_address[1]}"], queue, stop)
    finally:
        busy.shutdown()
        busy.server_close()
    (server,) = host_cli.open_comments(["http:127.0.0.1:0"], queue, stop)
    try:
        assert server.server_address[1] > 0
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.slow
def test_a_host_thread_that_dies_ends_the_session_with_its_error(tmp_path, monkeypatch):
    from dhsdk.commerce.host import Host

    def broken(self, loops):
        raise RuntimeError("the host broke")

    monkeypatch.setattr(Host, "run", broken)
    args = parse("--rate", "350")
    sync = LipSync(SyntheticAvatar(160, 160), mouth="warp", device="cpu")
    with pytest.raises(RuntimeError, match="the host broke"):
        host_cli.run_session(args, host_cli.Show.from_args(args), sync, FrameList())


def test_a_whole_session_runs_unattended_into_a_sink(tmp_path):
    catalog = tmp_path / "shop.yaml"
    catalog.write_text("shop: Pen Shop\nproducts:\n  - {id: pen, name: gel pen, price: 2, stock: 40,\n"
                       "     selling_points: [it writes smoothly, the best pen ever]}\n", encoding="utf-8")
    comments, events = tmp_path / "comments.txt", tmp_path / "events.jsonl"
    comments.write_text("")
    args = parse("--catalog", str(catalog), "--comments", str(comments), "--rate", "350", "--events", str(events))

    def viewer():
        with comments.open("a", encoding="utf-8") as f:
            f.write("anna: how many are in stock?\nspam: visit www.cheap.xyz\n")

    threading.Timer(1.0, viewer).start()
    sink = FrameList()
    sync = LipSync(SyntheticAvatar(160, 160), mouth="warp", device="cpu")
    summary = host_cli.run_session(args, host_cli.Show.from_args(args), sync, sink)
    assert summary["answered"] == 1 and summary["skipped"] == 1 and summary["said"] >= 5
    assert summary["comments"]["spam"] == 1
    logged = [json.loads(line) for line in events.read_text(encoding="utf-8").splitlines()]
    assert {"kind": "comment", "text": "how many are in stock?"}.items() <= logged[
        [e["kind"] for e in logged].index("comment")].items()
    assert "We have 40 of the gel pen left." in [e["text"] for e in logged if e["kind"] == "say"]
    frames = sink.frames
    assert len(frames) == summary["stream"]["frames"] and [f.index for f in frames] == list(range(len(frames)))
    speech = sum(np.count_nonzero(f.audio) for f in frames) / 16000
    assert speech > 3.0 and not frames[-1].speaking  # it spoke, and ended with the mouth at rest
