"""``dhsdk live``: an avatar speaking live from a WAV, text lines on stdin, or the microphone,
to one or more sinks (file, RTMP, OBS, browser).

Nothing is lost and nothing fails in silence:

- arguments, sink specs, output paths and the input are checked before the avatar loads;
- the run ends when every word of the input has been played (the mouth closed after it), at
  ``--duration``, or at the first Ctrl-C / SIGTERM / SIGHUP, which stops between two frames so
  every sink finishes its output (a file sink's mp4 of what streamed is playable) and the
  command exits with 128 + the signal's number;
- a sink that never reaches its endpoint ends the run after ``--sink-timeout`` seconds (or,
  with ``--sink-retry``, keeps trying and fails the run at the end), a failing feeder or sink
  thread ends it with its error, and the summary reports every sink's health.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import threading
import time
from typing import Any, Callable

from dhsdk import cli_args
from dhsdk.errors import InputError

_CHUNK_S = 0.02       # push granularity for WAV and TTS input


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--avatar", default="default", help="avatar bundle directory, or 'default'")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--wav", help="play this audio file in real time (any format PyAV reads)")
    src.add_argument("--stdin-text", action="store_true", help="say each line read from stdin (espeak-ng TTS)")
    src.add_argument("--mic", action="store_true", help="the microphone (needs sounddevice + PortAudio)")
    cli_args.add_sink_arguments(p)
    p.add_argument("--voice", default="en-us", help="TTS voice with --stdin-text")
    p.add_argument("--mouth", choices=["auto", "warp", "unet"], default="auto")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    p.add_argument("--vad", action="store_true", help="gate the mouth by voice activity (Silero VAD), not just level")
    p.add_argument("--duration", type=cli_args.positive("--duration"),
                   help="stop after this many seconds (default: when the input has been said)")
    p.add_argument("--metrics", action="store_true",
                   help="print the stream's and each sink's metrics as JSON at the end")


class Feeder(threading.Thread):
    """Runs an input feeder (``fn(stream, *args, stop)``) on a daemon thread and keeps its failure.

    Attributes:
        error: the exception that ended the feeder early, or None.
    """

    def __init__(self, fn: Callable[..., Any], *args: Any):
        super().__init__(name="dhsdk-feeder", daemon=True)
        self._fn, self._args = fn, args
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self._fn(*self._args)
        except BaseException as e:  # noqa: BLE001  (raised on the main thread by the frame loop)
            self.error = e


def feed_pcm(stream: Any, pcm: Any, stop: threading.Event) -> None:
    """Push 16 kHz PCM in real time, a small chunk at a time (what a live source does)."""
    n = int(16000 * _CHUNK_S)
    start = time.perf_counter()
    for i, a in enumerate(range(0, len(pcm), n)):
        if stop.wait(max(0.0, start + i * _CHUNK_S - time.perf_counter())):
            return
        stream.push_audio(pcm[a:a + n])
    stream.end_speech()


def feed_text(stream: Any, lines: Any, tts: Any, stop: threading.Event) -> None:
    """Say each line through ``tts``, keeping at most a few seconds buffered."""
    for line in lines:
        if stop.is_set():
            return
        if not line.strip():
            continue
        for chunk in tts.synthesize_stream(line.strip()):
            while stream.buffered_seconds() > 5.0 and not stop.wait(0.05):
                pass
            stream.push_audio(chunk)
        stream.end_speech()


def open_tts(voice: str) -> Any:
    """The espeak-ng TTS for ``--stdin-text``, its voice checked now (not at the first line).

    Raises:
        InputError: an unknown voice.
    """
    from dhsdk.adapters.tts.espeak import EspeakTTS

    tts = EspeakTTS(voice=voice)
    list(tts.synthesize_stream("a"))   # ~10 ms; raises for an unknown voice
    return tts


def json_safe(value: Any) -> Any:
    """``value`` with NaN and infinities as None (JSON has no NaN: ``null`` is what parsers accept)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def sounddevice() -> Any:
    """The ``sounddevice`` module for ``--mic``.

    Raises:
        InputError: it or the PortAudio library is missing (says how to install it).
    """
    from dhsdk._optional import require

    try:
        return require("sounddevice", "--mic")
    except (ImportError, OSError) as e:  # OSError: the PortAudio library is missing
        raise InputError(f"--mic is unavailable here: {e}") from None


