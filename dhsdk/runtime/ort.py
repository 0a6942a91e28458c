"""ONNX Runtime backend: the CPU default and the reference every other backend is checked
against.
"""
from __future__ import annotations

import os
from typing import Any, Callable, Mapping, Union

import numpy as np

from dhsdk._optional import require
from dhsdk.runtime.base import BaseRunner, TensorSpec

_ORT_DTYPES = {
    "tensor(float)": np.float32,
    "tensor(float16)": np.float16,
    "tensor(double)": np.float64,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(uint8)": np.uint8,
    "tensor(bool)": np.bool_,
}

ModelSource = Union[str, os.PathLike, bytes]


def session_from_onnx(model: ModelSource, providers: list[str] | None = None,
                      intra_op_threads: int | None = None) -> Callable[[], Any]:
    """A lazy loader: returns a callable that builds an ``InferenceSession`` when called.

    Args:
        model: path to a ``.onnx`` file, or its serialized bytes.
        providers: ONNX Runtime execution providers; CPU when None.
        intra_op_threads: threads per session; ORT's default (all cores) when None.

    The session's worker threads do not spin between runs: in the pipeline an inference is
    followed at once by the native kernels (their thread pool) and the encoder's threads, which
    spinning ORT workers would starve on a small machine.
    """

    def load() -> Any:
        ort = require("onnxruntime")
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if intra_op_threads:
            opts.intra_op_num_threads = intra_op_threads
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        src = model if isinstance(model, bytes) else os.fspath(model)
        return ort.InferenceSession(src, sess_options=opts, providers=providers or ["CPUExecutionProvider"])

    return load


class OnnxrtRunner(BaseRunner):
    """Runs an ONNX model with ONNX Runtime.

    Args:
        session: an ``InferenceSession``, a loader from :func:`session_from_onnx`, or a path.
        name: label for errors and benchmarks.
    """

    def __init__(self, session: Any, name: str = "onnxrt"):
        super().__init__(name)
        if isinstance(session, (str, os.PathLike, bytes)):
            session = session_from_onnx(session)
        self._source = session
        self.session: Any = None

    def activate_impl(self) -> None:
        self.session = self._source() if callable(self._source) else self._source

    def io_specs_impl(self) -> tuple[dict[str, TensorSpec], dict[str, TensorSpec]]:
        def specs(nodes: list[Any]) -> dict[str, TensorSpec]:
            return {n.name: TensorSpec(tuple(d if isinstance(d, int) else (d or None) for d in n.shape),
                                       np.dtype(_ORT_DTYPES[n.type])) for n in nodes}

        return specs(self.session.get_inputs()), specs(self.session.get_outputs())

    def infer_impl(self, feeds: Mapping[str, Any]) -> dict[str, Any]:
        names = list(self._outputs)
        values = self.session.run(names, {k: np.ascontiguousarray(v) for k, v in feeds.items()})
        return dict(zip(names, values))

    def deactivate_impl(self) -> None:
        self.session = None
