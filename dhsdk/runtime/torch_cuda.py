"""PyTorch runner for serving a network on a GPU without TensorRT: fp16, channels_last, CUDA
graphs per batch bucket (the same Runner interface as :mod:`dhsdk.runtime.trt`).

On CUDA, a call of batch n runs at the smallest bucket >= n (1, 2, 4, ... 64 by default; larger
batches run as they are): inputs are copied into the bucket's static buffers (fp16,
channels_last), the bucket's CUDA graph is replayed, and the first n rows of its output are
returned as float32 (a new tensor: the static output is reused by the next replay). A bucket's
graph is captured on its second call (its first warms cuDNN's kernel choice up). On the CPU the
module runs eagerly in float32 at the exact batch, which is what tests compare with ONNX
Runtime here. The network must treat batch rows independently (convolutional networks without
batch statistics do), as padded rows share its batch.

Needs torch (``pip install torch``); imported when the runner is activated.
"""
from __future__ import annotations

import contextlib
import threading
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from dhsdk._optional import require
from dhsdk.runtime.base import BaseRunner, TensorSpec

BUCKETS = (1, 2, 4, 8, 16, 32, 64)


def bucket_for(n: int, buckets: Sequence[int] = BUCKETS) -> int:
    """The smallest bucket >= n, or n itself past the largest."""
    return next((b for b in sorted(buckets) if b >= n), n)


