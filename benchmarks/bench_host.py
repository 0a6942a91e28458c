"""Live-commerce host latency: a viewer's comment in -> the answer's first audio out -> the
first lip-synced frame carrying it out, with the embedded defaults, on this machine.

A real-time :class:`~dhsdk.pipeline.stream.Stream` (warp mouth) presents the sample catalogue
in a loop; a purchase question arrives on the comment queue mid-pitch, a random 1-3 s after
the pitch has resumed from the previous answer (a comment during an answer waits for it,
which is not what is measured here).
Per comment, three times from the moment it is queued:

- ``picked_up``: the host takes it (and interrupts the pitch);
- ``first_audio``: the answer's first audio chunk is pushed into the stream (LLM + TTS done
  for the first sentence);
- ``first_frame``: the stream emits the first frame carrying the answer's audio (lip-synced,
  what a sink shows and plays). Target: p95 <= 1000 ms with the local defaults.

``--llm http`` / ``--tts http`` put the same defaults behind the bundled OpenAI-compatible
server (real HTTP, SSE and streamed PCM), ``--tokens-per-s`` paces it like a model of that
speed. One JSON line per measure through the shared timing helper
(:func:`dhsdk.bench.timing.summarize` / ``emit``), then one with the raw samples.
Usage: ``python benchmarks/bench_host.py [--comments 20] [--avatar synthetic|default|PATH]``
"""
from __future__ import annotations

import argparse
import random
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from timing import emit  # noqa: E402

from dhsdk.bench.timing import summarize  # noqa: E402

QUESTIONS = ["how much is it?", "what sizes do you have?", "when does it ship?", "is it in stock?",
             "what is it made of?", "这个多少钱", "有什么尺码", "什么时候发货", "what colours are there?",
             "is there a discount today?"]
TARGET_MS = 1000.0
MEASURES = ("picked_up", "first_audio", "first_frame")


def make_avatar(spec: str, size: str):
    if spec == "synthetic":
        from dhsdk.bench.synthetic import SyntheticAvatar

        w, h = (int(v) for v in size.split("x"))
        return SyntheticAvatar(w, h)
    from dhsdk.avatar import Avatar

    return Avatar.default() if spec == "default" else Avatar.load(spec)


class Probe:
    """Timestamps of one comment's path, filled in from the host's events and the stream's frames."""

    def __init__(self, user: str):
        self.user = user
        self.t = dict.fromkeys(("in", *MEASURES))
        self.done = threading.Event()

    def on_event(self, e) -> None:
        now = time.perf_counter()
        if e.kind == "comment" and e.detail == self.user and self.t["picked_up"] is None:
            self.t["picked_up"] = now
        elif e.kind == "say" and e.detail == "answer" and self.t["picked_up"] and self.t["first_audio"] is None:
            self.t["first_audio"] = now

    def on_frame(self, frame) -> None:
        if self.t["first_audio"] is not None and self.t["first_frame"] is None and np.any(frame.audio):
            self.t["first_frame"] = time.perf_counter()
            self.done.set()

    def ms(self) -> dict[str, float]:
        return {k: (self.t[k] - self.t["in"]) * 1e3 for k in MEASURES}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--avatar", default="synthetic", help="synthetic (procedural, --size), default, or a bundle path")
    ap.add_argument("--size", default="720x1280", help="synthetic avatar frame size WxH")
    ap.add_argument("--mouth", default="warp", choices=["warp", "unet", "auto"])
    ap.add_argument("--comments", type=int, default=20, help="comments to time")
    ap.add_argument("--gap", type=float, nargs=2, default=(1.0, 3.0), metavar=("MIN", "MAX"),
                    help="seconds of pitch after the previous answer before the next comment (uniform)")
    ap.add_argument("--llm", choices=["local", "http"], default="local")
    ap.add_argument("--tts", choices=["espeak", "http"], default="espeak")
    ap.add_argument("--tokens-per-s", type=float, help="pace of the HTTP LLM (pieces per second)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    from dhsdk.adapters.llm.local import LocalLLM
    from dhsdk.adapters.llm.openai_compat import OpenAICompatLLM
    from dhsdk.adapters.openai_server import OpenAIServer
    from dhsdk.adapters.tts.espeak import EspeakTTS
    from dhsdk.adapters.tts.openai import OpenAITTS
    from dhsdk.bench.live import warm
    from dhsdk.commerce.catalog import load_catalog
    from dhsdk.commerce.comments import CommentQueue
    from dhsdk.commerce.host import Host
    from dhsdk.commerce.host_cli import SAMPLE_CATALOG
    from dhsdk.pipeline.lipsync import LipSync
    from dhsdk.pipeline.stream import Stream

    rng = random.Random(args.seed)
    catalog = load_catalog(SAMPLE_CATALOG)
    espeak = EspeakTTS("auto")
    server = OpenAIServer(LocalLLM(catalog), espeak, tokens_per_s=args.tokens_per_s) \
        if "http" in (args.llm, args.tts) else None
    llm = OpenAICompatLLM(server.url, model="dhsdk-local") if args.llm == "http" else None
    tts = OpenAITTS(server.url, model="espeak") if args.tts == "http" else espeak
    sync = warm(LipSync(make_avatar(args.avatar, args.size), mouth=args.mouth, device="cpu"))
    espeak.synthesize("Warm up.")
    probe: list[Probe] = []
    pitching = threading.Event()  # the host is saying the pitch (not an answer)

    def on_event(e) -> None:
        if e.kind == "say" and e.detail == "answer":
            pitching.clear()
        elif e.kind == "say":
            pitching.set()
        if probe:
            probe[-1].on_event(e)

    queue = CommentQueue(dedup_window_s=0)
    rows = []
    with Stream(sync, realtime=True, pull=False, on_frame=lambda f: probe and probe[-1].on_frame(f)) as stream:
        host = Host(catalog, tts, stream, llm=llm, comments=queue, on_event=on_event)
        show = threading.Thread(target=host.run, args=(0,), daemon=True)
        show.start()
        for k in range(args.comments):
            pitching.wait(30.0)
            time.sleep(rng.uniform(*args.gap))
            p = Probe(f"viewer{k}")
            probe.append(p)
            p.t["in"] = time.perf_counter()
            queue.put(p.user, QUESTIONS[k % len(QUESTIONS)])
            if not p.done.wait(10.0):
                print(f"comment {k}: no answer frame within 10 s ({p.t})", file=sys.stderr)
                continue
            rows.append(p.ms())
        host.stop()
        show.join(5.0)
        metrics = stream.metrics.summary()
    if server is not None:
        server.close()
    config = {"bench": "host", "avatar": args.avatar if args.avatar != "synthetic" else f"synthetic:{args.size}",
              "mouth": args.mouth, "llm": args.llm, "tts": args.tts, "tokens_per_s": args.tokens_per_s,
              "fps": stream.fps}
    for measure in MEASURES:
        stats = summarize([r[measure] for r in rows])
        record = {**config, "measure": f"comment_to_{measure}", "p50_ms": stats["median_ms"], **stats}
        if measure == "first_frame":
            record.update(target_p95_ms=TARGET_MS, meets_target=stats["p95_ms"] <= TARGET_MS)
        emit(record, with_machine=measure == MEASURES[0])
    emit({**config, "measure": "stream", "late": metrics["late"], "repeated": metrics["repeated"],
          "frames": metrics["frames"], "samples_ms": rows}, with_machine=False)
    return 0 if len(rows) == args.comments else 1


if __name__ == "__main__":
    sys.exit(main())
