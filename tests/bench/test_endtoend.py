"""The stream sweep goes on past the counts given until one fails, narrows the gap to the first
failure, starts 25 fps above the count held at 30, and says "at least" only when nothing failed."""
from __future__ import annotations

import pytest

from dhsdk.bench import endtoend, live


@pytest.fixture
def capacity(monkeypatch):
    """A machine that holds ``cap[fps]`` streams: case_concurrent without running anything."""
    cap, tried = {30.0: 13, 25.0: 17}, []

    def fake(make, n, seconds, fps=None, settle=0.5, processes=1):
        tried.append((fps, n))
        return {"streams": n, "ok": n <= cap[fps]}

    monkeypatch.setattr(live, "case_concurrent", fake)
    return cap, tried


def test_the_sweep_continues_until_a_count_fails_and_narrows_the_gap(capacity):
    cap, tried = capacity
    out = endtoend.sweep(lambda: None, [1, 2, 4], 1.0)
    assert [n for f, n in tried if f == 30.0][:5] == [1, 2, 4, 8, 16]      # doubling past the counts given
    for fps in ("30", "25"):
        held, failed = out[fps]["held"], out[fps]["first_failed"]
        assert held <= cap[float(fps)] < failed and failed - held <= max(2, held // 8)  # narrowed
        assert not out[fps]["at_least"]
    assert min(n for f, n in tried if f == 25.0) > 13                        # 25 fps starts above 30's count
    runs = [r["streams"] for r in out["30"]["runs"]]
    assert runs == sorted(runs)


def test_at_least_only_when_nothing_failed_up_to_the_cap(capacity):
    cap, _ = capacity
    cap[30.0] = cap[25.0] = 100
    out = endtoend.sweep(lambda: None, [1, 2], 1.0, max_streams=8)
    assert out["30"]["held"] == 8 and out["30"]["at_least"] and out["30"]["first_failed"] is None
    assert out["25"]["held"] == 8 and out["25"]["at_least"]


def test_stream_axes_are_whole_counts():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from dhsdk.bench.plots import _stream_axis

    fig, ax = plt.subplots()
    ax.plot([1, 2, 4, 16, 24], [1, 2, 3, 4, 5])
    _stream_axis(ax, [1, 2, 4, 16, 24])
    assert list(ax.get_xticks()) == [1, 2, 4, 16, 24] and ax.get_xscale() == "log"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "2", "4", "16", "24"]
    plt.close(fig)


def test_a_real_run_sweeps_and_reports_per_tick_figures(bench_run):
    doc, _ = bench_run
    entry = doc["end_to_end"]["lite"]
    assert entry["status"] == "ok", entry.get("reason")
    runs = entry["streams"]["30"]["runs"] + entry["streams"]["25"]["runs"]
    assert runs and max(r["streams"] for r in runs) <= 2
    for r in runs:
        assert r["tick_host_ms_p50"] > 0 and r["batch_frames_mean"] >= 1 and r["stage_ms"]["mouth"] > 0
        assert r["gpu_ms_per_frame"] is None  # the CPU path
