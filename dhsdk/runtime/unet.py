"""The inpainting UNet (mouth model) on a GPU: TensorRT where it is installed, else PyTorch
(:class:`~dhsdk.runtime.torch_cuda.TorchCudaRunner`: fp16, CUDA graphs, batch buckets), both
behind the Runner interface, from the avatar's exported ONNX alone.

The ONNX that :func:`dhsdk.models.inpaint.export_onnx` writes keeps the module's parameter
names as its initializer names, so the PyTorch network is rebuilt from it exactly: the
architecture from the weight shapes, the weights from the initializers.
"""
from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

import numpy as np

from dhsdk._optional import require
from dhsdk.errors import BundleError
from dhsdk.runtime.base import BaseRunner, TensorSpec


def _load(onnx_path: str | os.PathLike) -> Any:
    onnx = require("onnx", "the PyTorch UNet runner (reading the ONNX weights)")
    try:
        return onnx.load(os.fspath(onnx_path))
    except Exception as e:  # noqa: BLE001 - any unreadable file gets the same advice
        raise BundleError(f"{onnx_path}: not a readable ONNX model ({type(e).__name__}: {e}): re-export it with "
                          f"'dhsdk train mouth'") from e


def inpaint_specs(onnx_path: str | os.PathLike) -> tuple[dict[str, TensorSpec], dict[str, TensorSpec]]:
    """(inputs, outputs) of an exported inpainting UNet: name -> float32 spec, batch dynamic."""
    graph = _load(onnx_path).graph

    def spec(v: Any) -> TensorSpec:
        dims = tuple(d.dim_value if d.HasField("dim_value") else "batch" for d in v.type.tensor_type.shape.dim)
        return TensorSpec(dims, np.dtype(np.float32))

    inits = {i.name for i in graph.initializer}
    return ({v.name: spec(v) for v in graph.input if v.name not in inits}, {v.name: spec(v) for v in graph.output})


def inpaint_module_from_onnx(onnx_path: str | os.PathLike) -> Any:
    """The :class:`~dhsdk.models.inpaint.InpaintUNet` (eval mode, CPU, float32) whose export is
    ``onnx_path``.

    Raises:
        BundleError: the ONNX is not an export of that network (names or shapes differ).
    """
    torch = require("torch", "the PyTorch UNet runner")
    from onnx import numpy_helper

    from dhsdk.models.inpaint import CONFIGS, InpaintConfig, InpaintUNet

    model = _load(onnx_path)
    weights = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    try:
        widths = [weights["stem.0.0.weight"].shape[0]]
        while f"down.{len(widths) - 1}.0.0.weight" in weights:
            widths.append(weights[f"down.{len(widths) - 1}.0.0.weight"].shape[0])
        size = inpaint_specs(onnx_path)[0]["masked"].shape[2]
        config = InpaintConfig("onnx", int(size), tuple(int(w) for w in widths))
        config = next((c for c in CONFIGS.values() if (c.size, c.widths) == (config.size, config.widths)), config)
        net = InpaintUNet(config)
        net.load_state_dict({k: torch.from_numpy(np.array(weights[k])) for k in net.state_dict()})
    except (KeyError, RuntimeError, ValueError) as e:
        raise BundleError(f"{onnx_path}: not an export of dhsdk's inpainting UNet ({type(e).__name__}: {e}); "
                          f"re-export it with 'dhsdk train mouth'") from e
    return net.eval()


def gpu_inpaint_runner(onnx_path: str | os.PathLike, backend: str = "auto", **torch_options: Any) -> BaseRunner:
    """An activated runner of the avatar's UNet on the GPU.

    Args:
        onnx_path: the avatar's exported mouth model.
        backend: ``"tensorrt"``, ``"torch"``, or ``"auto"`` (TensorRT when it is installed, else
            PyTorch).
        torch_options: extra :class:`TorchCudaRunner` arguments (``fp16``, ``buckets``, ...).

    Both runners take float32 CUDA (or numpy) feeds and have ``infer_async(feeds, stream=...,
    check=...)`` returning CUDA arrays (CuPy for TensorRT, torch for PyTorch; both readable by
    CuPy in place).
    """
    from dhsdk.cuda.requirements import missing_gpu_pieces

    if backend not in ("auto", "tensorrt", "torch"):
        raise ValueError(f"backend must be 'auto', 'tensorrt' or 'torch', got {backend!r}")
    path = Path(onnx_path)
    if backend == "tensorrt" or (backend == "auto" and not missing_gpu_pieces(("tensorrt",))):
        from dhsdk.engines import build_engine, load_recipe
        from dhsdk.runtime.trt import TrtRunner

        recipe = load_recipe(f"inpaint_{path.stem.removeprefix('mouth_')}")
        return TrtRunner(functools.partial(build_engine, recipe, path), name="inpaint-unet").activate()
    from dhsdk.runtime.torch_cuda import TorchCudaRunner

    inputs, outputs = inpaint_specs(path)
    return TorchCudaRunner(functools.partial(inpaint_module_from_onnx, path), inputs, outputs,
                           name="inpaint-unet-torch", **torch_options).activate()
