"""The plots are written as valid PNGs, with data or with a 'no data' notice."""
from __future__ import annotations

import copy

import matplotlib.image as mpimg

from dhsdk.bench.plots import fps_vs_streams, latency_cdf

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _check_png(path):
    assert path.read_bytes()[:8] == PNG_MAGIC
    img = mpimg.imread(path)
    assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100
    return img


def test_run_plots_are_valid_pngs(bench_run):
    _, paths = bench_run
    for kind in ("latency_cdf", "fps_streams"):
        _check_png(paths[kind])


def test_plots_without_data_still_write_a_png(bench_run, tmp_path):
    doc = copy.deepcopy(bench_run[0])
    doc["samples"], doc["end_to_end"] = {}, {}
    a = _check_png(latency_cdf(doc, tmp_path / "cdf.png"))
    b = _check_png(fps_vs_streams(doc, tmp_path / "fps.png"))
    assert a.std() > 0 and b.std() > 0  # the notice is drawn
