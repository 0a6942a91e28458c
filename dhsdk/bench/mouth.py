"""Mouth-stage cases shared by ``dhsdk bench`` and ``benchmarks/bench_mouth.py``.

The inpainting UNets (``lite``, ``full`` of :data:`dhsdk.models.inpaint.CONFIGS`) and the
Wav2Lip-sized baseline are built with seeded random weights and exported to ONNX: speed does
not depend on the weights, so the numbers hold for any trained model of the same
architecture. Needs torch (the ``train`` extra) for the export and the eager baseline.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np

from dhsdk.bench.baselines import WAV2LIP_SIZED


def synthetic_lips(size: int) -> np.ndarray:
    """(40, 2) float32 lips in S x S crop pixels: outer then inner ring, lower third."""
    t = np.linspace(0, 2 * np.pi, 20, endpoint=False)
    c, a = size / 2, size / 4
    return np.vstack([np.c_[c + a * np.cos(t), 1.2 * c + 0.4 * a * np.sin(t)],
                      np.c_[c + 0.7 * a * np.cos(t), 1.2 * c + 0.15 * a * np.sin(t)]]).astype(np.float32)


def export_unet(name: str, workdir: Path) -> tuple[Path, float, Any]:
    """Export a random-weight inpainting UNet to ``workdir/<name>.onnx`` (reused when present).

    Args:
        name: ``"lite"``, ``"full"`` or ``"wav2lip-sized"``.

    Returns:
        (onnx path, GFLOPs per frame, the torch module in eval mode).
    """
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from dhsdk.models.inpaint import CONFIGS, InpaintConfig, InpaintUNet, example_inputs, export_onnx

    cfg = CONFIGS[name] if name in CONFIGS else InpaintConfig(*WAV2LIP_SIZED)
    torch.manual_seed(0)
    model = InpaintUNet(cfg).eval()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(*example_inputs(cfg))
    path = Path(workdir) / f"{cfg.name}.onnx"
    if not path.exists():
        export_onnx(model, path)
    return path, counter.get_total_flops() / 1e9, model


def export_unet_int8(path: Path, model: Any) -> Path:
    """The int8 twin (:mod:`dhsdk.runtime.int8`) of a model :func:`export_unet` wrote to
    ``path`` (``model``: the torch module it returned), ``<name>.int8.onnx`` beside it (reused
    when present), calibrated on random inputs in [0, 1]: the speed of an avatar's own int8
    model, not its quality."""
    from dhsdk.models.inpaint import IN_NAMES, example_inputs
    from dhsdk.runtime.int8 import quantize

    out = path.with_suffix(".int8.onnx")
    if not out.exists():
        quantize(path, out, [{n: t.numpy() for n, t in zip(IN_NAMES, example_inputs(model.config, batch=4))}])
    return out


def unet_cases(workdir: Path, names: tuple[str, ...] = ("lite", "full"), int8: tuple[str, ...] = ()
               ) -> tuple[dict[str, Callable[[], Any]], dict[str, float]]:
    """Cases timing one frame each, and GFLOPs per case.

    For each of ``names`` and the Wav2Lip-sized baseline: ``"<name> ort"`` (bare network,
    ONNX Runtime) and ``"<name> torch"`` (eager torch); for ``names`` also
    ``"<name> UNetRenderer"`` (masking, condition map, network, colour match and blend); for
    ``int8`` (of ``names``) ``"<name>-int8 ort"`` and ``"<name>-int8 UNetRenderer"``, the same
    with the int8 twin (:func:`export_unet_int8`).
    """
    import torch

    from dhsdk.models.inpaint import IN_NAMES, example_inputs
    from dhsdk.render.unet import UNetRenderer
    from dhsdk.runtime.ort import OnnxrtRunner

    cases: dict[str, Callable[[], Any]] = {}
    gflops: dict[str, float] = {}
    variants = [(name, name, False) for name in (*names, WAV2LIP_SIZED[0])] + [(f"{n}-int8", n, True) for n in int8]
    for label, name, quantized in variants:
        path, flops, model = export_unet(name, workdir)
        if quantized:
            path = export_unet_int8(path, model)
        inputs = example_inputs(model.config)
        runner = OnnxrtRunner(path, name=label).activate()
        feeds = {n: t.numpy() for n, t in zip(IN_NAMES, inputs)}

        def ort_call(runner=runner, feeds=feeds):
            return runner.infer(feeds, check=False)

        cases[f"{label} ort"] = ort_call
        gflops[f"{label} ort"] = flops
        if not quantized:
            def torch_call(model=model, inputs=inputs):
                with torch.inference_mode():
                    return model(*inputs)

            cases[f"{label} torch"] = torch_call
            gflops[f"{label} torch"] = flops
        if name in names:
            s = model.config.size
            rng = np.random.default_rng(0)
            mask = np.zeros((s, s), np.float32)
            mask[s // 3:, s // 6:5 * s // 6] = 1.0
            renderer = UNetRenderer(runner, rng.integers(0, 256, (s, s, 3), dtype=np.uint8), mask)
            crop = rng.integers(0, 256, (s, s, 3), dtype=np.uint8)
            lips = synthetic_lips(s)
            cases[f"{label} UNetRenderer"] = lambda r=renderer, c=crop, lp=lips: r.render(c, lp, lp)
            gflops[f"{label} UNetRenderer"] = flops
    return cases, gflops
