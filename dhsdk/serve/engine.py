"""The service's one door into the SDK: review, create, train, render and live sessions.

Everything ``dhsdk serve`` does with avatars, speech and sinks goes through these functions,
which call only the SDK's public entry points (``review_material``, ``create_avatar``,
``Avatar.load``/``speak``, the sinks, ``Scheduler.add``, the commerce ``Host``, the TTS
adapters). When those change, this module is the one to adjust.
"""
from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, Callable

from dhsdk.errors import InputError

SAMPLE_RATE = 16000
Progress = Callable[[float], None]   # fraction done in [0, 1] of the current step
MAX_TEXT = 5000                      # characters one render may say
MAX_SIZE = 3840                      # largest output side, pixels


# ---- avatars ---------------------------------------------------------------------------
def review(material: Path, sheet: Path, name: str) -> dict[str, Any]:
    """Review material and draw its contact sheet.

    Args:
        material: the uploaded video or photo.
        sheet: the PNG contact sheet to write (atomically).
        name: the material's name as the merchant knows it (the report shows this, not the
            server's path).

    Returns:
        the review report as JSON data (``verdict``, ``checks`` with reason and fix, ``info``).
    """
    from dhsdk.avatar import review_material
    from dhsdk.avatar.review_sheet import save_review_sheet

    report, analysis = review_material(material, show_progress=False)
    report.source = name   # the sheet's title and the report show the merchant's name for the file
    save_review_sheet(sheet, analysis, report)
    return report.to_json()


def create(material: Path, bundle: Path, device: str = "auto") -> dict[str, Any]:
    """Build the avatar bundle (replacing an incomplete earlier attempt).

    Returns:
        facts of the avatar: ``fps``, ``frames``, ``width``, ``height``, ``mouth_model``.

    Raises:
        InputError: the material cannot make an avatar (``ReviewFailed`` names the checks).
    """
    from dhsdk.avatar import create_avatar

    avatar, _ = create_avatar(material, bundle, force=True, show_progress=False, device=device)
    return avatar_info(avatar)


def avatar_info(avatar: Any) -> dict[str, Any]:
    """What the API shows of a loaded avatar."""
    return {"fps": avatar.fps, "frames": avatar.num_frames, "width": avatar.width, "height": avatar.height,
            "mouth_model": avatar.mouth_model}


def bundle_ready(bundle: Path) -> dict[str, Any] | None:
    """The avatar's facts when ``bundle`` is a complete, loadable bundle, else None."""
    from dhsdk.avatar import Avatar
    from dhsdk.errors import DhsdkError

    if not (bundle / "manifest.json").is_file():
        return None
    try:
        return avatar_info(Avatar.load(bundle, device="cpu"))
    except (DhsdkError, OSError, ValueError, KeyError):
        return None


def train(bundle: Path, material: Path, options: dict[str, Any], log: Callable[[str], None]) -> dict[str, Any]:
    """Per-person training into the bundle.

    Args:
        bundle: the avatar bundle (its manifest is updated atomically by the trainers).
        material: the avatar's source video (the a2k adaptation needs its sound).
        options: ``{"mouth": "lite"|"full", "minutes": float, "steps": int, "a2k": bool}``.
        log: where to say what was trained.

    Returns:
        the trainers' metrics, by model.
    """
    from dhsdk.avatar import Avatar

    results: dict[str, Any] = {}
    if options.get("mouth"):
        from dhsdk.train.mouth import TrainOptions, train_for_avatar

        opts = TrainOptions(config=options["mouth"], minutes=options.get("minutes"),
                            steps=int(options.get("steps") or TrainOptions.steps))
        path, metrics = train_for_avatar(Avatar.load(bundle, device="cpu"), opts)
        log(f"mouth model {path.name}: " + ", ".join(f"{k} {v:.4g}" for k, v in metrics.items()))
        results["mouth"] = {k: float(v) for k, v in metrics.items()}
    if options.get("a2k"):
        from dhsdk.train.a2k_adapt import AdaptOptions, adapt_video

        opts = AdaptOptions(minutes=float(options.get("minutes") or AdaptOptions.minutes))
        _, report = adapt_video(material, opts, avatar=bundle, show_progress=False)
        log(f"a2k adapted: {report}")
        results["a2k"] = report
    return results


