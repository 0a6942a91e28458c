"""End-to-end runs of ``dhsdk bench``, one mouth model at a time: offline real-time factor, live
latency, single-stream capacity, and the most concurrent streams held at 25 and 30 fps.

The avatar is the bundled one (``Avatar.default()``) or a directory (``--avatar DIR``), its
base frames fitted once to the requested output size (every case renders natively at it). The UNet mouth models are the
random-weight exports of :func:`dhsdk.bench.mouth.export_unet` (speed does not depend on the
weights), so every avatar can be timed with every model.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from dhsdk.bench import live
from dhsdk.bench.stages import Context
from dhsdk.bench.timing import peak_rss_mb

MAX_STREAMS = 256     # the stream sweep stops doubling here
REFINE_STEPS = 3      # bisections between the last count held and the first failed


@dataclass
class Durations:
    """Seconds of speech per end-to-end case (see :func:`durations`)."""

    offline: float
    latency: float
    capacity_frames: int
    concurrent: float


def durations(seconds: float | None, quick: bool) -> Durations:
    """Defaults sized for the 5-minute budget on 2 cores (``--quick``: ~1 minute)."""
    base = seconds if seconds is not None else (3.0 if quick else 10.0)
    return Durations(offline=base, latency=base, capacity_frames=30 if quick else 100,
                     concurrent=max(2.0, 0.75 * base))


class _WithMouthModel:
    """An avatar whose ``mouth_model`` (and its int8 twin) is replaced (every other attribute is
    the avatar's)."""

    def __init__(self, avatar: Any, mouth_model: str, mouth_model_int8: str | None = None):
        self._avatar = avatar
        self.mouth_model = mouth_model
        self.mouth_model_int8 = mouth_model_int8

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):   # protocol lookups (pickle, copy) never reach the avatar
            raise AttributeError(name)
        return getattr(self._avatar, name)

    def __reduce__(self) -> tuple:
        return _WithMouthModel, (self._avatar, self.mouth_model, self.mouth_model_int8)


def load_avatar(path: str | None) -> tuple[Any, dict[str, Any]]:
    """The avatar to run, and its description for the results.

    Args:
        path: an avatar directory, or None for the bundled default.

    Raises:
        dhsdk.errors.BundleError: ``path`` cannot be loaded.
    """
    from dhsdk.avatar import Avatar

    avatar = Avatar.default() if path is None else Avatar.load(path)
    return avatar, {"kind": "bundled" if path is None else "directory", "path": str(avatar.path)}


def lipsync_factory(ctx: Context, avatar: Any, mouth: str, size: tuple[int, int] | None = None
                    ) -> Callable[[], Any]:
    """A function that builds a fresh LipSync of ``avatar`` with ``mouth`` (``warp``, or a
    random-weight ``lite``/``full`` UNet exported into ``ctx.workdir``, ``lite-int8`` the lite one
    with its int8 twin), rendering natively at ``size`` (``ctx.size`` when None: the avatar's
    base frames fitted to it once each)."""
    from dhsdk.pipeline.lipsync import LipSync

    size = tuple(size or ctx.size)
    if mouth == "warp":
        return lambda: LipSync(avatar, mouth="warp", device=ctx.device, size=size)
    from dhsdk.bench.mouth import export_unet, export_unet_int8

    path, _, model = export_unet(mouth.removesuffix("-int8"), ctx.workdir)
    int8 = export_unet_int8(path, model) if mouth.endswith("-int8") else None
    wrapped = _WithMouthModel(avatar, str(path.resolve()), str(int8.resolve()) if int8 else None)
    return lambda: LipSync(wrapped, mouth="unet", device=ctx.device, size=size)


def offline(make: Callable[[], Any], ctx: Context, seconds: float) -> dict[str, Any]:
    """Render ``seconds`` of speech to an H.264 + AAC mp4 (encoding included)."""
    sync = make()
    pcm = live.speech(seconds)
    summary = sync.render(pcm, ctx.workdir / "offline.mp4", size=ctx.size, show_progress=False)
    return {"frames": summary.frames, "seconds": summary.duration, "wall_s": summary.wall_time,
            "fps": summary.fps, "realtime_factor": summary.realtime_factor, "encoded": True}


def sweep(make: Callable[[], Any], counts: list[int], seconds: float, max_streams: int = MAX_STREAMS,
          processes: int | str = 1) -> dict[str, Any]:
    """Most streams holding 30 then 25 fps (< 1 % late or repeated frames).

    The counts are tried in increasing order; when every one holds, the sweep goes on doubling
    (up to ``max_streams``) until a count fails, then halves the gap between the last count held
    and the first failed, at most :data:`REFINE_STEPS` times, while it is wider than an eighth of
    the count held. A count held at 30 fps is taken as held at 25 (less work per second), so
    25 fps starts above it. ``processes``: the Scheduler's render worker processes.

    Returns:
        ``{"30": {...}, "25": {...}}`` each with ``held`` (0 when even the smallest count
        fails), ``first_failed`` (None when none failed), ``at_least`` (no count failed up to
        ``max_streams``: the true number may be higher) and the ``runs`` by stream count.
    """
    out: dict[str, Any] = {}
    start_after = 0
    for fps in (30.0, 25.0):
        runs: list[dict[str, Any]] = []
        held, failed = start_after, None
        todo = sorted(n for n in set(counts) if start_after < n <= max_streams)
        if not todo and start_after < max_streams:  # every count held at 30 fps: go on from there
            todo = [min(max(start_after + 1, int(np.ceil(1.2 * start_after))), max_streams)]
        while todo:
            n = todo.pop(0)
            runs.append(live.case_concurrent(make, n, seconds, fps=fps, processes=processes))
            if not runs[-1]["ok"]:
                failed = n
                break
            held = n
            if not todo and n < max_streams:
                todo = [min(2 * n, max_streams)]
        for _ in range(REFINE_STEPS):
            if failed is None or failed - held <= max(1, held // 8):
                break
            n = (held + failed) // 2
            runs.append(live.case_concurrent(make, n, seconds, fps=fps, processes=processes))
            held, failed = (n, failed) if runs[-1]["ok"] else (held, n)
        out[str(int(fps))] = {"held": held, "first_failed": failed, "at_least": failed is None,
                              "runs": sorted(runs, key=lambda r: r["streams"]), "inferred_up_to": start_after}
        start_after = held
    return out


def run_mouth(ctx: Context, avatar: Any, mouth: str, counts: list[int], d: Durations,
              max_streams: int = MAX_STREAMS, processes: int | str = 1) -> dict[str, Any]:
    """Every end-to-end case for one mouth model (raises ImportError when a stage is missing)."""
    make = lipsync_factory(ctx, avatar, mouth)
    result: dict[str, Any] = {"offline": offline(make, ctx, d.offline)}
    lat = live.case_latency(make, d.latency)
    samples = {"latency_ms": lat.pop("latency_samples_ms"), "frame_ms": lat.pop("frame_samples_ms")}
    result["latency"] = lat
    result["capacity"] = live.case_capacity(make, d.capacity_frames)
    result["streams"] = sweep(make, counts, d.concurrent, max_streams, processes) if counts else {}
    result["peak_rss_mb"] = peak_rss_mb()
    result["samples"] = {k: [round(float(v), 3) for v in s] for k, s in samples.items()}
    return result
