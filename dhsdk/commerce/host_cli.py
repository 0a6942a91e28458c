"""``dhsdk host``: an unattended live-commerce session: an avatar presents the catalogue,
answers viewers' comments (stdin, a tailed file, an HTTP endpoint) and keeps every sentence
compliant, to one or more sinks (file, RTMP, OBS, browser)."""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from dhsdk import cli_args
from dhsdk.errors import InputError

SAMPLE_CATALOG = Path(__file__).resolve().parents[1] / "assets" / "commerce" / "sample_catalog.yaml"
_DRAIN_S = 0.5  # idle video after the last word, so the mouth closes before the end


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--avatar", default="default", help="avatar bundle directory, or 'default'")
    p.add_argument("--catalog", help="products YAML/JSON (default: the bundled sample catalogue)")
    cli_args.add_sink_arguments(p, example="file:show.mp4")
    p.add_argument("--comments", action="append", default=[], metavar="SOURCE",
                   help="viewers' comments, repeatable: 'stdin', a file to tail, or http:[HOST:]PORT "
                        "(POST /comment {\"user\", \"text\"}); lines are 'user: text'")
    g = p.add_argument_group("language model")
    g.add_argument("--llm", choices=["local", "openai"], default="local",
                   help="local: answers from the catalogue, offline (default); openai: any OpenAI-compatible server")
    g.add_argument("--base-url", help="OpenAI-compatible API root, e.g. http://127.0.0.1:8000/v1")
    g.add_argument("--model", help="model name the server knows")
    g.add_argument("--api-key-env", default="OPENAI_API_KEY", metavar="VAR",
                   help="environment variable holding the API key (default OPENAI_API_KEY)")
    g.add_argument("--script", choices=["auto", "llm", "templates"], default="auto",
                   help="who writes the pitch: auto = the LLM when --llm openai, else templates")
    g = p.add_argument_group("speech")
    g.add_argument("--tts", choices=["espeak", "openai", "piper"], default="espeak")
    g.add_argument("--voice", help="espeak voice (default 'auto': Mandarin for Chinese sentences, else en-us) "
                                   "or the OpenAI server's voice (default alloy)")
    g.add_argument("--rate", type=int, default=170, help="espeak words per minute")
    g.add_argument("--pitch", type=int, default=50, help="espeak pitch 0..100")
    g.add_argument("--tts-base-url", help="OpenAI-compatible speech server (default: --base-url)")
    g.add_argument("--tts-model", default="tts-1", help="the speech server's model")
    g.add_argument("--piper-voice", metavar="ONNX", help="a Piper voice you have (.onnx, .onnx.json beside it)")
    g = p.add_argument_group("session")
    g.add_argument("--rules", help="more compliance rules (YAML), added to the defaults")
    g.add_argument("--loops", type=int, default=1, help="times through the catalogue (0 = until --duration or Ctrl-C)")
    g.add_argument("--duration", type=cli_args.positive("--duration"), help="stop after this many seconds")
    g.add_argument("--events", metavar="PATH", help="write the host's events as JSON lines here ('-' = stderr)")
    g.add_argument("--mouth", choices=["auto", "warp", "unet"], default="auto")
    g.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")


def make_llm(args: argparse.Namespace) -> Any:
    """The answering/scripting LLM of ``--llm`` (None: the offline catalogue model)."""
    if args.llm == "local":
        return None
    if not args.base_url or not args.model:
        raise InputError("--llm openai needs --base-url and --model, e.g. --base-url http://127.0.0.1:8000/v1 "
                         "--model Qwen2.5-7B-Instruct")
    from dhsdk.adapters.llm.openai_compat import OpenAICompatLLM

    return OpenAICompatLLM(args.base_url, args.model, api_key=os.environ.get(args.api_key_env, ""))