class TorchCudaRunner(BaseRunner):
    """Serve an ``nn.Module`` with PyTorch (the GPU path's UNet when TensorRT is absent).

    Args:
        model: the module, or a zero-argument callable returning it (called on activate).
        input_specs: input name -> TensorSpec (float32), in ``forward``'s argument order.
        output_specs: output name -> TensorSpec (float32), in the order ``forward`` returns.
        device: ``"cuda"`` (``"cuda:1"``) or ``"cpu"``.
        fp16: run in half precision on CUDA (weights and activations; inputs/outputs float32).
        channels_last: NHWC memory layout for 4-d tensors on CUDA (tensor cores' layout).
        cuda_graphs: capture and replay one CUDA graph per batch bucket.
        buckets: batch sizes calls are padded to on CUDA.
        name: label for errors and benchmarks.
    """

    def __init__(self, model: Any, input_specs: Mapping[str, TensorSpec], output_specs: Mapping[str, TensorSpec],
                 device: str = "cuda", fp16: bool = True, channels_last: bool = True, cuda_graphs: bool = True,
                 buckets: Sequence[int] = BUCKETS, name: str = "torch-cuda"):
        super().__init__(name)
        self._source = model
        self._in, self._out = dict(input_specs), dict(output_specs)
        self.device = device
        self.fp16, self.channels_last, self.cuda_graphs = fp16, channels_last, cuda_graphs
        self.buckets = tuple(sorted(int(b) for b in buckets))
        self.model: Any = None
        self._torch: Any = None
        self._cuda = device.startswith("cuda")
        # (stream, bucket) -> (graph, static inputs, static outputs): each stream has its own
        # buffers, so calls on different streams never overwrite each other's inputs.
        self._graphs: dict[tuple[int, int], tuple[Any, list[Any], list[Any]]] = {}
        self._seen: set[tuple[int, int]] = set()
        self._lock = threading.Lock()

    # ---- lifecycle -----------------------------------------------------------------
    def activate_impl(self) -> None:
        self._torch = torch = require("torch", "the PyTorch runner")
        if self._cuda and not torch.cuda.is_available():
            from dhsdk.errors import DeviceError

            raise DeviceError(f"{self.name}: device={self.device!r} but torch sees no CUDA device (a CPU-only torch "
                              f"build, or no driver): install a CUDA build of torch, or use device='cpu'")
        model = self._source if hasattr(self._source, "forward") else self._source()
        model = model.eval().to(self.device)
        if self._cuda:
            if self.fp16:
                model = model.half()
            if self.channels_last:
                model = model.to(memory_format=torch.channels_last)
        self.model = model

    def io_specs_impl(self) -> tuple[dict[str, TensorSpec], dict[str, TensorSpec]]:
        return self._in, self._out

    def deactivate_impl(self) -> None:
        self._graphs.clear()
        self._seen.clear()
        self.model = None

    # ---- inference -----------------------------------------------------------------
    def infer_impl(self, feeds: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """Run once; outputs come back as numpy float32 (synchronised)."""
        out = self.infer_async(feeds, check=False)
        return {k: v.cpu().numpy() for k, v in out.items()}

    def infer_async(self, feeds: Mapping[str, Any], stream: Any = None, check: bool = True) -> dict[str, Any]:
        """Queue one inference on ``stream`` and return its outputs as float32 torch tensors on the
        runner's device (ready when the stream gets there; on the CPU, at once).

        Args:
            feeds: input name -> numpy array, torch tensor, or CUDA array (CuPy, anything with
                ``__cuda_array_interface__``/DLPack; read in place, no host copy).
            stream: any CUDA stream-like (:func:`dhsdk.cuda.stream_ptr`); None: torch's current.
            check: verify names, dtypes and static dimensions first.
        """
        self._require_active("infer_async()")
        if check:
            self._check_feeds(feeds)
        torch = self._torch
        args = [self._tensor(feeds[k]) for k in self._in]
        if not self._cuda:
            with torch.inference_mode():
                return self._named(self.model(*args), lambda t: t.float())
        ctx = torch.cuda.stream(self._stream(stream)) if stream is not None else contextlib.nullcontext()
        with ctx, torch.inference_mode():
            n = int(args[0].shape[0])
            bucket = bucket_for(n, self.buckets)
            if bucket == n and n not in self.buckets:  # past the largest bucket: eager at n
                return self._named(self.model(*[self._cast(a) for a in args]), lambda t: t.float())
            return self._run_bucket(bucket, n, args)

    def _run_bucket(self, bucket: int, n: int, args: list[Any]) -> dict[str, Any]:
        key = (int(self._torch.cuda.current_stream().cuda_stream), bucket)
        with self._lock:
            entry = self._graphs.get(key)
            if entry is None:
                static_in = [self._static(bucket, a) for a in args]
                if self.cuda_graphs and key in self._seen:
                    entry = self._capture(static_in)
                    self._graphs[key] = entry
                else:  # first call of this bucket on this stream: eager (warms cuDNN up), capture next time
                    self._seen.add(key)
                    for s, a in zip(static_in, args):
                        s[:n].copy_(a)
                    return self._named(self.model(*static_in), lambda t: t[:n].float())
            graph, static_in, static_out = entry
            for s, a in zip(static_in, args):
                s[:n].copy_(a)
            graph.replay()
            return {k: t[:n].float() for k, t in zip(self._out, static_out)}

    def _capture(self, static_in: list[Any]) -> tuple[Any, list[Any], list[Any]]:
        torch = self._torch
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            self.model(*static_in)  # one run on the capture stream before capturing
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            out = self.model(*static_in)
        outs = list(out) if isinstance(out, (tuple, list)) else [out]
        return graph, static_in, outs

    # ---- helpers -------------------------------------------------------------------
    def _tensor(self, a: Any) -> Any:
        torch = self._torch
        if isinstance(a, np.ndarray):
            t = torch.from_numpy(np.ascontiguousarray(a))
            return t.to(self.device, non_blocking=True) if self._cuda else t
        if isinstance(a, torch.Tensor):
            return a.to(self.device)
        return torch.as_tensor(a, device=self.device)  # __cuda_array_interface__ / DLPack, no copy

    def _cast(self, t: Any) -> Any:
        t = t.half() if self.fp16 else t.float()
        return t.contiguous(memory_format=self._torch.channels_last) if self.channels_last and t.dim() == 4 else t

    def _static(self, bucket: int, like: Any) -> Any:
        torch = self._torch
        shape = (bucket, *like.shape[1:])
        fmt = torch.channels_last if self.channels_last and like.dim() == 4 else torch.contiguous_format
        return torch.zeros(shape, dtype=torch.float16 if self.fp16 else torch.float32, device=self.device,
                           memory_format=fmt)

    def _stream(self, stream: Any) -> Any:
        from dhsdk.cuda.streams import stream_ptr

        return self._torch.cuda.ExternalStream(stream_ptr(stream), device=self.device)

    def _named(self, out: Any, fn: Callable[[Any], Any]) -> dict[str, Any]:
        outs = out if isinstance(out, (tuple, list)) else (out,)
        return {k: fn(v) for k, v in zip(self._out, outs)}
