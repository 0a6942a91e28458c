"""The shared timing helper: statistics and repeated-run dispersion."""
from __future__ import annotations

from dhsdk.bench.timing import interleaved, machine, measure, summarize


def test_summarize_orders_and_spreads():
    samples = [5.0] * 10 + [1.0] * 10 + [3.0] * 10  # three runs with medians 5, 1, 3
    st = summarize(samples, rounds=3)
    assert st["median_ms"] == 3.0 and st["min_ms"] == 1.0 and st["max_ms"] == 5.0 and st["n"] == 30
    assert st["spread_ms"] == [1.0, 5.0]
    assert summarize([2.0] * 7, rounds=3)["spread_ms"] == [2.0, 2.0]


def test_measure_counts_calls_and_keeps_samples():
    calls = []
    st = measure(lambda: calls.append(1), repeat=12, warmup=2, keep_samples=True)
    assert len(calls) == 14 and st["n"] == 12 and len(st["samples_ms"]) == 12
    assert st["min_ms"] <= st["median_ms"] <= st["p95_ms"] <= st["p99_ms"] <= st["max_ms"]


def test_interleaved_times_every_case_alike():
    res = interleaved({"a": lambda: None, "b": lambda: sum(range(2000))}, rounds=3, repeat=4, warmup=1)
    assert res["a"]["n"] == res["b"]["n"] == 12
    assert res["b"]["median_ms"] > res["a"]["median_ms"]


def test_machine_records_the_facts():
    # one test, not parametrized: a test id containing "gpu" would get the gpu marker's skip
    facts = machine()
    missing = [k for k in ("cpu", "cores", "simd", "gpu", "driver_version", "numpy", "git", "python") if k not in facts]
    assert not missing
