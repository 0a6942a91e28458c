"""The Markdown summary renders the vendor-style table from a real run."""
from __future__ import annotations

from dhsdk.bench.report import SUMMARY_COLUMNS, markdown, summary_table


def test_summary_table_has_a_row_per_mouth_model(bench_run):
    doc, paths = bench_run
    lines = summary_table(doc).splitlines()
    assert lines[0].count("|") == len(SUMMARY_COLUMNS) + 1
    rows = [ln for ln in lines[2:] if ln.startswith("| cpu |")]
    assert [r.split("|")[2].strip() for r in rows] == list(doc["config"]["mouths"])
    row = doc["summary"][0]
    if row["status"] == "ok":
        assert f"{row['fps']:.0f}" in rows[0] or f"{row['fps']:.3g}" in rows[0]


def test_markdown_file_lists_machine_stages_and_unavailable_reasons(bench_run):
    doc, paths = bench_run
    text = paths["markdown"].read_text()
    assert text == markdown(doc)
    assert doc["machine"]["cpu"] in text and "## Summary" in text
    for name, entry in doc["stages"].items():
        assert (entry["reason"] in text) if entry["status"] != "ok" else (f"| {name} |" in text)