def make_tts(args: argparse.Namespace) -> Any:
    """The TTS adapter of ``--tts``."""
    if args.tts == "openai":
        url = args.tts_base_url or args.base_url
        if not url:
            raise InputError("--tts openai needs --tts-base-url (or --base-url), e.g. http://127.0.0.1:8880/v1")
        from dhsdk.adapters.tts.openai import OpenAITTS

        return OpenAITTS(url, model=args.tts_model, voice=args.voice or "alloy",
                         api_key=os.environ.get(args.api_key_env, ""))
    if args.tts == "piper":
        if not args.piper_voice:
            raise InputError("--tts piper needs --piper-voice PATH.onnx (a voice you have; none is downloaded)")
        from dhsdk.adapters.tts.piper import PiperTTS

        return PiperTTS(args.piper_voice)
    from dhsdk.adapters.tts.espeak import EspeakTTS

    return EspeakTTS(args.voice or "auto", rate_wpm=args.rate, pitch=args.pitch)


def comment_address(spec: str) -> tuple[str, int]:
    """(host, port) of an ``http:[HOST:]PORT`` comment source.

    Raises:
        InputError: no port, or a port above 65535 (0 picks a free one).
    """
    host, _, port = spec[5:].rpartition(":")
    if not (port.isdigit() and int(port) <= 65535):
        raise InputError(f"--comments {spec!r}: give http:PORT or http:HOST:PORT with a port up to 65535, "
                         f"e.g. http:8090")
    return host or "127.0.0.1", int(port)


def open_comments(specs: list[str], queue: Any, stop: threading.Event) -> list[Any]:
    """Start a feed for every ``--comments`` source (stdin and file feeds end with ``stop``).

    Returns:
        the HTTP servers started (``server_address`` has the port; the caller shuts them down).

    Raises:
        InputError: a bad ``http:`` spec, or its address cannot be served (port in use).
    """
    from dhsdk.commerce import comments

    servers = []
    for spec in specs:
        if spec == "stdin":
            comments.feed_from_stream(queue, sys.stdin, stop)
        elif spec.startswith("http:"):
            host, port = comment_address(spec)
            try:
                server = comments.serve_comments(queue, host, port)
            except (OSError, OverflowError) as e:
                for started in servers:
                    started.shutdown()
                    started.server_close()
                raise InputError(f"--comments {spec!r}: cannot listen on {host}:{port}: {e} "
                                 f"(choose another port)") from None
            print(f"host: comments at http://{server.server_address[0]}:{server.server_address[1]}/comment",
                  file=sys.stderr)
            servers.append(server)
        else:
            comments.feed_from_file(queue, spec, stop)
    return servers


@dataclass
class Show:
    """What a session is made of, built from the arguments before any avatar is loaded (so a
    bad catalogue or a missing voice fails at once)."""

    catalog: Any
    llm: Any
    tts: Any
    compliance: Any
    scripted_by_llm: bool

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "Show":
        from dhsdk.commerce.catalog import load_catalog
        from dhsdk.commerce.compliance import ComplianceFilter

        catalog = load_catalog(args.catalog or SAMPLE_CATALOG)
        llm, tts = make_llm(args), make_tts(args)
        compliance = ComplianceFilter.from_file(args.rules) if args.rules else ComplianceFilter()
        return cls(catalog, llm, tts, compliance, args.script == "llm" or (args.script == "auto" and llm is not None))


def _event_writer(path: str | None, closing: contextlib.ExitStack) -> Callable[[Any], None] | None:
    """``--events``: a callback writing each host event as a JSON line."""
    if path is None:
        return None
    out = sys.stderr if path == "-" else closing.enter_context(open(path, "a", encoding="utf-8"))

    def write(event: Any) -> None:
        out.write(json.dumps(event.__dict__, ensure_ascii=False) + "\n")
        out.flush()

    return write


