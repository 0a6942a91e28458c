"""Calling the CUDA kernel launchers of ``dhsdk._C`` (``cuda_composite``, ``cuda_crop``,
``cuda_rgb_to_yuv``, ``cuda_warp``) from Python, for :mod:`dhsdk.kernels` and
:mod:`dhsdk.render.warp`.

:func:`on_device` says where a kernel call runs: on the GPU when all its arrays are CUDA arrays,
on the host when none is. :class:`Launch` makes one launcher call on the caller's stream: it
checks that the launcher can run here (a DeviceError lists each missing piece with its install
command), turns device arrays into the ``(ptr, shape, dtype, readonly)`` tuples the bindings
check, orders the launch after each array's producer stream, uploads the small host tables a
kernel reads per pixel (polygon, affines) and allocates outputs, with CuPy, on that stream.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from dhsdk.cuda.arrays import device_view, is_device_array
from dhsdk.cuda.requirements import missing_gpu_pieces
from dhsdk.cuda.streams import LEGACY_DEFAULT, _as_cupy_stream, stream_ptr
from dhsdk.errors import DeviceError, InputError


def on_device(**arrays: Any) -> bool:
    """True when every array given (None skipped) is a CUDA array, False when none is.

    Raises:
        InputError: some are on the GPU and some on the host (the message names them).
    """
    where = {name: is_device_array(a) for name, a in arrays.items() if a is not None}
    gpu = [name for name, on_gpu in where.items() if on_gpu]
    host = [name for name, on_gpu in where.items() if not on_gpu]
    if gpu and host:
        raise InputError(f"{', '.join(gpu)} on the GPU but {', '.join(host)} on the host: pass them on one side "
                         f"(cupy.asarray(x) uploads; upload a mask or crop you reuse once and keep it there)")
    return bool(gpu)


def _native() -> Any:
    from dhsdk import _C

    return _C


class Launch:
    """One call of a ``dhsdk._C.cuda_*`` launcher on the caller's CUDA stream.

    Outputs (:meth:`output`) and uploaded tables (:meth:`table`) are made on that stream, so they
    are ordered with the launch; a temporary that Python frees right after the call is safe, as
    CuPy's memory pool hands a freed block only to later work on the same stream. The launch
    runs on the current CUDA device, which must be the arrays' device. As with any asynchronous
    CUDA call, the caller's arrays must stay alive until the stream has run the launch, and
    results are ready once the stream reaches them (synchronise it, or record an event, before
    reading them on another stream).

    Args:
        binding: the launcher's name in ``dhsdk._C``, e.g. ``"cuda_crop"``.
        stream: any stream-like (:func:`dhsdk.cuda.stream_ptr`); None: CuPy's current stream.
        caller: the facade that got the CUDA arrays, named in the error.

    Attributes:
        stream: the launch's ``cudaStream_t``.
        device: the current CUDA device ordinal (the launch's and its arrays' device).

    Raises:
        DeviceError: the launcher cannot run here (CUDA launchers not compiled, no driver or
            device, no CuPy); the message lists each missing piece with its install command.
    """

    def __init__(self, binding: str, stream: Any = None, caller: str = "dhsdk.kernels"):
        missing = missing_gpu_pieces(("cuda", "cupy"))
        fn = getattr(_native(), binding, None)
        if fn is None and not missing:
            missing = [f"this build of dhsdk._C has no {binding} (it predates that launcher): rebuild it "
                       f"('make build' in a checkout, else pip install --force-reinstall --no-deps .)"]
        if missing:
            raise DeviceError(f"{caller} got CUDA arrays, but {binding} cannot run here:\n  "
                              + "\n  ".join(missing))
        import cupy

        self._cp = cupy
        self._fn = fn
        self.stream = int(cupy.cuda.get_current_stream().ptr) if stream is None else stream_ptr(stream)
        self._raw = _as_cupy_stream(cupy, self.stream)
        self.device = int(cupy.cuda.runtime.getDevice())
        self._keep: list[Any] = []  # this call's views: a DLPack view frees its capsule when collected

    def arg(self, obj: Any, name: str) -> tuple | None:
        """``(ptr, shape, dtype, readonly)`` of a C-contiguous CUDA array (None stays None).

        The stream first waits for the stream the producer says the data is ordered on (CuPy
        names its current stream, so call this outside any ``with`` of the launch's stream).

        Raises:
            InputError: not a usable CUDA array (see :func:`dhsdk.cuda.device_view`), or one on
                another device than the current one.
        """
        if obj is None:
            return None
        view = device_view(obj, stream=self.stream)
        if view.device_id >= 0 and view.device_id != self.device:
            raise InputError(f"{name} is on CUDA device {view.device_id} but the current device is {self.device}: "
                             f"make it current first (cupy.cuda.Device({view.device_id}).use() or "
                             f"torch.cuda.set_device({view.device_id}))")
        same = view.stream == self.stream or (view.stream == LEGACY_DEFAULT and self.stream == 0)
        if view.stream is not None and not same:
            event = self._cp.cuda.Event(disable_timing=True)
            event.record(_as_cupy_stream(self._cp, view.stream))
            self._raw.wait_event(event)
        self._keep.append(view)
        return view.ptr, view.shape, view.dtype, view.readonly

    def items(self, objs: Any, name: str) -> list[tuple]:
        """:meth:`arg` tuples of the items of a batch: a sequence of N CUDA arrays, or one stacked
        CUDA array whose first axis is the batch (viewed once, items by pointer offset).

        Raises:
            InputError: not a sequence or a CUDA array with a batch axis, or an item that is not
                a usable CUDA array.
        """
        if is_device_array(objs):
            ptr, shape, dtype, readonly = self.arg(objs, name)
            if len(shape) < 2:
                raise InputError(f"{name} must be a list of arrays or one array with a leading batch axis, "
                                 f"got shape {shape}")
            step = int(np.prod(shape[1:], dtype=np.int64)) * np.dtype(dtype).itemsize
            return [(ptr + i * step, shape[1:], dtype, readonly) for i in range(shape[0])]
        if not isinstance(objs, (list, tuple)):
            raise InputError(f"{name} must be a list of CUDA arrays or one stacked CUDA array, "
                             f"got {type(objs).__name__}")
        return [self.arg(o, f"{name}[{i}]") for i, o in enumerate(objs)]

    def table(self, host: Any, name: str) -> tuple | None:
        """Upload a small host table the kernel reads per pixel (a polygon, crop affines) as
        float32 on the stream; its :meth:`arg` tuple (None stays None)."""
        if host is None:
            return None
        return self.upload(np.ascontiguousarray(host, np.float32), name)[1]

    def upload(self, host: np.ndarray, name: str) -> tuple[Any, tuple]:
        """A CuPy copy of the host array ``host`` (C order, same dtype) made on the stream, and
        its :meth:`arg` tuple. The copy is ordered on the stream only: to read it on another
        stream, record an event after it (or synchronise) first."""
        with self._raw:  # made and viewed on the stream: nothing to wait for
            dev = self._cp.asarray(np.ascontiguousarray(host))
            return dev, self.arg(dev, name)

    def synchronize(self) -> None:
        """Block the host until the stream has run everything queued on it so far."""
        self._raw.synchronize()

    def download(self, obj: Any) -> np.ndarray:
        """A numpy copy of the CUDA array ``obj`` read on the stream, after the work queued on it
        so far (a host sync of the stream: for small read-backs, not per-frame images)."""
        view = device_view(obj, stream=self.stream)
        self._keep.append(view)
        return self._cp.asnumpy(self._cp.asarray(view), stream=self._raw)

    def outputs(self, shapes: list[tuple[int, ...]], dtype: Any, stacked: bool) -> tuple[Any, list[tuple]]:
        """Outputs for a batch: one stacked ``(N, *shape)`` CuPy array when ``stacked`` (all
        shapes equal), else a list of N arrays; and the items' :meth:`arg` tuples."""
        if stacked and shapes:
            out, arg = self.output((len(shapes), *shapes[0]), dtype)
            step = int(np.prod(shapes[0], dtype=np.int64)) * np.dtype(dtype).itemsize
            return out, [(arg[0] + i * step, tuple(shapes[0]), arg[2], arg[3]) for i in range(len(shapes))]
        made = [self.output(shape, dtype) for shape in shapes]
        return [m[0] for m in made], [m[1] for m in made]

    def output(self, shape: tuple[int, ...], dtype: Any) -> tuple[Any, tuple]:
        """A new, uninitialised CuPy array allocated on the stream for the launcher to write,
        and its :meth:`arg` tuple."""
        with self._raw:
            out = self._cp.empty(shape, dtype)
            return out, self.arg(out, "out")

    def __call__(self, *args: Any) -> Any:
        """The launcher's result for ``args`` plus this launch's stream (every ``cuda_*``
        binding takes the stream last)."""
        return self._fn(*args, self.stream)