# ---- speech and renders ----------------------------------------------------------------
def speech(text: str | None, audio: Path | None, voice: str | None) -> Any:
    """(n,) float32 16 kHz PCM of ``text`` (espeak-ng) or of an audio file."""
    from dhsdk.audio import load_audio

    if (text is None) == (audio is None):
        raise InputError("give either text or audio to render, not both and not neither")
    if audio is not None:
        return load_audio(audio, max_seconds=600)
    if not text.strip():
        raise InputError("the text is empty: give something to say")
    if len(text) > MAX_TEXT:
        raise InputError(f"the text is {len(text)} characters; at most {MAX_TEXT} per render: split it")
    from dhsdk.adapters.tts.espeak import EspeakTTS

    chunk = EspeakTTS(voice or "auto").synthesize(text)
    return load_audio((chunk.pcm, chunk.sample_rate))


def render(bundle: Path, out: Path, *, text: str | None = None, audio: Path | None = None,
           voice: str | None = None, size: tuple[int, int] | None = None, device: str = "auto",
           progress: Progress | None = None, check: Callable[[], None] | None = None) -> dict[str, Any]:
    """Render speech on an avatar into an H.264 + AAC mp4, written atomically.

    Args:
        bundle: the avatar.
        out: the mp4 (nothing is there unless the render completes).
        text, audio, voice: what to say (see :func:`speech`).
        size: (width, height) of the output; the avatar's when None.
        progress: called with the fraction of frames written.
        check: called between frames; raising there aborts the render (cancel, shutdown).

    Returns:
        ``frames``, ``duration`` (s), ``fps``, ``width``, ``height``, ``wall_s``.
    """
    from dhsdk.avatar import Avatar
    from dhsdk.sinks.file import FileSink

    if size is not None and not all(16 <= v <= MAX_SIZE for v in size):
        raise InputError(f"size {size[0]}x{size[1]} is out of range: each side 16..{MAX_SIZE} px")
    t0 = time.perf_counter()
    pcm = speech(text, audio, voice)
    avatar = Avatar.load(bundle, device=device)
    total = max(1, int(round(len(pcm) / SAMPLE_RATE * avatar.fps)))
    frames, shape = 0, (0, 0)
    with FileSink(out, fps=avatar.fps) as sink:
        for frame in avatar.speak(pcm, size=size):
            if check is not None:
                check()
            sink.write(frame)
            frames += 1
            shape = frame.image.shape[:2]
            if progress is not None:
                progress(min(1.0, frames / total))
    return {"frames": frames, "duration": len(pcm) / SAMPLE_RATE, "fps": avatar.fps, "width": int(shape[1]),
            "height": int(shape[0]), "wall_s": time.perf_counter() - t0}


# ---- live ------------------------------------------------------------------------------
def open_sink(kind: str, target: str | None, session_id: str, public_host: str) -> Any:
    """The sink of a live session: ``rtmp`` (target = the ingest URL), ``browser`` (a viewer
    page on a free port of ``public_host``) or ``obs`` (target = the ring name)."""
    if kind == "rtmp":
        from dhsdk.sinks.rtmp import RtmpSink

        return RtmpSink(target or "")
    if kind == "browser":
        from dhsdk.sinks.browser import BrowserSink

        return BrowserSink(port=0, host=public_host)
    if kind == "obs":
        from dhsdk.sinks.obs import ObsSink

        return ObsSink(target or f"dhsdk-{session_id}")
    raise InputError(f"unknown sink {kind!r}: use rtmp, browser or obs")


def show_catalog(host: dict[str, Any]) -> Any:
    """The catalogue a live session presents: the given one (or the bundled sample), narrowed
    to the picked ``products``, with the merchant's ``script`` as the first product's pitch."""
    from dhsdk.adapters.segment import split_sentences
    from dhsdk.commerce.catalog import catalog_from_dict, load_catalog
    from dhsdk.commerce.host_cli import SAMPLE_CATALOG

    catalog = catalog_from_dict(host["catalog"], "the session's catalog") if host.get("catalog") else \
        load_catalog(SAMPLE_CATALOG)
    if host.get("products"):
        catalog.products = [catalog.get(pid) for pid in host["products"]]
    if host.get("script"):
        lines = split_sentences(host["script"])
        if not lines:
            raise InputError("the script has no sentence to say")
        catalog.products[0].script = lines
    return catalog


class LipSyncCache:
    """The avatars a worker's live sessions use, each loaded once into one LipSync (its warm
    frame cache, one frame path): a second session on the same avatar starts without decoding
    its idle loop again, and the Scheduler batches the streams that share it (each Stream
    keeps its own render state).

    Args:
        device: for the runners.
        size: how many avatars are kept (least recently used ones are dropped).
    """

    def __init__(self, device: str = "auto", size: int = 4):
        self.device, self.size = device, size
        self._syncs: dict[tuple[str, float], Any] = {}
        self._lock = threading.Lock()

    def get(self, bundle: Path) -> Any:
        """The LipSync of ``bundle`` (loaded again when its manifest changed, e.g. after training)."""
        from dhsdk.avatar import Avatar
        from dhsdk.pipeline.lipsync import LipSync

        key = (str(bundle), (bundle / "manifest.json").stat().st_mtime)
        with self._lock:
            sync = self._syncs.pop(key, None)
        if sync is None:
            sync = LipSync(Avatar.load(bundle, device=self.device), mouth="auto", device=self.device)
        with self._lock:
            self._syncs[key] = sync   # most recent last
            while len(self._syncs) > self.size:
                self._syncs.pop(next(iter(self._syncs)))
        return sync


