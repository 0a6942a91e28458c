"""``dhsdk live``: an avatar speaking live from a WAV, text lines on stdin, or the microphone,
to one or more sinks (file, RTMP, OBS, browser)."""
from __future__ import annotations

import argparse
import contextlib
import json
import sys
import threading
import time
from typing import Any

from dhsdk.errors import InputError

# sink spec prefix -> (module, class)
_SINKS = {
    "file": ("dhsdk.sinks.file", "FileSink"),
    "rtmp": ("dhsdk.sinks.rtmp", "RtmpSink"),
    "obs": ("dhsdk.sinks.obs", "ObsSink"),
    "browser": ("dhsdk.sinks.browser", "BrowserSink"),
}
_CHUNK_S = 0.02  # push granularity for WAV and TTS input


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--avatar", default="default", help="avatar bundle directory, or 'default'")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--wav", help="play this audio file in real time (any format PyAV reads)")
    src.add_argument("--stdin-text", action="store_true", help="say each line read from stdin (espeak-ng TTS)")
    src.add_argument("--mic", action="store_true", help="the microphone (needs sounddevice + PortAudio)")
    p.add_argument("--sink", action="append", default=[], metavar="SPEC",
                   help="where frames go, repeatable: file:out.mp4, rtmp://host/app/key, obs[:NAME], browser:8080")
    p.add_argument("--voice", default="en-us", help="TTS voice with --stdin-text")
    p.add_argument("--mouth", choices=["auto", "warp", "unet"], default="auto")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    p.add_argument("--vad", action="store_true", help="gate the mouth by voice activity (Silero VAD), not just level")
    p.add_argument("--duration", type=float, help="stop after this many seconds (default: when the input ends)")
    p.add_argument("--metrics", action="store_true", help="print the stream's metrics as JSON at the end")


def open_sink(spec: str) -> Any:
    """A sink from its command-line spec (see ``--sink``)."""
    if spec.startswith("rtmp://") or spec.startswith("rtmps://"):
        kind, arg = "rtmp", spec
    else:
        kind, _, arg = spec.partition(":")
    if kind not in _SINKS:
        raise InputError(f"unknown sink {spec!r}: use file:PATH, rtmp://URL, obs[:NAME] or browser:PORT")
    if kind == "file" and not arg:
        raise InputError(f"sink {spec!r} needs a target, e.g. file:out.mp4")
    module, name = _SINKS[kind]
    try:
        import importlib

        cls = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as e:
        raise InputError(f"sink {kind!r} is not available in this installation ({e})") from None
    if kind in ("file", "rtmp"):
        return cls(arg)
    if kind == "browser":
        if arg and not arg.isdigit():
            raise InputError(f"sink {spec!r}: the port must be a number, e.g. browser:8080")
        return cls(port=int(arg or 8080))
    return cls(arg or "dhsdk")  # obs: the ring name the OBS source reads


def feed_pcm(stream: Any, pcm: Any, stop: threading.Event) -> None:
    """Push 16 kHz PCM in real time, a small chunk at a time (what a live source does)."""
    n = int(16000 * _CHUNK_S)
    start = time.perf_counter()
    for i, a in enumerate(range(0, len(pcm), n)):
        if stop.wait(max(0.0, start + i * _CHUNK_S - time.perf_counter())):
            return
        stream.push_audio(pcm[a:a + n])
    stream.end_speech()


def feed_text(stream: Any, lines: Any, voice: str, stop: threading.Event) -> None:
    """Say each line through the TTS, keeping at most a few seconds buffered."""
    from dhsdk.adapters.tts.espeak import EspeakTTS

    tts = EspeakTTS(voice=voice)
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


def run(args: argparse.Namespace) -> int:
    from dhsdk.avatar import Avatar
    from dhsdk.pipeline.lipsync import LipSync
    from dhsdk.pipeline.stream import Stream

    if not args.sink:
        raise InputError("no --sink given: add e.g. --sink file:out.mp4 or --sink browser:8080")
    avatar = Avatar.default() if args.avatar == "default" else Avatar.load(args.avatar)
    sync = LipSync(avatar, mouth=args.mouth, device=args.device)
    stop = threading.Event()
    mic = None
    with contextlib.ExitStack() as closing, Stream(sync, realtime=True, vad=args.vad, drift_s=0.5 if args.mic else None) as stream:
        sinks = []
        for spec in args.sink:  # each sink is closed on the way out, even if a later one fails
            sinks.append(open_sink(spec))
            closing.callback(sinks[-1].close)
        if args.wav:
            from dhsdk.audio import load_audio

            pcm = load_audio(args.wav)
            feeder = threading.Thread(target=feed_pcm, args=(stream, pcm, stop), daemon=True)
            duration = args.duration or len(pcm) / 16000 + 0.5
        elif args.stdin_text:
            feeder = threading.Thread(target=feed_text, args=(stream, sys.stdin, args.voice, stop), daemon=True)
            duration = args.duration
        else:
            from dhsdk._optional import require

            try:
                sd = require("sounddevice", "--mic")
            except (ImportError, OSError) as e:  # OSError: the PortAudio library is missing
                raise InputError(f"--mic is unavailable here: {e}") from None
            mic = sd.InputStream(samplerate=16000, channels=1, dtype="float32",
                                 callback=lambda data, *_: stream.push_audio(data[:, 0].copy()))
            mic.start()
            feeder, duration = None, args.duration
        if feeder is not None:
            feeder.start()
        t0 = time.perf_counter()
        try:
            for frame in stream:
                for sink in sinks:
                    sink.write(frame)
                done = duration is not None and time.perf_counter() - t0 >= duration
                text_over = args.stdin_text and not feeder.is_alive() and stream.metrics.buffer_s == 0
                if done or (text_over and duration is None and not frame.speaking):
                    break
        finally:
            stop.set()
            if mic is not None:
                mic.stop()
                mic.close()
    if args.metrics:
        print(json.dumps(stream.metrics.summary()))
    m = stream.metrics
    print(f"live: {m.frames} frames, {m.late} late, {m.repeated} repeated, {m.dropped} dropped, "
          f"{m.underruns} underruns", file=sys.stderr)
    return 0
