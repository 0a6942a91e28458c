"""FLOPs and bytes of an ONNX graph, for the roofline projection (benchmarks/roofline.py).

Shapes come from ONNX shape inference with the batch (and any other named dimension) fixed.
FLOPs count a multiply-add as 2: ``Conv`` 2·N·Cout·prod(out spatial)·(Cin/groups)·prod(kernel),
``ConvTranspose`` the same over the input spatial size, ``MatMul``/``Gemm`` 2·prod(out)·K,
elementwise/activation ops one per output element (normalisations a few), pooling
prod(kernel) per output element; data movement ops (Reshape, Concat, ...) none.
Bytes are given two ways, at ``act_bytes`` per activation element (2 = fp16 engines):
``bytes_min`` = weights + graph inputs + outputs (perfect fusion), ``bytes_unfused`` = weights +
every node's activation inputs and outputs (no fusion); an engine lies between the two.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping

import numpy as np

_ELEMENTWISE = {"Add", "Sub", "Mul", "Div", "Relu", "LeakyRelu", "PRelu", "Sigmoid", "Tanh", "Clip", "Sqrt",
                "Pow", "Exp", "Log", "Erf", "HardSigmoid", "HardSwish", "Elu", "Selu", "Abs", "Neg", "Min",
                "Max", "Where", "Gelu", "Softplus", "Mish", "Cast", "Reciprocal"}
_NORMS = {"BatchNormalization": 2, "InstanceNormalization": 5, "LayerNormalization": 5,
          "GroupNormalization": 5, "Softmax": 3, "LogSoftmax": 3}
_POOLS = {"MaxPool", "AveragePool"}


@dataclass(frozen=True)
class GraphCost:
    """Cost of one inference at the given batch.

    Attributes:
        flops: floating-point operations (multiply-add = 2).
        weight_bytes: initializers at ``act_bytes`` per float element (ints as stored).
        bytes_min: weights + graph inputs + graph outputs.
        bytes_unfused: weights + every node's activation reads and writes.
        by_op: op type -> FLOPs.
        heavy_nodes: Conv/ConvTranspose/MatMul/Gemm nodes, about the number of kernels an
            engine runs once TensorRT has fused bias, activations and elementwise ops into them.
    """

    flops: float
    weight_bytes: float
    bytes_min: float
    bytes_unfused: float
    by_op: dict[str, float]
    heavy_nodes: int


_HEAVY = {"Conv", "ConvTranspose", "MatMul", "Gemm"}


def _attr(node, name: str, default):
    from onnx import helper

    for a in node.attribute:
        if a.name == name:
            return helper.get_attribute_value(a)
    return default


def _node_flops(node, shape: Mapping[str, tuple[int, ...]]) -> float:
    op = node.op_type
    out = shape.get(node.output[0]) if node.output else None
    if out is None:
        return 0.0
    n_out = float(np.prod(out, dtype=np.float64))
    if op == "Conv":
        w = shape[node.input[1]]
        flops = 2.0 * n_out * w[1] * np.prod(w[2:], dtype=np.float64)
        return flops + (n_out if len(node.input) > 2 and node.input[2] else 0.0)
    if op == "ConvTranspose":
        x, w = shape[node.input[0]], shape[node.input[1]]
        return 2.0 * np.prod(x, dtype=np.float64) * w[1] * np.prod(w[2:], dtype=np.float64)
    if op == "MatMul":
        return 2.0 * n_out * shape[node.input[0]][-1]
    if op == "Gemm":
        a = shape[node.input[0]]
        k = a[0] if _attr(node, "transA", 0) else a[-1]
        return 2.0 * n_out * k + (n_out if len(node.input) > 2 else 0.0)
    if op in _ELEMENTWISE:
        return n_out
    if op in _NORMS:
        return _NORMS[op] * n_out
    if op in _POOLS:
        return n_out * float(np.prod(_attr(node, "kernel_shape", [1]), dtype=np.float64))
    if op in ("GlobalAveragePool", "ReduceMean", "ReduceSum"):
        return float(np.prod(shape.get(node.input[0], out), dtype=np.float64))
    if op == "Resize":
        return 4.0 * n_out  # bilinear: 4 taps per output element
    return 0.0


def onnx_cost(path: str | os.PathLike, dims: Mapping[str, int] | None = None, batch: int = 1,
              act_bytes: int = 2) -> GraphCost:
    """Count FLOPs and bytes of ``path`` with every named dimension fixed.

    Args:
        path: ONNX file.
        dims: named dimension -> size; axis 0 of an input defaults to ``batch``.
        batch: batch size for dynamic axis 0.
        act_bytes: bytes per activation/float weight element (2 for fp16 engines).

    Raises:
        ValueError: a dynamic dimension is left without a size.
    """
    from dhsdk._optional import require

    onnx = require("onnx")
    model = onnx.load(os.fspath(path))
    init = {t.name: t for t in model.graph.initializer}
    dims = dict(dims or {})
    graph_inputs = [vi for vi in model.graph.input if vi.name not in init]
    for vi in graph_inputs:
        for axis, d in enumerate(vi.type.tensor_type.shape.dim):
            if d.HasField("dim_value"):
                continue
            size = dims.get(d.dim_param, batch if axis == 0 else None)
            if size is None:
                raise ValueError(f"{path}: input {vi.name} axis {axis} ('{d.dim_param}') is dynamic: give its size")
            d.dim_value = int(size)
    inferred = onnx.shape_inference.infer_shapes(model)
    shape: dict[str, tuple[int, ...]] = {}
    itemsize: dict[str, int] = {}
    for vi in [*inferred.graph.input, *inferred.graph.value_info, *inferred.graph.output]:
        tt = vi.type.tensor_type
        if tt.HasField("shape") and all(d.HasField("dim_value") for d in tt.shape.dim):
            shape[vi.name] = tuple(int(d.dim_value) for d in tt.shape.dim)
            itemsize[vi.name] = act_bytes
    weight_bytes = 0.0
    for name, t in init.items():
        shape[name] = tuple(t.dims)
        np_dtype = onnx.helper.tensor_dtype_to_np_dtype(t.data_type)
        size = act_bytes if np.issubdtype(np_dtype, np.floating) else np.dtype(np_dtype).itemsize
        weight_bytes += float(np.prod(t.dims, dtype=np.float64)) * size

    def act(name: str) -> float:
        return float(np.prod(shape[name], dtype=np.float64)) * act_bytes if name in shape and name not in init else 0.0

    flops, unfused, by_op = 0.0, weight_bytes, {}
    for node in inferred.graph.node:
        f = _node_flops(node, shape)
        flops += f
        by_op[node.op_type] = by_op.get(node.op_type, 0.0) + f
        unfused += sum(act(n) for n in node.input if n) + sum(act(n) for n in node.output if n)
    io = sum(act(vi.name) for vi in graph_inputs) + sum(act(o.name) for o in inferred.graph.output)
    heavy = sum(node.op_type in _HEAVY for node in inferred.graph.node)
    return GraphCost(flops, weight_bytes, weight_bytes + io, unfused, by_op, heavy)