class LiveSession:
    """One avatar live: the commerce host speaking into a Stream of the worker's Scheduler,
    frames to one sink.

    Args:
        lipsync: the avatar's LipSync (from the worker's :class:`LipSyncCache`).
        scheduler: the worker's :class:`~dhsdk.pipeline.scheduler.Scheduler`.
        sink: from :func:`open_sink` (closed by :meth:`stop`).
        host: ``catalog``, ``products``, ``script``, ``loops`` (0 = until stopped), ``voice``.
        on_event: called with each host event as a dict (``kind``, ``text``, ``t``, ``detail``).
    """

    def __init__(self, lipsync: Any, scheduler: Any, sink: Any, host: dict[str, Any],
                 on_event: Callable[[dict[str, Any]], None] | None = None):
        from dhsdk.adapters.tts.espeak import EspeakTTS
        from dhsdk.commerce.comments import CommentQueue
        from dhsdk.commerce.host import Host

        catalog = show_catalog(host)
        self.sink, self.scheduler = sink, scheduler
        self.started = time.perf_counter()
        self.comments = CommentQueue()
        self.stream = scheduler.add(lipsync, on_frame=self._write)
        self.host = Host(catalog, EspeakTTS(host.get("voice") or "auto"), self.stream, comments=self.comments,
                         on_event=(lambda e: on_event(dict(e.__dict__))) if on_event else None)
        self._show = threading.Thread(target=self.host.run, args=(int(host.get("loops") or 0),),
                                      name="dhsdk-serve-host", daemon=True)
        self._show.start()
        self._stopped = False

    def _write(self, frame: Any) -> None:
        """The stream's frames to the sink; a sink that stopped working is reported by
        :meth:`failure` (the worker ends the session), not raised into the shared Scheduler."""
        from dhsdk.errors import DhsdkError

        try:
            self.sink.write(frame)
        except DhsdkError:
            pass

    def failure(self) -> str | None:
        """Why the sink stopped working (its endpoint died), or None while it works."""
        error = getattr(self.sink, "error", None)
        return str(error) if error is not None else None

    @property
    def viewer_url(self) -> str | None:
        """Where a browser sink's page is (None for other sinks)."""
        return getattr(self.sink, "url", None) if hasattr(self.sink, "viewers") else None

    def comment(self, user: str, text: str) -> bool:
        """A viewer's comment; False when the filter dropped it (spam, abuse, duplicate, chatter)."""
        return self.comments.put(user, text) is not None

    def finished(self) -> bool:
        """The show ran out (``loops`` done) and its last words have played."""
        return not self._show.is_alive() and self.stream.buffered_seconds() == 0

    def metrics(self) -> dict[str, Any]:
        """Latency, late and repeated frames, the sink's counters, what the host did."""
        m = self.stream.metrics.summary()
        kinds = [e.kind for e in list(self.host.log)]
        return {"frames": int(m["frames"]), "late": int(m["late"]), "repeated": int(m["repeated"]),
                "dropped": int(m["dropped"]), "latency_p50_ms": _finite(m["latency_p50_ms"]),
                "latency_p95_ms": _finite(m["latency_p95_ms"]), "render_p95_ms": _finite(m["total_p95_ms"]),
                "uptime_s": round(time.perf_counter() - self.started, 2), "sink": self.sink.metrics.summary(),
                "said": kinds.count("say"), "answered": kinds.count("comment"),
                "skipped": kinds.count("skip"), "comments": dict(self.comments.stats)}

    def stop(self) -> None:
        """End the show, stop the stream, close the sink (idempotent)."""
        if self._stopped:
            return
        self._stopped = True
        self.host.stop()
        self._show.join(5.0)
        self.scheduler.remove(self.stream)
        from dhsdk.errors import DhsdkError

        try:
            self.sink.close()
        except DhsdkError:   # already recorded as the session's failure
            pass


def _finite(x: float) -> float | None:
    return None if x != x else round(float(x), 2)


def new_scheduler() -> Any:
    """A worker's Scheduler (live streams of that worker share its clock and pool)."""
    from dhsdk.pipeline.scheduler import Scheduler

    return Scheduler()
