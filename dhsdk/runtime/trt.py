"""TensorRT backend: engines on CUDA streams, zero-copy device inputs, CUDA graphs.

Uses the TensorRT 10 name-based I/O API (``set_input_shape``, ``set_tensor_address``,
``execute_async_v3``). One execution context per CUDA stream, so stages on different streams
run concurrently; device inputs from CuPy, torch, PyCUDA or Numba are read in place through
:func:`dhsdk.cuda.device_view` (numpy inputs are copied to the device once). When a call
repeats the same shapes and buffer addresses on a non-default stream, the enqueue is captured
into a CUDA graph and replayed from then on (TensorRT requires an ordinary enqueue after every
shape change before a capture; a graph fixes shapes, addresses and context).

Outputs are CuPy arrays owned by the runner, reused per (stream, shape): valid until the next
call on the same stream with the same shapes. Pass ``outputs=`` to write into your own arrays.
Inputs stay referenced until an event recorded after their enqueue has completed, so a caller
may drop them right after the call.
"""
from __future__ import annotations

import os
import threading
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Union

import numpy as np

from dhsdk._optional import require
from dhsdk.cuda.arrays import DeviceView, device_view
from dhsdk.cuda.streams import Event, Stream, cupy_for, is_default_stream, stream_ptr
from dhsdk.errors import InputError
from dhsdk.runtime.base import BaseRunner, TensorSpec

# trt.DataType member name -> numpy dtype (BF16/FP8/INT4/FP4 engines I/O are not supported).
TRT_DTYPES = {"FLOAT": np.float32, "HALF": np.float16, "INT8": np.int8, "INT32": np.int32,
              "INT64": np.int64, "BOOL": np.bool_, "UINT8": np.uint8}
MAX_GRAPHS_PER_STREAM = 16

EngineSource = Union[str, os.PathLike, bytes, Any, Callable[[], Any]]


@dataclass
class _StreamState:
    """An execution context bound to one CUDA stream and what it has cached."""

    context: Any
    shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)
    out_buffers: dict[tuple[str, tuple[int, ...]], Any] = field(default_factory=dict)
    graphs: "OrderedDict[tuple, Any]" = field(default_factory=OrderedDict)
    seen: set = field(default_factory=set)
    # (event after an enqueue, the inputs it reads): the inputs' memory (DLPack owners, staging
    # copies) stays referenced until the GPU is done with it, even if the caller drops it.
    inflight: deque = field(default_factory=deque)


