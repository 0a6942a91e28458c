"""Stream handles from every library, and clear errors where CuPy or a GPU is missing."""
from __future__ import annotations

import sys
import types

import numpy as np
import pytest

from dhsdk.cuda.streams import Event, Stream, is_default_stream, stream_ptr
from dhsdk.errors import DeviceError


def test_stream_ptr_from_each_library_shape():
    assert stream_ptr(None) == 0 and stream_ptr(1234) == 1234
    assert stream_ptr(types.SimpleNamespace(ptr=11)) == 11            # CuPy, dhsdk.cuda.Stream
    assert stream_ptr(types.SimpleNamespace(cuda_stream=22)) == 22    # torch.cuda.Stream
    assert stream_ptr(types.SimpleNamespace(handle=33)) == 33         # PyCUDA
    with pytest.raises(TypeError, match="not a CUDA stream"):
        stream_ptr("stream")
    assert all(is_default_stream(p) for p in (0, 1, 2)) and not is_default_stream(0x7F00)


def test_without_cupy_the_hint_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)
    with pytest.raises(ImportError, match=r"CUDA streams needs .*'cupy'.*dhsdk\[gpu\]"):
        Stream()


def test_without_gpu_the_error_names_the_driver():
    from dhsdk.device import cuda_problem

    if cuda_problem() is None:
        pytest.skip("a GPU is present")
    pytest.importorskip("cupy")
    with pytest.raises(DeviceError, match="CUDA events needs a CUDA GPU, but no NVIDIA driver"):
        Event()


@pytest.mark.gpu
def test_events_order_two_streams_without_host_sync():
    import cupy

    a, b = Stream(), Stream()
    with a:
        x = cupy.arange(1 << 20, dtype=cupy.float32)
        y = x * 2
    b.wait(a.record())
    with b:
        z = y + 1
    b.synchronize()
    np.testing.assert_array_equal(cupy.asnumpy(z), np.arange(1 << 20, dtype=np.float32) * 2 + 1)
    start, end = Event(timing=True).record(a), Event(timing=True).record(a)
    end.synchronize()
    assert end.done() and start.elapsed_ms(end) >= 0
