"""fp32 ONNX -> fp16 ONNX with fp32 inputs and outputs, for TensorRT 11.

TensorRT 11 builds strongly typed networks only: the ``BuilderFlag.FP16`` of TensorRT 10 (let
the builder pick fp16 kernels) is gone, and a tensor's precision is the one the graph gives it.
An fp16 engine is therefore built from a graph whose weights and activations are fp16:
:func:`to_fp16` converts every float32 weight and constant to float16, casts each float32 input
to float16 right after it enters and each output back to float32 before it leaves (so callers
feed and read float32, as with a TensorRT 10 fp16 engine), and leaves the float32 inputs that
operators require to stay float32 (Resize's roi and scales) alone. This is the conversion
NVIDIA's ModelOpt AutoCast makes for networks that are fp16-safe throughout, as the SDK's
convolutional UNets and the a2k network are; a model that needs fp32 islands should be
converted with AutoCast and built with ``precision: fp32``.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from dhsdk._optional import require

# (op type, input index) that must stay float32 whatever the data type.
_KEEP_FP32 = {("Resize", 1), ("Resize", 2), ("Upsample", 1)}


def to_fp16(model: Any) -> Any:
    """The fp16 version of an fp32 ``onnx.ModelProto`` (a new model; inputs/outputs stay float32).

    Raises:
        ValueError: the model has no float32 input or output to convert.
    """
    onnx = require("onnx", "fp16 engines for TensorRT 11")
    from onnx import TensorProto, helper, numpy_helper

    out = onnx.ModelProto()
    out.CopyFrom(model)
    g = out.graph
    fp32 = TensorProto.FLOAT
    keep = {node.input[i] for node in g.node for i in range(len(node.input)) if (node.op_type, i) in _KEEP_FP32}
    for init in g.initializer:
        if init.data_type == fp32 and init.name not in keep:
            init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float16), init.name))
    for node in g.node:
        if node.op_type == "Constant" and node.output[0] not in keep:
            for attr in node.attribute:
                if attr.name == "value" and attr.t.data_type == fp32:
                    attr.t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(attr.t).astype(np.float16)))
        if node.op_type == "Cast":  # casts to float32 inside the graph now cast to float16
            for attr in node.attribute:
                if attr.name == "to" and attr.i == fp32:
                    attr.i = TensorProto.FLOAT16
    inputs = [i for i in g.input if i.type.tensor_type.elem_type == fp32]
    outputs = [o for o in g.output if o.type.tensor_type.elem_type == fp32]
    if not inputs and not outputs:
        raise ValueError("the model has no float32 input or output: nothing to convert to fp16")
    rename = {i.name: f"{i.name}__fp16" for i in inputs}
    for node in g.node:
        for k, name in enumerate(node.input):
            if name in rename and (node.op_type, k) not in _KEEP_FP32:
                node.input[k] = rename[name]
    casts_in = [helper.make_node("Cast", [i.name], [rename[i.name]], to=TensorProto.FLOAT16,
                                 name=f"{i.name}_to_fp16") for i in inputs]
    casts_out = []
    for o in outputs:
        inner = f"{o.name}__fp16"
        for node in g.node:
            node.output[:] = [inner if n == o.name else n for n in node.output]
        casts_out.append(helper.make_node("Cast", [inner], [o.name], to=fp32, name=f"{o.name}_to_fp32"))
    nodes = casts_in + list(g.node) + casts_out
    del g.node[:]
    g.node.extend(nodes)
    del g.value_info[:]  # intermediate float32 annotations no longer hold
    return out
