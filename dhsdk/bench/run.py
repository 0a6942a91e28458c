"""One ``dhsdk bench`` run: stages, end-to-end runs, the result document and its files.

:func:`run` returns the result document (schema in :mod:`dhsdk.bench.schema`);
:func:`write_outputs` writes ``bench-<device>-<stamp>.json``, ``.md`` and the two PNG plots
into the output directory, each atomically.
"""
from __future__ import annotations

import datetime as _dt
import json
import math
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dhsdk.bench import endtoend
from dhsdk.bench.schema import SCHEMA_ID, clean
from dhsdk.bench.stages import STAGES, Context, run_stage
from dhsdk.bench.timing import machine

MOUTHS = ("warp", "lite", "full")   # the default; "lite-int8" (the lite UNet's int8 twin) on request
# Relative change always treated as noise for micro-benchmark medians and ratios: runs of the
# same code on a shared 2-core machine differ by this much even when each run's own spread is small.
MICRO_TOL = 0.10


@dataclass
class Config:
    """What to run (the ``dhsdk bench`` options).

    Attributes:
        device: ``"cpu" | "cuda" | "auto"``.
        avatar: avatar directory; the bundled avatar when None.
        streams: concurrent-stream counts to try.
        mouths: mouth models (of :data:`MOUTHS` and ``"lite-int8"``).
        size: output (width, height).
        duration: seconds of speech per end-to-end case (None: the default of the mode).
        quick: the ~1 minute run.
        stages: micro-benchmark stages to run (names of :data:`dhsdk.bench.stages.STAGES`).
        end_to_end: run the end-to-end cases.
        max_streams: the stream sweep goes on doubling past ``streams`` until a count fails,
            up to this many.
        processes: the Scheduler's render worker processes in the stream sweep (1: none;
            ``"auto"``: :func:`dhsdk.pipeline.workers.auto_processes`).
    """

    device: str = "cpu"
    avatar: str | None = None
    streams: list[int] = field(default_factory=lambda: [1, 2, 4, 9])
    mouths: tuple[str, ...] = MOUTHS
    size: tuple[int, int] = (720, 1280)
    duration: float | None = None
    quick: bool = False
    stages: tuple[str, ...] = tuple(STAGES)
    end_to_end: bool = True
    max_streams: int = endtoend.MAX_STREAMS
    processes: int | str = 1


def _log(msg: str) -> None:
    print(f"[dhsdk bench] {msg}", file=sys.stderr, flush=True)


def run(config: Config) -> dict[str, Any]:
    """Run the benchmarks of ``config``; never raises for a missing stage (it is recorded)."""
    from dhsdk.device import resolve_device

    device = resolve_device(config.device)
    started = time.perf_counter()
    ctx = Context(device=device, size=config.size, mouths=config.mouths, quick=config.quick)
    doc: dict[str, Any] = {
        "schema": SCHEMA_ID,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "command": "dhsdk " + " ".join(sys.argv[1:]) if sys.argv and "dhsdk" in sys.argv[0] else "",
        "config": {"device": device, "avatar": config.avatar, "streams": list(config.streams),
                   "mouths": list(config.mouths), "size": list(config.size), "duration": config.duration,
                   "quick": config.quick, "max_streams": config.max_streams, "processes": config.processes},
        "machine": machine(),
        "stages": {}, "end_to_end": {}, "samples": {},
    }
    # Load the avatar first: a bad --avatar fails before minutes of stages, not after.
    avatar = endtoend.load_avatar(config.avatar) if config.end_to_end else None
    try:
        for name in config.stages:
            _log(f"stage {name} ...")
            doc["stages"][name] = run_stage(name, STAGES[name], ctx)
            _log(f"stage {name}: {_status(doc['stages'][name])}")
        if avatar is not None:
            _end_to_end(config, ctx, doc, *avatar)
    finally:
        shutil.rmtree(ctx.workdir, ignore_errors=True)
    doc["summary"] = summary_rows(doc)
    doc["metrics"] = metrics(doc)
    doc["wall_s"] = time.perf_counter() - started
    return clean(doc)


def _status(entry: dict[str, Any]) -> str:
    return entry["status"] + (f" ({entry['reason']})" if entry.get("reason") else "")


def _end_to_end(config: Config, ctx: Context, doc: dict[str, Any], avatar: Any, desc: dict[str, Any]) -> None:
    d = endtoend.durations(config.duration, config.quick)
    doc["avatar"] = desc
    for m in config.mouths:
        _log(f"end to end, mouth {m} ...")
        entry = run_stage(f"e2e/{m}", endtoend.run_mouth, ctx, avatar, m, list(config.streams), d,
                          config.max_streams, config.processes)
        if entry["status"] == "ok":
            doc["samples"][m] = entry.pop("samples")
        doc["end_to_end"][m] = entry
        _log(f"end to end, mouth {m}: {_status(entry)}")


