"""Markdown summary of a ``dhsdk bench`` result: the per-device, per-mouth-model table
integrators compare vendors by (latency per frame p50/p99, fps, memory, streams held at 25 and
30 fps), then the stage micro-benchmarks with their baselines, and the machine."""
from __future__ import annotations

from typing import Any

SUMMARY_COLUMNS = (("device", "device"), ("mouth", "mouth model"), ("mouth_ms", "mouth ms"),
                   ("frame_p50_ms", "frame p50 ms"), ("frame_p99_ms", "frame p99 ms"), ("fps", "fps (1 stream)"),
                   ("latency_p95_ms", "audio→frame p95 ms"), ("realtime_factor", "offline × real time"),
                   ("peak_rss_mb", "peak RSS MiB"), ("streams_25", "streams @25 fps"),
                   ("streams_30", "streams @30 fps"))


def _fmt(v: Any) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 10 else f"{v:.0f}" if abs(v) >= 100 else f"{v:.1f}"
    return str(v)


def table(headers: list[str], rows: list[list[Any]]) -> str:
    """A GitHub Markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(_fmt(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def summary_table(doc: dict[str, Any]) -> str:
    """The vendor-style table, one row per (device, mouth model)."""
    rows = [[r.get(k) for k, _ in SUMMARY_COLUMNS] for r in doc["summary"]]
    out = table([h for _, h in SUMMARY_COLUMNS], rows)
    missing = [f"- {r['mouth']}: {r['status']} — {r['reason']}" for r in doc["summary"] if r["status"] != "ok"]
    return out + ("\n\n" + "\n".join(missing) if missing else "")


def stage_table(doc: dict[str, Any]) -> str:
    """Every stage case (median with min/max and run spread) and the baseline ratios."""
    rows, notes = [], []
    for name, e in doc["stages"].items():
        if e["status"] != "ok":
            notes.append(f"- {name}: {e['status']} — {e['reason']}")
            continue
        for case, st in e["cases"].items():
            rows.append([name, case, st["median_ms"], f"{_fmt(st['min_ms'])}–{_fmt(st['max_ms'])}",
                         f"{_fmt(st['spread_ms'][0])}–{_fmt(st['spread_ms'][1])}", st["n"]])
        for ratio, r in e["ratios"].items():
            rows.append([name, ratio, f"×{r['value']:.2f}", "", f"×{r['lo']:.2f}–{r['hi']:.2f}", ""])
    out = table(["stage", "case", "median ms", "min–max ms", "run spread", "n"], rows)
    return out + ("\n\n" + "\n".join(notes) if notes else "")


def sweep_table(doc: dict[str, Any]) -> str:
    """Every concurrent-stream run: late fraction, rendered fps, the Scheduler's per-tick host
    time, the frame path's per-batch time and batch size, per-frame stage times and latency."""
    rows = []
    for m, e in doc["end_to_end"].items():
        for fps, sweep in (e.get("streams") or {}).items():
            for r in sweep["runs"]:
                stages = ", ".join(f"{k} {_fmt(v)}" for k, v in (r.get("stage_ms") or {}).items())
                rows.append([m, fps, r["streams"], "yes" if r["ok"] else "no", f"{100 * r['late_frac_max']:.1f}",
                             r["rendered_fps"], r.get("tick_host_ms_p50"), r.get("tick_host_ms_p95"),
                             r.get("batch_frames_mean"), r.get("batch_render_ms_p50"), stages,
                             r.get("cpu_ms_per_frame"), r.get("latency_p95_ms_max")])
    return table(["mouth", "fps", "streams", "held", "worst late %", "rendered fps", "tick host p50 ms",
                  "tick host p95 ms", "frames/batch", "batch p50 ms", "stage ms per frame", "CPU ms per frame",
                  "latency p95 ms"], rows)


def machine_line(doc: dict[str, Any]) -> str:
    m = doc["machine"]
    gpu = ", ".join(m.get("gpu") or []) or f"none ({m.get('cuda_problem') or 'no CUDA'})"
    libs = ", ".join(f"{k} {m[k]}" for k in ("onnxruntime", "numpy", "cv2", "torch", "av") if k in m)
    dirty = "+dirty" if m.get("git_dirty") else ""
    return (f"{m.get('cpu', '?')}, {m.get('cores', '?')} cores, SIMD {m.get('simd', '?')}, "
            f"{m.get('memory_gb', '?')} GiB; GPU: {gpu}; driver {m.get('driver_version', 0)}; "
            f"dhsdk {m.get('dhsdk', '?')} ({m.get('git') or 'no git'}{dirty}); Python {m.get('python')}; {libs}")


def markdown(doc: dict[str, Any]) -> str:
    """The whole Markdown report of one run."""
    cfg, av = doc["config"], doc.get("avatar", {})
    avatar = av.get("path", "n/a") + (f" ({av['reason']})" if av.get("reason") else "")
    return "\n".join([
        f"# dhsdk bench — {doc['created']}", "",
        f"`{doc['command'] or 'dhsdk bench'}` — device {cfg['device']}, frame {cfg['size'][0]}x{cfg['size'][1]}, "
        f"avatar {avatar}, {doc['wall_s']:.0f} s", "",
        f"Machine: {machine_line(doc)}", "",
        "## Summary", "", summary_table(doc), "",
        "frame p50/p99: per-frame processing (a2k + crop + mouth + composite) in a live stream; fps: one "
        "unpaced stream; streams: most real-time streams with every stream < 1 % late or repeated frames "
        "(\"N+\": every count tried held).", "",
        "## Stream sweep", "", sweep_table(doc), "",
        "tick host: the Scheduler's audio, a2k and per-stream work per tick; batch: one frame-path call "
        "for the frames of every stream due in a tick; stage ms: per frame (GPU time on the GPU path); "
        "CPU ms per frame: the process's CPU time (all threads) per rendered frame, whatever else the "
        "machine was running.", "",
        "## Stages (medians of interleaved rounds; ratios = baseline / dhsdk)", "", stage_table(doc), "",
    ])
