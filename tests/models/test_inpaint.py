"""Inpainting UNet: FLOP budgets, ONNX export vs eager torch, checkpoint configuration checks."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from dhsdk.errors import BundleError
from dhsdk.models.inpaint import (CONFIGS, IN_NAMES, OUT_NAME, InpaintUNet, example_inputs, export_onnx,
                                  load_checkpoint, save_checkpoint)
from dhsdk.runtime.ort import OnnxrtRunner


def _gflops(name: str) -> float:
    model = InpaintUNet(name).eval()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(*example_inputs(model.config))
    return counter.get_total_flops() / 1e9


def test_flop_budgets():
    full, lite = _gflops("full"), _gflops("lite")
    assert CONFIGS["full"].size == 256
    assert full <= 4.0
    assert lite <= 0.1 * full


def test_onnx_export_dynamic_batch_matches_torch(tmp_path):
    torch.manual_seed(1)
    model = InpaintUNet("lite").eval()
    path = tmp_path / "lite.onnx"
    export_onnx(model, path)
    for batch in (1, 3):
        inputs = example_inputs(model.config, batch)
        with torch.no_grad():
            ref = model(*inputs).numpy()
        with OnnxrtRunner(path) as runner:
            got = runner.infer({n: t.numpy() for n, t in zip(IN_NAMES, inputs)})[OUT_NAME]
        assert got.shape == ref.shape
        np.testing.assert_allclose(got, ref, atol=1e-4)  # stated tolerance: 1e-4 on [0, 1] outputs


def test_checkpoint_round_trip_and_wrong_configuration(tmp_path):
    model = InpaintUNet("lite")
    path = tmp_path / "lite.pt"
    save_checkpoint(path, model)
    loaded, _ = load_checkpoint(path, "lite")
    inputs = example_inputs(model.config)
    with torch.no_grad():
        torch.testing.assert_close(loaded(*inputs), model.eval()(*inputs))
    with pytest.raises(BundleError, match="configuration 'lite'.*expected 'full'"):
        load_checkpoint(path, "full")


def test_not_a_checkpoint(tmp_path):
    bad = tmp_path / "bad.pt"
    torch.save({"weights": 1}, bad)
    with pytest.raises(BundleError, match="not an inpainting checkpoint"):
        load_checkpoint(bad)
