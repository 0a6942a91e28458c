"""The result schema: a real run validates; broken documents are rejected with the reason."""
from __future__ import annotations

import copy
import json

import pytest

from dhsdk.bench.schema import SCHEMA_ID, clean, load, validate
from dhsdk.errors import InputError


def test_real_run_validates_and_records_the_machine(bench_run):
    doc, paths = bench_run
    on_disk = load(paths["json"])  # parses as strict JSON (no NaN) and validates
    assert on_disk["schema"] == SCHEMA_ID
    assert on_disk["machine"]["cores"] >= 1 and on_disk["machine"]["cpu"]
    assert set(on_disk["stages"]) == {"features", "a2k", "crop", "mouth", "composite", "color", "encode"}
    for name, entry in on_disk["stages"].items():
        assert entry["status"] in ("ok", "not available"), (name, entry.get("reason"))
        if entry["status"] == "ok":
            for st in entry["cases"].values():
                assert st["min_ms"] <= st["spread_ms"][0] <= st["spread_ms"][1] <= st["max_ms"]
    json.dumps(on_disk, allow_nan=False)


def test_every_ok_case_has_a_metric(bench_run):
    doc, _ = bench_run
    for name, entry in doc["stages"].items():
        for case in entry.get("cases", {}):
            m = doc["metrics"][f"{name}/{case}"]
            assert m["value"] == entry["cases"][case]["median_ms"] and m["better"] == "lower"


@pytest.mark.parametrize("breakage, message", [
    (lambda d: d.update(schema="dhsdk.bench/0"), "unknown result schema"),
    (lambda d: d.pop("machine"), "machine"),
    (lambda d: d["stages"].update(x={"status": "not available"}), "needs a reason"),
    (lambda d: d["stages"].update(x={"status": "ok", "ratios": {},
                                     "cases": {"c": {"median_ms": 5.0, "min_ms": 6.0, "max_ms": 7.0, "p95_ms": 7.0,
                                                     "p99_ms": 7.0, "n": 3, "spread_ms": [6.0, 7.0]}}}),
     "inconsistent statistics"),
    (lambda d: d["metrics"].update(x={"value": float("nan"), "lo": None, "hi": None, "unit": "ms",
                                      "better": "lower", "tol": 0.05}), "metrics.x"),
])
def test_broken_documents_are_rejected(bench_run, breakage, message):
    doc = copy.deepcopy(bench_run[0])
    breakage(doc)
    with pytest.raises(InputError, match=message):
        validate(doc)


def test_load_names_the_file_and_the_problem(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(InputError, match="bad.json is not JSON"):
        load(bad)


def test_clean_replaces_non_finite_numbers():
    import numpy as np

    assert clean({"a": [float("nan"), np.float32(1.5), float("inf")], "b": np.int64(3)}) == \
        {"a": [None, 1.5, None], "b": 3}
