"""``dhsdk bench compare A.json B.json``: per-metric differences, regressions beyond noise.

For each metric in both results (see ``SCHEMA.md``), the relative change from A to B is
signed so that positive means better. The noise band is the largest of the two metrics'
``tol`` and their recorded run-median spreads ``(hi - lo) / value``: the spread of repeated
runs is what the same code measures on that machine, so a change inside it is not evidence of
anything. A change worse than the band is a regression, better than it an improvement.

Baseline metrics (OpenCV, numpy, eager torch: not dhsdk code) are shown but never flagged;
their median change is printed as the machine-state change between the runs. Between two runs
a shared machine can drift by more than either run's own spread (on the 2-core development VM
consecutive identical runs differ by up to ~40 % per micro-benchmark); ratios to the
interleaved baselines are the most stable numbers, and ``--tolerance`` raises every band for
such machines. Compare runs of one machine.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class Change:
    """One metric compared.

    Attributes:
        key: metric key.
        a, b: values in A and B.
        unit: the metric's unit.
        change: relative change, positive = better (B improves on A).
        noise: relative noise band used.
        verdict: ``"regression"``, ``"improvement"`` or ``"same"`` (within noise).
    """

    key: str
    a: float
    b: float
    unit: str
    change: float
    noise: float
    verdict: str


def _spread(m: dict[str, Any]) -> float:
    if m.get("lo") is None or m.get("hi") is None or not m["value"]:
        return 0.0
    return abs(m["hi"] - m["lo"]) / abs(m["value"])


def machine_drift(ma: dict[str, dict[str, Any]], mb: dict[str, dict[str, Any]]) -> tuple[float, int]:
    """How much slower the machine ran B than A, for the reader: the median B/A time of the
    baseline cases (code that is not dhsdk's), and their count; (1.0, 0) when none is shared.

    Not used to correct dhsdk's times: on shared machines the baselines (eager torch with its
    own thread pool, OpenCV) and dhsdk drift by different amounts between runs."""
    r = sorted(mb[k]["value"] / ma[k]["value"] for k, m in ma.items()
               if m.get("kind") == "baseline" and k in mb and m["value"] > 0)
    if not r:
        return 1.0, 0
    return (r[len(r) // 2] if len(r) % 2 else (r[len(r) // 2 - 1] + r[len(r) // 2]) / 2), len(r)


def compare_metric(key: str, ma: dict[str, Any], mb: dict[str, Any], floor: float = 0.0) -> Change:
    """Compare one metric of A (``ma``) with B (``mb``); ``floor`` raises every noise band to at
    least this relative change (for noisy CI machines). Baseline metrics (``kind:
    "baseline"``, not dhsdk code) are reported but never called a regression."""
    a, b = float(ma["value"]), float(mb["value"])
    sign = 1.0 if ma["better"] == "higher" else -1.0
    change = sign * (b - a) / abs(a) if a else (0.0 if a == b else sign * float("inf") * (b - a))
    noise = max(floor, float(ma.get("tol") or 0.0), float(mb.get("tol") or 0.0), _spread(ma), _spread(mb))
    verdict = "regression" if change < -noise else "improvement" if change > noise else "same"
    if ma.get("kind") == "baseline" and verdict != "same":
        verdict = "baseline"
    return Change(key, a, b, ma["unit"], change, noise, verdict)


def compare(doc_a: dict[str, Any], doc_b: dict[str, Any], floor: float = 0.0
            ) -> tuple[list[Change], list[str], list[str]]:
    """Compare two result documents (``floor``: see :func:`compare_metric`).

    Returns:
        (changes for metrics in both, keys only in A, keys only in B).
    """
    ma, mb = doc_a["metrics"], doc_b["metrics"]
    changes = [compare_metric(k, ma[k], mb[k], floor) for k in ma if k in mb]
    return changes, [k for k in ma if k not in mb], [k for k in mb if k not in ma]


def machine_differences(doc_a: dict[str, Any], doc_b: dict[str, Any]) -> list[str]:
    """Machine facts that differ between the runs (a comparison across machines is not a
    regression test)."""
    keys = ("cpu", "cores", "simd", "gpu", "driver_version", "onnxruntime", "numpy", "cv2", "git", "git_dirty")
    a, b = doc_a["machine"], doc_b["machine"]
    return [f"{k}: {a.get(k)!r} -> {b.get(k)!r}" for k in keys if a.get(k) != b.get(k)]


def render(changes: list[Change], only_a: list[str], only_b: list[str], machine: list[str],
           drift: tuple[float, int] = (1.0, 0)) -> str:
    """The text report ``dhsdk bench compare`` prints."""
    from dhsdk.bench.report import table

    mark = {"regression": "REGRESSION", "improvement": "better", "same": "~", "baseline": "baseline moved"}
    rows = [[c.key, f"{c.a:.4g}", f"{c.b:.4g}", c.unit, f"{100 * c.change:+.1f}%", f"±{100 * c.noise:.1f}%",
             mark[c.verdict]] for c in changes]
    parts = [table(["metric", "A", "B", "unit", "change (+ better)", "noise", "verdict"], rows)]
    if machine:
        parts.append("machines differ (compare runs of one machine to find regressions):\n  " + "\n  ".join(machine))
    if only_a:
        parts.append("only in A (stage not measured in B): " + ", ".join(only_a))
    if only_b:
        parts.append("only in B: " + ", ".join(only_b))
    if drift[1]:
        parts.append(f"machine state: the {drift[1]} baseline cases (not dhsdk code) ran x{drift[0]:.2f} as long "
                     "in B as in A" + ("; the machine itself changed speed, so treat the absolute times with care"
                                       if abs(drift[0] - 1) > 0.15 else ""))
    bad = [c.key for c in changes if c.verdict == "regression"]
    parts.append(f"{len(bad)} regression(s) beyond noise" + (": " + ", ".join(bad) if bad else ""))
    return "\n\n".join(parts)