class TrtRunner(BaseRunner):
    """Runs a TensorRT engine.

    Args:
        engine: a ``.plan`` path, serialized engine bytes, an ``ICudaEngine``, or a zero-argument
            loader returning one of these (e.g. ``functools.partial(build_engine, recipe)``).
        name: label for errors and benchmarks.
        device: CUDA device index.
        cuda_graphs: capture repeated calls into CUDA graphs (non-default streams only).
    """

    def __init__(self, engine: EngineSource, name: str = "trt", device: int = 0, cuda_graphs: bool = True):
        super().__init__(name)
        self._source = engine
        self.device = device
        self.cuda_graphs = cuda_graphs
        self.engine: Any = None
        self._trt: Any = None
        self._cp: Any = None
        self._runtime: Any = None
        self._stream: Stream | None = None
        self._states: dict[int, _StreamState] = {}
        self._lock = threading.Lock()

    # ---- lifecycle -----------------------------------------------------------------
    def activate_impl(self) -> None:
        self._trt = trt = require("tensorrt")
        self._cp = cupy_for("TensorRT inference")
        self._cp.cuda.Device(self.device).use()
        src = self._source
        if callable(src) and not isinstance(src, (str, os.PathLike, bytes)) and not hasattr(src, "num_io_tensors"):
            src = src()
        if isinstance(src, (str, os.PathLike)):
            src = Path(src).read_bytes()
        if isinstance(src, (bytes, bytearray, memoryview)):
            self._runtime = trt.Runtime(trt.Logger(trt.Logger.WARNING))
            src = self._runtime.deserialize_cuda_engine(bytes(src))
            if src is None:
                raise InputError(f"{self.name}: TensorRT could not load the engine (built for another GPU arch or "
                                 f"TensorRT version?): rebuild it with 'dhsdk engines build'")
        self.engine = src
        self._stream = Stream()

    def io_specs_impl(self) -> tuple[dict[str, TensorSpec], dict[str, TensorSpec]]:
        trt, eng = self._trt, self.engine
        ins, outs = {}, {}
        for i in range(eng.num_io_tensors):
            name = eng.get_tensor_name(i)
            dt = eng.get_tensor_dtype(name).name
            if dt not in TRT_DTYPES:
                raise InputError(f"{self.name}: tensor '{name}' has TensorRT type {dt}, which dhsdk cannot exchange")
            shape = tuple(None if d < 0 else int(d) for d in eng.get_tensor_shape(name))
            shape = tuple("batch" if (a == 0 and d is None) else d for a, d in enumerate(shape))
            spec = TensorSpec(shape, np.dtype(TRT_DTYPES[dt]))
            (ins if eng.get_tensor_mode(name) == trt.TensorIOMode.INPUT else outs)[name] = spec
        return ins, outs

    def deactivate_impl(self) -> None:
        for st in self._states.values():  # events, not streams: a caller's stream may be gone already
            for event, _ in st.inflight:
                event.synchronize()
        self._states.clear()
        self.engine = self._runtime = self._stream = None

    # ---- inference -----------------------------------------------------------------
    def infer_impl(self, feeds: Mapping[str, Any]) -> dict[str, Any]:
        out = self._enqueue(feeds, self._stream.ptr, None)
        self._stream.synchronize()
        return out

    def infer_async(self, feeds: Mapping[str, Any], stream: Any = None, outputs: Mapping[str, Any] | None = None,
                    check: bool = True) -> dict[str, Any]:
        """Enqueue one inference on ``stream`` and return without waiting.

        Calls on one stream must come from one thread at a time (they share its context).

        Args:
            feeds: input name -> device array (CuPy, torch.cuda, PyCUDA, Numba, anything with
                ``__cuda_array_interface__`` or DLPack; read in place) or numpy (copied).
            stream: any stream-like (:func:`dhsdk.cuda.stream_ptr`); the runner's own when None.
            outputs: optional output name -> device array to write into (right shape/dtype).
            check: verify names, dtypes and static dimensions first.

        Returns:
            output name -> CuPy array (or the caller's array from ``outputs``), ready once the
            work queued on ``stream`` so far has completed (record an event to chain stages).
        """
        self._require_active("infer_async()")
        if check:
            self._check_feeds(feeds)
        return self._enqueue(feeds, self._stream.ptr if stream is None else stream_ptr(stream), outputs)

    def _state(self, s: int) -> _StreamState:
        with self._lock:
            st = self._states.get(s)
            if st is None:
                context = self.engine.create_execution_context()
                if context is None:
                    raise RuntimeError(f"{self.name}: TensorRT could not create an execution context (out of memory?)")
                st = self._states[s] = _StreamState(context)
            return st

    def _input_views(self, feeds: Mapping[str, Any], s: int) -> dict[str, DeviceView]:
        cp, views = self._cp, {}
        ext = Stream(s)
        for name, spec in self._inputs.items():
            arr = feeds[name]
            if isinstance(arr, np.ndarray):
                with ext:
                    arr = cp.asarray(arr, dtype=spec.dtype)  # the one host->device copy
            view = device_view(arr, stream=s)
            if view.stream not in (None, s):  # __cuda_array_interface__ producer on another stream
                ext.wait_stream(view.stream)
            views[name] = view
        return views

    def _bind_outputs(self, st: _StreamState, s: int, outputs: Mapping[str, Any] | None) -> dict[str, Any]:
        cp, ctx, result = self._cp, st.context, {}
        for name, spec in self._outputs.items():
            shape = tuple(int(d) for d in ctx.get_tensor_shape(name))
            if outputs and name in outputs:
                view = device_view(outputs[name])
                if view.shape != shape or view.dtype != spec.dtype or view.readonly:
                    raise InputError(f"{self.name}: outputs['{name}'] must be a writable {spec.dtype.name} array of "
                                     f"shape {shape}, got {view.dtype.name} {view.shape}")
                result[name] = outputs[name]
            else:
                buf = st.out_buffers.get((name, shape))
                if buf is None:
                    with Stream(s):
                        buf = st.out_buffers[(name, shape)] = cp.empty(shape, spec.dtype)
                result[name] = buf
                view = device_view(buf)
            ctx.set_tensor_address(name, view.ptr)
        return result

    def _enqueue(self, feeds: Mapping[str, Any], s: int, outputs: Mapping[str, Any] | None) -> dict[str, Any]:
        with self._cp.cuda.Device(self.device):
            st = self._state(s)
            while st.inflight and st.inflight[0][0].done():
                st.inflight.popleft()
            ctx = st.context
            views = self._input_views(feeds, s)
            changed = False
            for name, view in views.items():
                if st.shapes.get(name) != view.shape:
                    if not ctx.set_input_shape(name, view.shape):
                        raise InputError(f"{self.name}: input '{name}' shape {view.shape} is outside the engine's "
                                         f"optimisation profile: rebuild with a wider range in its recipe")
                    st.shapes[name] = view.shape
                    changed = True
                ctx.set_tensor_address(name, view.ptr)
            result = self._bind_outputs(st, s, outputs)
            key = (tuple((n, v.shape, v.ptr) for n, v in views.items()),
                   tuple((n, device_view(a).ptr) for n, a in result.items()))
            self._execute(st, s, key, changed)
            st.inflight.append((Event().record(s), views))
        return result

    def _execute(self, st: _StreamState, s: int, key: tuple, changed: bool) -> None:
        graph = st.graphs.get(key)
        if graph is not None:
            st.graphs.move_to_end(key)
            graph.launch(stream=Stream(s).raw)
            return
        if self.cuda_graphs and not is_default_stream(s) and key in st.seen and not changed:
            raw = Stream(s).raw
            raw.begin_capture()
            ok = st.context.execute_async_v3(s)
            graph = raw.end_capture()
            if ok:
                st.graphs[key] = graph
                while len(st.graphs) > MAX_GRAPHS_PER_STREAM:
                    st.graphs.popitem(last=False)
                graph.launch(stream=raw)
                return
        if len(st.seen) >= 4 * MAX_GRAPHS_PER_STREAM:  # callers with fresh buffers every call
            st.seen.clear()
        st.seen.add(key)
        if not st.context.execute_async_v3(s):
            raise RuntimeError(f"{self.name}: execute_async_v3 failed (see the TensorRT log)")
