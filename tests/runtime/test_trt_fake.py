"""TrtRunner's orchestration without a GPU: a fake TensorRT (y = x @ W computed through raw
addresses) and a fake CuPy whose "device" memory is host memory. This checks what the runner
does with the TensorRT 10 API - shapes, addresses, per-stream contexts, output reuse, CUDA graph
capture and replay - against numpy; the real API is exercised by the gpu-marked tests."""
from __future__ import annotations

import ctypes
import itertools
import sys
import types
from pathlib import Path

import numpy as np
import pytest

import dhsdk.cuda.streams as streams
import dhsdk.runtime.trt as trt_mod
from dhsdk.errors import InputError
from dhsdk.runtime.trt import TrtRunner

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cuda"))
from fake_gpu import isolate_cupy  # noqa: E402

W = np.arange(12, dtype=np.float32).reshape(4, 3) / 10


class FakeDeviceArray:
    """Host memory posing as device memory (CAI v3 with a stream)."""

    def __init__(self, host: np.ndarray, stream: int | None = None):
        self.host, self.stream = host, stream
        self.shape, self.dtype = host.shape, host.dtype

    @property
    def __cuda_array_interface__(self):
        return {"shape": self.host.shape, "typestr": self.host.dtype.str, "data": (self.host.ctypes.data, False),
                "strides": None, "version": 3, "stream": self.stream}


class World:
    """Shared state of the fake CUDA: capture per stream handle, and what ran."""

    def __init__(self):
        self.capturing: dict[int, list] = {}
        self.executed = 0
        self.replayed = 0
        self.handles = itertools.count(0x1000, 0x10)
        self.waits: list[tuple[int, int]] = []
        self.synced: list[int] = []
        self.gpu_idle = True


def _fake_cupy(world: World):
    class Graph:
        def __init__(self, work):
            self.work = work

        def launch(self, stream=None):
            world.replayed += 1
            for fn in self.work:
                fn()

    class Stream:
        null = None

        def __init__(self, non_blocking=False, ptr=None):
            self.ptr = next(world.handles) if ptr is None else ptr

        def synchronize(self):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            pass

        def wait_event(self, event):
            world.waits.append((self.ptr, event.stream))

        def begin_capture(self):
            world.capturing[self.ptr] = []

        def end_capture(self):
            return Graph(world.capturing.pop(self.ptr))

    Stream.null = Stream(ptr=0)

    class Event:
        def __init__(self, disable_timing=True):
            self.stream = None

        def record(self, stream):
            self.stream = stream.ptr

        def synchronize(self):
            world.synced.append(self.stream)

        @property
        def done(self):  # a property in CuPy
            return world.gpu_idle

    class Device:
        def __init__(self, i):
            pass

        def use(self):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            pass

    cuda = types.SimpleNamespace(Stream=Stream, ExternalStream=lambda ptr: Stream(ptr=ptr), Event=Event,
                                 Device=Device, get_elapsed_time=lambda a, b: 0.0)
    return types.SimpleNamespace(
        cuda=cuda, asarray=lambda a, dtype=None: FakeDeviceArray(np.array(a, dtype=dtype)),
        empty=lambda shape, dtype: FakeDeviceArray(np.full(shape, np.nan, dtype)),
        asnumpy=lambda a: a.host.copy())


def _fake_trt(world: World):
    modes = types.SimpleNamespace(INPUT="in", OUTPUT="out")

    class Context:
        def __init__(self):
            self.shape: tuple | None = None
            self.addr: dict[str, int] = {}

        def set_input_shape(self, name, shape):
            if not 1 <= shape[0] <= 16 or tuple(shape[1:]) != (4,):
                return False
            self.shape = tuple(shape)
            return True

        def get_tensor_shape(self, name):
            return self.shape if name == "x" else (self.shape[0], 3)

        def set_tensor_address(self, name, ptr):
            self.addr[name] = ptr

        def execute_async_v3(self, stream):
            n, xa, ya = self.shape[0], self.addr["x"], self.addr["y"]  # bound now, as a graph would

            def run():
                world.executed += 1
                x = np.ctypeslib.as_array((ctypes.c_float * (n * 4)).from_address(xa)).reshape(n, 4)
                y = np.ctypeslib.as_array((ctypes.c_float * (n * 3)).from_address(ya)).reshape(n, 3)
                y[...] = x @ W

            if stream in world.capturing:
                world.capturing[stream].append(run)
            else:
                run()
            return True

    class Engine:
        num_io_tensors = 2

        def get_tensor_name(self, i):
            return ["x", "y"][i]

        def get_tensor_mode(self, name):
            return modes.INPUT if name == "x" else modes.OUTPUT

        def get_tensor_shape(self, name):
            return (-1, 4) if name == "x" else (-1, 3)

        def get_tensor_dtype(self, name):
            return types.SimpleNamespace(name="FLOAT")

        def create_execution_context(self):
            return Context()

    class Runtime:
        def __init__(self, logger):
            pass

        def deserialize_cuda_engine(self, data):
            return Engine() if data == b"engine" else None

    class Logger:
        WARNING = 2

        def __init__(self, severity):
            pass

    return types.SimpleNamespace(Runtime=Runtime, Logger=Logger, TensorIOMode=modes)


