"""The GPU path's Python side: zero-copy device-array views and CUDA streams/events.

Importing this package touches no GPU and imports no GPU library: :mod:`dhsdk.cuda.arrays`
needs only numpy and ctypes, and :mod:`dhsdk.cuda.streams` imports CuPy inside its
functions. Whether CUDA is usable is answered by :func:`dhsdk.device.cuda_problem`.
"""
from __future__ import annotations

from dhsdk.cuda.arrays import DeviceView, device_view, is_device_array
from dhsdk.cuda.streams import Event, Stream, cupy_for, stream_ptr

__all__ = ["DeviceView", "Event", "Stream", "cupy_for", "device_view", "is_device_array", "stream_ptr"]
