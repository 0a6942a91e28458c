"""The versioned result schema of ``dhsdk bench`` (documented in ``SCHEMA.md`` beside this
file) and its validator.

:func:`validate` checks a result document (a parsed JSON file) and raises
:class:`dhsdk.errors.InputError` listing every problem; :func:`load` reads and validates a file.
Pure Python, no JSON-Schema dependency.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from dhsdk.errors import InputError

SCHEMA_VERSION = 1
SCHEMA_ID = f"dhsdk.bench/{SCHEMA_VERSION}"
STATUSES = ("ok", "not available", "failed")
STAT_KEYS = ("median_ms", "min_ms", "max_ms", "p95_ms", "p99_ms", "n", "spread_ms")
TOP_KEYS = {"schema": str, "created": str, "command": str, "config": dict, "machine": dict, "stages": dict,
            "end_to_end": dict, "samples": dict, "summary": list, "metrics": dict, "wall_s": (int, float)}
CONFIG_KEYS = ("device", "avatar", "streams", "mouths", "size", "duration", "quick")
MACHINE_KEYS = ("cpu", "cores", "python", "git")
SUMMARY_KEYS = ("device", "mouth", "status", "mouth_ms", "frame_p50_ms", "frame_p99_ms", "fps", "latency_p95_ms",
                "realtime_factor", "peak_rss_mb", "streams_25", "streams_30")
METRIC_KEYS = ("value", "lo", "hi", "unit", "better", "tol", "kind")
METRIC_KINDS = ("dhsdk", "baseline", "ratio", "system")


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _entry(where: str, entry: Any, problems: list[str]) -> bool:
    """Check the status part of a stage/end-to-end entry; True when it is ok."""
    if not isinstance(entry, dict) or entry.get("status") not in STATUSES:
        problems.append(f"{where}: status must be one of {STATUSES}")
        return False
    if entry["status"] != "ok":
        if not isinstance(entry.get("reason"), str) or not entry["reason"]:
            problems.append(f"{where}: a '{entry['status']}' entry needs a reason")
        return False
    return True


def _stage(name: str, entry: dict[str, Any], problems: list[str]) -> None:
    if not _entry(f"stages.{name}", entry, problems):
        return
    for case, st in entry.get("cases", {}).items():
        missing = [k for k in STAT_KEYS if k not in st]
        if missing:
            problems.append(f"stages.{name}.cases.{case}: missing {missing}")
        elif not (_number(st["median_ms"]) and st["min_ms"] <= st["median_ms"] <= st["max_ms"]
                  and len(st["spread_ms"]) == 2 and st["n"] >= 1):
            problems.append(f"stages.{name}.cases.{case}: inconsistent statistics {st}")
    if not entry.get("cases"):
        problems.append(f"stages.{name}: an ok stage needs cases")
    for r, v in entry.get("ratios", {}).items():
        if not all(_number(v.get(k)) for k in ("value", "lo", "hi")):
            problems.append(f"stages.{name}.ratios.{r}: needs numeric value, lo, hi")


def _end_to_end(mouth: str, entry: dict[str, Any], problems: list[str]) -> None:
    if not _entry(f"end_to_end.{mouth}", entry, problems):
        return
    for key in ("offline", "latency", "capacity", "streams", "peak_rss_mb"):
        if key not in entry:
            problems.append(f"end_to_end.{mouth}: missing {key}")
    for fps, s in entry.get("streams", {}).items():
        if not (isinstance(s.get("held"), int) and isinstance(s.get("runs"), list)):
            problems.append(f"end_to_end.{mouth}.streams.{fps}: needs int held and runs")


def validate(doc: Any) -> None:
    """Check ``doc`` against schema version :data:`SCHEMA_VERSION`.

    Raises:
        InputError: naming every problem found (wrong version, missing keys, bad types,
            statistics that contradict each other, non-finite numbers).
    """
    if not isinstance(doc, dict):
        raise InputError("a dhsdk bench result must be a JSON object")
    if doc.get("schema") != SCHEMA_ID:
        raise InputError(f"unknown result schema {doc.get('schema')!r}: this dhsdk reads {SCHEMA_ID!r} "
                         f"(re-run 'dhsdk bench' with this version)")
    problems: list[str] = []
    for key, kind in TOP_KEYS.items():
        if not isinstance(doc.get(key), kind):
            problems.append(f"{key}: missing or not {kind}")
    if problems:
        raise InputError("invalid dhsdk bench result: " + "; ".join(problems))
    problems += [f"config.{k}: missing" for k in CONFIG_KEYS if k not in doc["config"]]
    problems += [f"machine.{k}: missing" for k in MACHINE_KEYS if k not in doc["machine"]]
    for name, entry in doc["stages"].items():
        _stage(name, entry, problems)
    for mouth, entry in doc["end_to_end"].items():
        _end_to_end(mouth, entry, problems)
    for i, row in enumerate(doc["summary"]):
        problems += [f"summary[{i}].{k}: missing" for k in SUMMARY_KEYS if k not in row]
    for key, m in doc["metrics"].items():
        if any(k not in m for k in METRIC_KEYS) or not _number(m["value"]) or m["better"] not in ("lower", "higher") \
                or m["kind"] not in METRIC_KINDS:
            problems.append(f"metrics.{key}: needs {METRIC_KEYS} with a finite value, better lower|higher "
                            f"and kind one of {METRIC_KINDS}")
    if problems:
        raise InputError("invalid dhsdk bench result: " + "; ".join(problems))


def load(path: str | Path) -> dict[str, Any]:
    """Read and validate a result file.

    Raises:
        InputError: the file is missing, not JSON, or not a valid result.
    """
    try:
        doc = json.loads(Path(path).read_text())
    except OSError as e:
        raise InputError(f"cannot read {path}: {e.strerror}") from e
    except json.JSONDecodeError as e:
        raise InputError(f"{path} is not JSON ({e}): give a file written by 'dhsdk bench'") from e
    try:
        validate(doc)
    except InputError as e:
        raise InputError(f"{path}: {e}") from e
    return doc


def clean(obj: Any) -> Any:
    """``obj`` with non-finite floats replaced by None (JSON has no NaN) and numpy scalars as
    Python numbers, recursively."""
    if isinstance(obj, dict):
        return {str(k): clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [clean(v) for v in obj]
    if hasattr(obj, "item") and not isinstance(obj, (str, bytes)):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, Path):
        return str(obj)
    return obj