@pytest.fixture
def world(monkeypatch):
    w = World()
    cupy = _fake_cupy(w)
    isolate_cupy(monkeypatch, cupy)  # nothing reaches the real CuPy, also on a GPU machine
    monkeypatch.setattr(trt_mod, "cupy_for", lambda purpose: cupy)
    monkeypatch.setattr(streams, "cupy_for", lambda purpose: cupy)
    monkeypatch.setattr(trt_mod, "require", lambda name, purpose=None: _fake_trt(w))
    w.cupy = cupy
    return w


def _x(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, 4)).astype(np.float32)


def test_sync_infer_from_numpy_and_device_arrays(world):
    with TrtRunner(b"engine") as runner:
        assert runner.inputs["x"].shape == ("batch", 4)
        for n in (1, 7, 16):
            np.testing.assert_allclose(runner.infer({"x": _x(n)})["y"].host, _x(n) @ W, rtol=1e-6)
            np.testing.assert_allclose(runner.infer({"x": FakeDeviceArray(_x(n, 1))})["y"].host, _x(n, 1) @ W,
                                       rtol=1e-6)
        with pytest.raises(InputError, match="outside the engine's optimisation profile"):
            runner.infer({"x": _x(17)})
        with pytest.raises(ValueError, match="float32 of shape"):
            runner.infer({"x": _x(2).astype(np.float64)})


def test_bad_engine_bytes_say_rebuild(world):
    with pytest.raises(InputError, match="dhsdk engines build"):
        TrtRunner(b"garbage").activate()


def test_graph_captured_on_repeat_and_replayed(world):
    cupy = world.cupy
    with TrtRunner(b"engine") as runner:
        s = cupy.cuda.Stream()
        x, y = FakeDeviceArray(_x(4)), FakeDeviceArray(np.zeros((4, 3), np.float32))
        runner.infer_async({"x": x}, stream=s, outputs={"y": y})  # 1st: plain enqueue
        assert (world.executed, world.replayed) == (1, 0)
        runner.infer_async({"x": x}, stream=s, outputs={"y": y})  # 2nd: captured, then launched
        assert (world.executed, world.replayed) == (2, 1)
        x.host[...] = _x(4, 5)  # same buffers, new data: the replay reads it
        runner.infer_async({"x": x}, stream=s, outputs={"y": y})
        assert (world.executed, world.replayed) == (3, 2)
        np.testing.assert_allclose(y.host, _x(4, 5) @ W, rtol=1e-6)
        # a different batch on the same stream is a new key: enqueued, not replayed
        runner.infer_async({"x": FakeDeviceArray(_x(2))}, stream=s)
        assert world.replayed == 2
        runner.infer_async({"x": x}, stream=s, outputs={"y": y})  # back to the captured key
        assert world.replayed == 3


def test_no_capture_on_default_stream_or_when_disabled(world):
    x = FakeDeviceArray(_x(3))
    with TrtRunner(b"engine") as runner:
        for _ in range(3):
            runner.infer_async({"x": x}, stream=0)
    with TrtRunner(b"engine", cuda_graphs=False) as runner:
        s = world.cupy.cuda.Stream()
        for _ in range(3):
            runner.infer_async({"x": x}, stream=s)
    assert world.replayed == 0 and world.executed == 6


def test_one_context_per_stream_and_outputs_reused(world):
    cupy = world.cupy
    with TrtRunner(b"engine") as runner:
        a, b = cupy.cuda.Stream(), cupy.cuda.Stream()
        ya = runner.infer_async({"x": _x(2)}, stream=a)["y"]
        yb = runner.infer_async({"x": _x(2, 1)}, stream=b)["y"]
        assert len(runner._states) == 2 and ya is not yb
        np.testing.assert_allclose(ya.host, _x(2) @ W, rtol=1e-6)
        np.testing.assert_allclose(yb.host, _x(2, 1) @ W, rtol=1e-6)
        assert runner.infer_async({"x": _x(2, 3)}, stream=a)["y"] is ya  # same stream and shape: reused
        world.gpu_idle = False  # work still running: inputs stay referenced, and are waited for at the end
        runner.infer_async({"x": _x(2)}, stream=a)
        runner.infer_async({"x": _x(2)}, stream=a)
        assert len(runner._states[a.ptr].inflight) == 3  # the call before them was not yet seen done
        runner.deactivate()
        assert sorted(world.synced) == sorted([a.ptr] * 3 + [b.ptr])
        runner.activate()
        with pytest.raises(InputError, match="writable float32 array of shape"):
            runner.infer_async({"x": _x(2)}, stream=a, outputs={"y": FakeDeviceArray(np.zeros((2, 4), np.float32))})


def test_waits_for_the_producer_stream(world):
    with TrtRunner(b"engine") as runner:
        s = world.cupy.cuda.Stream()
        runner.infer_async({"x": FakeDeviceArray(_x(2), stream=1)}, stream=s)  # produced on the legacy stream
        runner.infer_async({"x": FakeDeviceArray(_x(2), stream=s.ptr)}, stream=s)  # same stream: no wait
    assert world.waits == [(s.ptr, 1)]