def run_session(args: argparse.Namespace, show: Show, lipsync: Any, out: Any, stop_request: Any = None) -> dict[str, Any]:
    """Run the show on a ready :class:`~dhsdk.pipeline.lipsync.LipSync` into ``out``
    (everything :func:`run` does after loading the avatar and opening the sinks).

    Args:
        out: where frames go: anything with ``write(frame)``, e.g. a
            :class:`~dhsdk.sinks.group.SinkGroup`.
        stop_request: ends the show between two frames once set (``is_set()``: a
            :class:`~dhsdk.signals.StopRequest` or a ``threading.Event``).

    Returns:
        counts of the session: sentences said/skipped/rewritten, comments answered and
        cancelled, errors, the comment queue's counters, the stream's metrics and the seconds
        it ran.

    Raises:
        the exception that ended the host's own thread (a bug, never a failing LLM or TTS).
    """
    from dhsdk.commerce.comments import CommentQueue
    from dhsdk.commerce.host import Host
    from dhsdk.pipeline.live_cli import Feeder
    from dhsdk.pipeline.stream import Stream

    queue = CommentQueue()
    stop = threading.Event()
    with contextlib.ExitStack() as closing:
        closing.callback(stop.set)
        for server in open_comments(args.comments, queue, stop):
            closing.callback(server.server_close)
            closing.callback(server.shutdown)
        stream = closing.enter_context(Stream(lipsync, realtime=True))
        host = Host(show.catalog, show.tts, stream, llm=show.llm, comments=queue, compliance=show.compliance,
                    scripted_by_llm=show.scripted_by_llm, on_event=_event_writer(args.events, closing))
        runner = Feeder(host.run, args.loops)
        runner.start()
        closing.callback(runner.join, 5.0)
        closing.callback(host.stop)
        t0 = time.perf_counter()
        quiet_since = None
        for frame in stream:
            out.write(frame)
            if runner.error is not None:
                raise runner.error
            now = time.perf_counter()
            if (stop_request is not None and stop_request.is_set()) or \
                    (args.duration is not None and now - t0 >= args.duration):
                break
            over = not runner.is_alive() and stream.buffered_seconds() == 0 and not frame.speaking
            quiet_since = (quiet_since or now) if over else None
            if quiet_since is not None and now - quiet_since >= _DRAIN_S:
                break
    kinds = [e.kind for e in host.log]
    return {"said": kinds.count("say"), "skipped": kinds.count("skip"), "rewritten": kinds.count("rewrite"),
            "answered": kinds.count("comment"), "cancelled": kinds.count("cancel"), "errors": kinds.count("error"),
            "comments": dict(queue.stats), "stream": stream.metrics.summary(), "seconds": time.perf_counter() - t0}


def run(args: argparse.Namespace) -> int:
    from dhsdk.sinks.group import check_spec

    if not args.sink:
        raise InputError("no --sink given: add e.g. --sink file:show.mp4 or --sink browser:8080")
    for spec in args.sink:
        check_spec(spec)
    for spec in args.comments:
        if spec.startswith("http:"):
            comment_address(spec)
    show = Show.from_args(args)

    from dhsdk.avatar import Avatar
    from dhsdk.pipeline.lipsync import LipSync
    from dhsdk.sinks.group import conclude, live_outputs

    avatar = Avatar.default() if args.avatar == "default" else Avatar.load(args.avatar)
    for spec in args.sink:
        check_spec(spec, (avatar.width, avatar.height), avatar.fps, args.duration)
    sync = LipSync(avatar, mouth=args.mouth, device=args.device)
    with live_outputs(args.sink, None if args.sink_retry else args.sink_timeout) as (group, stop):
        summary = run_session(args, show, sync, group, stop)
    m = summary["stream"]
    print(f"host: {summary['said']} sentences said, {summary['skipped']} skipped and {summary['rewritten']} rewritten "
          f"by compliance, {summary['answered']} comments answered, {summary['errors']} errors; "
          f"{m['frames']:.0f} frames, {m['late']:.0f} late", file=sys.stderr)
    conclude("host", group, stop, summary["seconds"])
    return 0
