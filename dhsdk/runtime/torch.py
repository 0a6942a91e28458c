"""Eager PyTorch backend, for training parity and as the baseline in benchmarks.

Needs the ``train`` extra; imported only when used.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from dhsdk._optional import require
from dhsdk.runtime.base import BaseRunner, TensorSpec


class TorchRunner(BaseRunner):
    """Runs an ``nn.Module`` eagerly under ``torch.inference_mode``.

    Args:
        model: the module, or a zero-argument callable returning it (lazy loader).
        input_specs: input name -> TensorSpec, in the order of ``forward``'s arguments.
        output_specs: output name -> TensorSpec, in the order ``forward`` returns them.
        device: torch device string.
        name: label for errors and benchmarks.
    """

    def __init__(self, model: Any, input_specs: Mapping[str, TensorSpec],
                 output_specs: Mapping[str, TensorSpec], device: str = "cpu", name: str = "torch"):
        super().__init__(name)
        self._source = model
        self._in = dict(input_specs)
        self._out = dict(output_specs)
        self.device = device
        self.model: Any = None

    def activate_impl(self) -> None:
        require("torch")
        model = self._source() if callable(self._source) and not hasattr(self._source, "forward") else self._source
        self.model = model.to(self.device).eval()

    def io_specs_impl(self) -> tuple[dict[str, TensorSpec], dict[str, TensorSpec]]:
        return self._in, self._out

    def infer_impl(self, feeds: Mapping[str, Any]) -> dict[str, Any]:
        torch = require("torch")
        args = [torch.from_numpy(np.ascontiguousarray(feeds[k])).to(self.device) for k in self._in]
        with torch.inference_mode():
            out = self.model(*args)
        outs: Sequence[Any] = out if isinstance(out, (tuple, list)) else (out,)
        return {k: v.detach().cpu().numpy() for k, v in zip(self._out, outs)}

    def deactivate_impl(self) -> None:
        self.model = None
