"""Static int8 quantisation of an ONNX model for ONNX Runtime on the CPU (training-time tool).

The CPU spends most of a UNet mouth frame in 3x3 convolutions; ONNX Runtime's int8 convolutions
(QDQ format: per-channel int8 weights, uint8 activations with ranges measured on calibration
inputs) run them in about two thirds of the float32 time (lite UNet, batch 4, one core: 3.45
against 5.10 ms a frame). Activation ranges come from inputs of the model's own use (an avatar's
crops), so the quantised model is checked there too before anything uses it
(:func:`dhsdk.train.mouth.add_int8`).
Needs ``onnx`` (the ``train`` extra); the quantised file runs on plain ONNX Runtime.
"""
from __future__ import annotations

import logging
import os
from contextlib import contextmanager
from typing import Iterable, Iterator

import numpy as np


@contextmanager
def _quiet_root_logger() -> Iterator[None]:
    """ORT's quantiser advises pre-processing through the root logger on every call; the model
    needs none (static shapes but the batch), so the advice is noise to a user."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)


def quantize(model: str | os.PathLike, out: str | os.PathLike, calibration: Iterable[dict[str, np.ndarray]]) -> None:
    """Write ``model`` quantised to int8 (QDQ, per-channel weights, MinMax activation ranges).

    Args:
        model: float32 ONNX file.
        out: destination ONNX (written atomically; nothing else is written, the working
            directory included).
        calibration: feeds (input name -> float32 array) whose activations set the ranges.

    Raises:
        ImportError: ``onnx`` is missing (install the ``train`` extra).
    """
    from dhsdk._optional import require

    require("onnx", "pip install 'dhsdk[train]'")
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    from dhsdk.atomic import atomic_file

    class Feeds(CalibrationDataReader):
        def __init__(self) -> None:
            self._it = iter(calibration)

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self._it, None)

    with atomic_file(out) as tmp, _quiet_root_logger():
        quantize_static(os.fspath(model), os.fspath(tmp), Feeds(), quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