def play(stream: Any, group: Any, feeder: Feeder | None, duration: float | None, stop: Any) -> float:
    """Pull frames into the sinks until the input has been said, ``duration`` or a stop request.

    The input is over when the feeder has returned and the stream holds no unplayed speech;
    the run then ends at the first silent frame after the frame being made at that moment, so
    the last word plays and the mouth closes.

    Args:
        stream: a running real-time :class:`~dhsdk.pipeline.stream.Stream`.
        group: the :class:`~dhsdk.sinks.group.SinkGroup`.
        feeder: the input's feeder (None for the microphone: only ``duration`` or a signal end it).
        duration: seconds to run at most.
        stop: set by a stop signal (:class:`dhsdk.signals.StopRequest`).

    Returns:
        seconds played.

    Raises:
        the feeder's exception, :class:`~dhsdk.errors.SinkError`, :class:`~dhsdk.errors.OutputError`.
    """
    t0 = time.perf_counter()
    end_at = None   # the first frame index that comes after all input
    for frame in stream:
        group.write(frame)
        if feeder is not None and feeder.error is not None:
            raise feeder.error
        if stop.is_set() or (duration is not None and time.perf_counter() - t0 >= duration):
            break
        if end_at is None and feeder is not None and not feeder.is_alive() and stream.buffered_seconds() == 0:
            end_at = stream.metrics.frames + 1
        if end_at is not None and frame.index >= end_at and not frame.speaking:
            break
    return time.perf_counter() - t0


def stream_input(args: argparse.Namespace, sync: Any, group: Any, stop: Any, pcm: Any, tts: Any,
                 sd: Any) -> tuple[Any, float]:
    """Run a real-time stream of ``sync`` fed by the input (``pcm``, else ``tts`` lines from stdin,
    else the microphone through ``sd``) into ``group`` until :func:`play` ends it.

    Returns:
        (the stream's metrics, seconds played).
    """
    from dhsdk.pipeline.stream import Stream

    done, mic = threading.Event(), None
    with Stream(sync, realtime=True, vad=args.vad, drift_s=0.5 if args.mic else None) as stream:
        if pcm is not None:
            feeder = Feeder(feed_pcm, stream, pcm, done)
        elif tts is not None:
            feeder = Feeder(feed_text, stream, sys.stdin, tts, done)
        else:
            feeder = None
            mic = sd.InputStream(samplerate=16000, channels=1, dtype="float32",
                                 callback=lambda data, *_: stream.push_audio(data[:, 0].copy()))
            mic.start()
        if feeder is not None:
            feeder.start()
        try:
            elapsed = play(stream, group, feeder, args.duration, stop)
        finally:
            done.set()
            if mic is not None:
                mic.stop()
                mic.close()
    return stream.metrics, elapsed


def run(args: argparse.Namespace) -> int:
    from dhsdk.sinks.group import check_spec

    if not args.sink:
        raise InputError("no --sink given: add e.g. --sink file:out.mp4 or --sink browser:8080")
    for spec in args.sink:
        check_spec(spec)
    pcm = tts = sd = None
    if args.wav:
        from dhsdk.audio import load_audio

        pcm = load_audio(args.wav)
    elif args.stdin_text:
        tts = open_tts(args.voice)
    else:
        sd = sounddevice()

    from dhsdk.avatar import Avatar
    from dhsdk.pipeline.lipsync import LipSync
    from dhsdk.sinks.group import conclude, live_outputs

    avatar = Avatar.default() if args.avatar == "default" else Avatar.load(args.avatar)
    lengths = [s for s in (args.duration, None if pcm is None else len(pcm) / 16000 + 1.0) if s]
    for spec in args.sink:
        check_spec(spec, (avatar.width, avatar.height), avatar.fps, min(lengths) if lengths else None)
    sync = LipSync(avatar, mouth=args.mouth, device=args.device)
    with live_outputs(args.sink, None if args.sink_retry else args.sink_timeout) as (group, stop):
        m, elapsed = stream_input(args, sync, group, stop, pcm, tts, sd)
    if args.metrics:
        print(json.dumps(json_safe({**m.summary(), "sinks": group.summary()})))
    print(f"live: {m.frames} frames, {m.late} late, {m.repeated} repeated, {m.dropped} dropped, "
          f"{m.underruns} underruns", file=sys.stderr)
    conclude("live", group, stop, elapsed)
    return 0
