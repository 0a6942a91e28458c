"""End-to-end runs of ``dhsdk bench``, one mouth model at a time: offline real-time factor, live
latency, single-stream capacity, and the most concurrent streams held at 25 and 30 fps.

The avatar is the bundled one (``Avatar.default()``) or a directory (``--avatar DIR``), its
frames fitted to the requested output size. The UNet mouth models are the
random-weight exports of :func:`dhsdk.bench.mouth.export_unet` (speed does not depend on the
weights), so every avatar can be timed with every model.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from dhsdk.bench import live
from dhsdk.bench.stages import Context
from dhsdk.bench.timing import peak_rss_mb


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
    """An avatar whose ``mouth_model`` is replaced (every other attribute is the avatar's)."""

    def __init__(self, avatar: Any, mouth_model: str):
        self._avatar = avatar
        self.mouth_model = mouth_model

    def __getattr__(self, name: str) -> Any:
        return getattr(self._avatar, name)


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


def lipsync_factory(ctx: Context, avatar: Any, mouth: str) -> Callable[[], Any]:
    """A function that builds a fresh LipSync of ``avatar`` with ``mouth`` (``warp``, or a
    random-weight ``lite``/``full`` UNet exported into ``ctx.workdir``)."""
    from dhsdk.pipeline.lipsync import LipSync

    if mouth == "warp":
        return lambda: LipSync(avatar, mouth="warp", device=ctx.device)
    from dhsdk.bench.mouth import export_unet

    path, _, _ = export_unet(mouth, ctx.workdir)
    wrapped = _WithMouthModel(avatar, str(path.resolve()))
    return lambda: LipSync(wrapped, mouth="unet", device=ctx.device)


def offline(make: Callable[[], Any], ctx: Context, seconds: float) -> dict[str, Any]:
    """Render ``seconds`` of speech to an H.264 + AAC mp4 (encoding included)."""
    sync = make()
    pcm = live.speech(seconds)
    summary = sync.render(pcm, ctx.workdir / "offline.mp4", size=ctx.size, show_progress=False)
    return {"frames": summary.frames, "seconds": summary.duration, "wall_s": summary.wall_time,
            "fps": summary.fps, "realtime_factor": summary.realtime_factor, "encoded": True}


def sweep(make: Callable[[], Any], counts: list[int], seconds: float) -> dict[str, Any]:
    """Most streams holding 30 then 25 fps (< 1 % late or repeated frames), over ``counts``.

    Counts are tried in increasing order and each rate stops at its first failure; a count held
    at 30 fps is taken as held at 25 (less work per second), so 25 fps starts above it.

    Returns:
        ``{"30": {...}, "25": {...}}`` each with ``held`` (0 when even the smallest count
        fails), ``at_least`` (every count tried was held) and the ``runs``.
    """
    out: dict[str, Any] = {}
    start_after = 0
    for fps in (30.0, 25.0):
        runs, held, failed = [], start_after, False
        for n in sorted(set(counts)):
            if n <= start_after:
                continue
            row = live.case_concurrent(make, n, seconds, fps=fps)
            runs.append(row)
            if not row["ok"]:
                failed = True
                break
            held = n
        out[str(int(fps))] = {"held": held, "at_least": not failed, "runs": runs, "inferred_up_to": start_after}
        start_after = held
    return out


def run_mouth(ctx: Context, avatar: Any, mouth: str, counts: list[int], d: Durations) -> dict[str, Any]:
    """Every end-to-end case for one mouth model (raises ImportError when a stage is missing)."""
    make = lipsync_factory(ctx, avatar, mouth)
    result: dict[str, Any] = {"offline": offline(make, ctx, d.offline)}
    lat = live.case_latency(make, d.latency)
    samples = {"latency_ms": lat.pop("latency_samples_ms"), "frame_ms": lat.pop("frame_samples_ms")}
    result["latency"] = lat
    result["capacity"] = live.case_capacity(make, d.capacity_frames)
    result["streams"] = sweep(make, counts, d.concurrent) if counts else {}
    result["peak_rss_mb"] = peak_rss_mb()
    result["samples"] = {k: [round(float(v), 3) for v in s] for k, s in samples.items()}
    return result
