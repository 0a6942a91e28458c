"""Stage runner: a missing module is 'not available' with the reason, an error is 'failed';
baselines ran in the same run and their ratios agree with the medians."""
from __future__ import annotations

import pytest

from dhsdk.bench.stages import run_stage


def _missing(ctx):
    import dhsdk.no_such_stage  # noqa: F401


def _broken(ctx):
    raise ValueError("bad shape (3, 4)")


def test_missing_module_is_not_available_with_its_name():
    entry = run_stage("x", _missing, None)
    assert entry["status"] == "not available" and "dhsdk.no_such_stage" in entry["reason"]


def test_other_errors_are_failed_with_traceback():
    entry = run_stage("x", _broken, None)
    assert entry["status"] == "failed" and "bad shape (3, 4)" in entry["reason"]
    assert "_broken" in entry["traceback"]


@pytest.mark.parametrize("stage, ratio, baseline, ours", [
    ("crop", "speedup_vs_opencv_256", "opencv_256", "dhsdk_256"),
    ("composite", "speedup_vs_numpy_256", "numpy_256", "dhsdk_256"),
    ("color", "speedup_vs_opencv", "opencv_i420", "dhsdk_i420"),
])
def test_ratios_are_baseline_over_dhsdk(bench_run, stage, ratio, baseline, ours):
    entry = bench_run[0]["stages"][stage]
    if entry["status"] != "ok":
        pytest.skip(f"{stage}: {entry['reason']}")
    r, cases = entry["ratios"][ratio], entry["cases"]
    assert r["value"] == pytest.approx(cases[baseline]["median_ms"] / cases[ours]["median_ms"])
    assert r["lo"] <= r["value"] <= r["hi"]
    assert cases[baseline]["n"] == cases[ours]["n"]  # interleaved: same rounds, same calls