def summary_rows(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per mouth model: the vendor-style table (None where not measured)."""
    rows = []
    device = doc["config"]["device"]
    mouth_stage = doc["stages"].get("mouth", {})
    for m in doc["config"]["mouths"]:
        e = doc["end_to_end"].get(m, {})
        row: dict[str, Any] = {"device": device, "mouth": m, "status": e.get("status", "not run"),
                               "reason": e.get("reason", ""), "mouth_ms": None, "frame_p50_ms": None,
                               "frame_p99_ms": None, "fps": None, "latency_p95_ms": None,
                               "realtime_factor": None, "peak_rss_mb": None, "streams_25": None, "streams_30": None}
        case = mouth_stage.get("cases", {}).get(f"{m} renderer")
        if case:
            row["mouth_ms"] = case["median_ms"]
        if e.get("status") == "ok":
            lat, streams = e["latency"], e.get("streams", {})
            row.update(frame_p50_ms=lat["total_p50_ms"], frame_p99_ms=lat["total_p99_ms"],
                       fps=e["capacity"]["fps"], latency_p95_ms=lat["latency_p95_ms"],
                       realtime_factor=e["offline"]["realtime_factor"], peak_rss_mb=e["peak_rss_mb"])
            for fps in ("25", "30"):
                if fps in streams:
                    s = streams[fps]
                    row[f"streams_{fps}"] = f"{s['held']}+" if s["at_least"] and s["held"] else s["held"]
        rows.append(row)
    return rows


def _metric(value: float, unit: str, better: str, kind: str, lo: float | None = None, hi: float | None = None,
            tol: float = 0.10) -> dict[str, Any]:
    return {"value": value, "lo": lo, "hi": hi, "unit": unit, "better": better, "tol": tol, "kind": kind}


def metrics(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The flat ``key -> metric`` map :mod:`dhsdk.bench.compare` compares (see SCHEMA.md)."""
    out: dict[str, dict[str, Any]] = {}
    for stage, entry in doc["stages"].items():
        if entry.get("status") != "ok":
            continue
        for case, st in entry["cases"].items():
            kind = "baseline" if case in entry.get("baselines", ()) else "dhsdk"
            out[f"{stage}/{case}"] = _metric(st["median_ms"], "ms", "lower", kind, *st["spread_ms"], tol=MICRO_TOL)
        for name, r in entry["ratios"].items():
            out[f"{stage}/{name}"] = _metric(r["value"], "x", "higher", "ratio", r["lo"], r["hi"], tol=MICRO_TOL)
    for m, e in doc["end_to_end"].items():
        if e.get("status") != "ok":
            continue
        key = f"e2e/{m}"
        lat = e["latency"]
        out[f"{key}/realtime_factor"] = _metric(e["offline"]["realtime_factor"], "x", "higher", "dhsdk")
        out[f"{key}/fps"] = _metric(e["capacity"]["fps"], "fps", "higher", "dhsdk")
        frame_ms = 1e3 / lat["fps"]
        for name in ("total_p50_ms", "total_p99_ms", "latency_p50_ms", "latency_p95_ms", "latency_p99_ms"):
            if not math.isnan(lat[name]):
                # tails are noisier; audio->frame latency moves in steps of up to one frame period
                tol = max(0.10 if "p50" in name else 0.25, frame_ms / lat[name] if "latency" in name else 0.0)
                kind = "system" if "latency" in name else "dhsdk"
                out[f"{key}/{name.replace('total', 'frame')}"] = _metric(lat[name], "ms", "lower", kind, tol=tol)
        out[f"{key}/peak_rss_mb"] = _metric(e["peak_rss_mb"], "MiB", "lower", "system")
        for fps, s in e.get("streams", {}).items():
            # a threshold count: one step of the tried counts (e.g. 2 -> 1) is within noise
            out[f"{key}/streams_{fps}"] = _metric(float(s["held"]), "streams", "higher", "system", tol=0.5)
    return out


def write_outputs(doc: dict[str, Any], out_dir: str | Path) -> dict[str, Path]:
    """Write the JSON, the Markdown summary and the plots; returns kind -> path."""
    from dhsdk.atomic import atomic_file
    from dhsdk.bench import plots, report

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stamp = doc["created"].replace(":", "").replace("-", "").replace("+0000", "Z")[:15]
    stem = f"bench-{doc['config']['device']}-{stamp}"
    paths = {"json": out / f"{stem}.json", "markdown": out / f"{stem}.md",
             "latency_cdf": out / f"{stem}-latency-cdf.png", "fps_streams": out / f"{stem}-fps-streams.png"}
    with atomic_file(paths["json"]) as tmp:
        Path(tmp).write_text(json.dumps(clean(doc), indent=1, allow_nan=False) + "\n")
    with atomic_file(paths["markdown"]) as tmp:
        Path(tmp).write_text(report.markdown(doc))
    plots.latency_cdf(doc, paths["latency_cdf"])
    plots.fps_vs_streams(doc, paths["fps_streams"])
    return paths
