"""Runners: one interface for every neural stage, several backends (DESIGN.md "Runners").

``OnnxrtRunner`` (CPU default and reference), ``TorchRunner`` (eager, training parity),
``TorchCudaRunner`` (PyTorch on a GPU: fp16, CUDA graphs, batch buckets; the UNet's GPU runner
where TensorRT is absent, see :mod:`dhsdk.runtime.unet`) and ``TrtRunner`` (TensorRT engines,
GPU) share :class:`~dhsdk.runtime.base.BaseRunner`.
Backends are imported lazily: ``from dhsdk.runtime import OnnxrtRunner`` loads onnxruntime,
nothing else.
"""
from __future__ import annotations

from dhsdk.runtime.base import BaseRunner, TensorSpec

_LAZY = {
    "OnnxrtRunner": "dhsdk.runtime.ort",
    "session_from_onnx": "dhsdk.runtime.ort",
    "TorchRunner": "dhsdk.runtime.torch",
    "TorchCudaRunner": "dhsdk.runtime.torch_cuda",
    "gpu_inpaint_runner": "dhsdk.runtime.unet",
    "TrtRunner": "dhsdk.runtime.trt",
}

__all__ = ["BaseRunner", "TensorSpec", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'dhsdk.runtime' has no attribute {name!r}")
