"""``dhsdk bench compare``: an injected regression is flagged (exit 1), noise is not (exit 0)."""
from __future__ import annotations

import copy
import json

import numpy as np

from dhsdk.bench.compare import compare, compare_metric
from dhsdk.cli import main


def _with(doc, fn):
    out = copy.deepcopy(doc)
    for m in out["metrics"].values():
        fn(m)
    return out


def _noise(rng):
    """Move each value to a random point well inside its own noise band."""
    def move(m):
        band = max(m["tol"], (m["hi"] - m["lo"]) / m["value"] if m["lo"] is not None else 0.0)
        m["value"] *= 1 + 0.8 * band * rng.uniform(-1, 1)
    return move


def test_noise_is_not_flagged(bench_run):
    doc = bench_run[0]
    changes, only_a, only_b = compare(doc, _with(doc, _noise(np.random.default_rng(0))))
    assert changes and not only_a and not only_b
    assert [c.key for c in changes if c.verdict == "regression"] == []


def test_injected_regression_is_flagged_and_fails_the_cli(bench_run, tmp_path, capsys):
    doc = bench_run[0]
    key = next(k for k, m in doc["metrics"].items() if m["unit"] == "ms" and m["kind"] == "dhsdk")
    slow = copy.deepcopy(doc)
    m = slow["metrics"][key]
    factor = 1.5 + 2 * max(m["tol"], (m["hi"] - m["lo"]) / m["value"])
    m.update(value=m["value"] * factor, lo=m["lo"] * factor, hi=m["hi"] * factor)
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(doc))
    b.write_text(json.dumps(slow))
    assert main(["bench", "compare", str(a), str(b)]) == 1
    out = capsys.readouterr().out
    assert "REGRESSION" in out and key in out
    assert main(["bench", "compare", str(a), str(a)]) == 0


def test_direction_and_noise_band():
    lower = {"value": 10.0, "lo": 9.0, "hi": 11.0, "unit": "ms", "better": "lower", "tol": 0.05}
    faster = dict(lower, value=7.0, lo=6.8, hi=7.2)
    slower_in_band = dict(lower, value=11.5, lo=11.0, hi=12.0)  # +15 % with a 20 % spread: noise
    assert compare_metric("k", lower, faster).verdict == "improvement"
    assert compare_metric("k", lower, slower_in_band).verdict == "same"
    assert compare_metric("k", lower, dict(lower, value=15.0, lo=14.9, hi=15.1), floor=0.6).verdict == "same"
    higher = {"value": 4.0, "lo": None, "hi": None, "unit": "streams", "better": "higher", "tol": 0.0}
    assert compare_metric("k", higher, dict(higher, value=3.0)).verdict == "regression"


def test_a_slower_baseline_is_not_a_dhsdk_regression():
    base = {"value": 10.0, "lo": 9.9, "hi": 10.1, "unit": "ms", "better": "lower", "tol": 0.1, "kind": "baseline"}
    assert compare_metric("opencv", base, dict(base, value=20.0)).verdict == "baseline"
    assert compare_metric("dhsdk", dict(base, kind="dhsdk"), dict(base, value=20.0, kind="dhsdk")).verdict \
        == "regression"
