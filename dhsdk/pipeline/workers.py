"""Render worker processes: a Scheduler's frame paths run in K processes that share the machine
(and the GPU), frames handed back through shared memory (DESIGN.md, "Real time").

One process's Python runs one thread at a time (the GIL). The native kernels release it, but
the per-tick Python (every stream's audio and a2k bookkeeping, each frame path's batch
preparation) does not, so on a machine with many cores one process stops scaling before the
cores are busy. ``Scheduler(processes=K)`` then renders in K worker processes: the parent keeps
the clock, the streams and a2k (its per-stream Python), and each tick's batch of a frame path
is split into K parts rendered side by side, one per worker, each worker holding its own
replica of the path (built from the path's :class:`~dhsdk.render.path.PathSpec`: the avatar is
reloaded from its bundle, never copied frame by frame) and a kernel thread pool of
``cores / K`` threads. Workers write the finished frames straight into shared-memory buffers the
parent hands out (:class:`~dhsdk.render.buffers.FramePool` over ``/dev/shm``, recycled when the
frames are dropped), so a frame crosses the process boundary without a copy. Messages on the
pipes are only indices, lips and buffer names.

How many: :func:`auto_processes`. On a GPU each worker has its own CUDA context and its own
copy of the idle loop in device memory; frames come back through host shared memory (a device
frame cannot be handed to another process without CUDA IPC), so NVENC then encodes from the
host copy. Needs POSIX shared memory under ``/dev/shm`` (Linux).
"""
from __future__ import annotations

import io
import logging
import mmap
import os
import pickle
import socket
import subprocess
import sys
import threading
from collections import deque
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.shared_memory import SharedMemory
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from dhsdk.errors import DhsdkError, InputError
from dhsdk.render.buffers import FramePool
from dhsdk.render.threads import cpu_cores

log = logging.getLogger(__name__)

SHM_DIR = Path("/dev/shm")
# Cores per render worker process when processes="auto". Measured on 2 cores (README,
# "Performance": one process against two on the same streams): a second process costs CPU and
# holds no more streams, so below 2 * CORES_PER_PROCESS cores one process is used.
CORES_PER_PROCESS = 8
WARM_BATCH = 16   # frames per call when a worker renders its path's idle loop once at start


def auto_processes(cores: int | None = None) -> int:
    """Render worker processes for a machine of ``cores`` cores (this one's when None): one per
    :data:`CORES_PER_PROCESS` cores, and 1 (no workers: render in the Scheduler's own process)
    below twice that."""
    cores = cpu_cores() if cores is None else int(cores)
    return max(1, cores // CORES_PER_PROCESS) if cores >= 2 * CORES_PER_PROCESS else 1


def resolve_processes(processes: int | str) -> int:
    """``processes`` as a count: ``"auto"`` -> :func:`auto_processes`; an int >= 1 as given.

    Raises:
        InputError: anything else, or worker processes where there is no ``/dev/shm``.
    """
    if processes == "auto":
        return auto_processes()
    if isinstance(processes, bool) or not isinstance(processes, int) or processes < 1:
        raise InputError(f"processes must be 'auto' or a whole number >= 1, got {processes!r}")
    if processes > 1 and not SHM_DIR.is_dir():
        raise InputError(f"render worker processes need POSIX shared memory in {SHM_DIR} (Linux); "
                         f"use processes=1 here")
    return processes


# ---- pickling a path's spec ----------------------------------------------------------------
class _SpecPickler(pickle.Pickler):
    """Pickles an :class:`~dhsdk.avatar.Avatar` as its bundle path (the worker loads it again)."""

    def reducer_override(self, obj: Any) -> Any:
        from dhsdk.avatar.avatar import Avatar

        if type(obj) is Avatar:
            return Avatar.load, (str(obj.path), obj.device)
        return NotImplemented


def dumps_spec(spec: Any) -> bytes:
    """A :class:`~dhsdk.render.path.PathSpec` as bytes a worker process can rebuild it from."""
    buf = io.BytesIO()
    _SpecPickler(buf, protocol=pickle.HIGHEST_PROTOCOL).dump(spec)
    return buf.getvalue()


# ---- the worker process ---------------------------------------------------------------------
def _attach(name: str, shape: tuple[int, ...]) -> np.ndarray:
    """A writable (H, W, 3) uint8 array over the shared-memory buffer ``name`` (mapped from its
    file in /dev/shm: no resource-tracker registration in the worker, which would unlink the
    parent's buffers when the worker exits)."""
    fd = os.open(SHM_DIR / name, os.O_RDWR)
    try:
        mm = mmap.mmap(fd, int(np.prod(shape)))
    finally:
        os.close(fd)
    return np.ndarray(shape, np.uint8, buffer=mm)


def _serve(conn: Connection) -> None:
    """A worker's loop: build paths, render batches into shared memory, until told to stop or
    the parent goes away. Replies ``("ok", value)`` or ``("error", message)`` to every request."""
    paths: dict[int, Any] = {}
    buffers: dict[str, np.ndarray] = {}
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        op = msg[0]
        try:
            if op == "stop":
                conn.send(("ok", None))
                return
            if op == "path":
                _, pid, blob = msg
                path = pickle.loads(blob).build()
                _warm(path)
                paths[pid] = path
                conn.send(("ok", None))
            elif op == "render":
                _, pid, bases, lips, names, forget = msg
                for name in forget:
                    buffers.pop(name, None)
                path = paths[pid]
                w, h = path.geometry.frame_size
                out = []
                for name in names:
                    if name not in buffers:
                        buffers[name] = _attach(name, (h, w, 3))
                    out.append(buffers[name])
                path.render(bases, lips, out=out)
                conn.send(("ok", {k: list(v) for k, v in path.stage_ms.items()}))
                for v in path.stage_ms.values():
                    v.clear()
            else:
                conn.send(("error", f"unknown request {op!r}"))
        except Exception as e:  # noqa: BLE001  (reported to the parent, which raises it there)
            conn.send(("error", f"{type(e).__name__}: {e}"))


def _warm(path: Any) -> None:
    """Render the idle loop's base frames once (crops, warp preparation, runner start-up), so a
    stream's first frames do not pay for them."""
    loop = sorted({int(i) for i in path.avatar.idle_loop.frames()}) if hasattr(path.avatar, "idle_loop") \
        else list(range(path.geometry.num_frames))
    for i in range(0, len(loop), WARM_BATCH):
        chunk = loop[i:i + WARM_BATCH]
        path.render(chunk, np.repeat(path.geometry.neutral_lips[None], len(chunk), 0))
    for v in path.stage_ms.values():
        v.clear()


# ---- the parent's side ----------------------------------------------------------------------
def _start(threads: int, name: str) -> tuple[subprocess.Popen, Connection]:
    """A worker process (``python -m dhsdk.pipeline.workers``: a fresh interpreter that never
    re-runs the caller's main module, so a script needs no ``__main__`` guard) and the parent's
    end of its socket pair."""
    ours, theirs = socket.socketpair()
    package_root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ, DHSDK_NUM_THREADS=str(threads),
               PYTHONPATH=os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH")) if p))
    with theirs:
        proc = subprocess.Popen([sys.executable, "-m", "dhsdk.pipeline.workers", str(theirs.fileno()), name],
                                pass_fds=(theirs.fileno(),), env=env, stdin=subprocess.DEVNULL)
    return proc, Connection(ours.detach())


@dataclass
class _Worker:
    process: subprocess.Popen
    name: str
    conn: Connection
    lock: threading.Lock   # held from a request's send to its reply
    # Released buffer names to tell this worker at its next request. A deque, appended to
    # without a lock: buffers are released by finalizers, on any thread, at any moment.
    forget: deque = field(default_factory=deque)

    def request(self, msg: tuple) -> Any:
        """Send ``msg`` and wait for the reply (the caller holds ``lock``)."""
        self.conn.send(msg)
        return self.reply()

    def reply(self) -> Any:
        try:
            status, value = self.conn.recv()
        except (EOFError, OSError):
            try:   # its end of the socket is closed: it is exiting (allow for a loaded machine)
                code = self.process.wait(timeout=5.0)
            except subprocess.TimeoutExpired:
                code = None
            raise DhsdkError(f"render worker {self.name} (pid {self.process.pid}) stopped answering "
                             f"(exit code {code}): its streams cannot render") from None
        if status != "ok":
            raise DhsdkError(f"render worker {self.name}: {value}")
        return value


class RenderWorkers:
    """K render worker processes (see the module docstring).

    Lifecycle: started at construction (each a fresh Python: ~1 s), then :meth:`path` registers
    a frame path with every worker (each builds its replica and renders the idle loop once);
    :meth:`close` stops them (idempotent).

    Args:
        processes: K >= 2.
        threads: kernel threads per worker; ``cores / K`` (at least 1) when None.
    """

    def __init__(self, processes: int, threads: int | None = None):
        if processes < 2:
            raise InputError(f"RenderWorkers needs at least 2 processes, got {processes}")
        threads = threads or max(1, cpu_cores() // processes)
        self._workers: list[_Worker] = []
        for i in range(processes):
            name = f"dhsdk-render-{i}"
            proc, conn = _start(threads, name)
            self._workers.append(_Worker(proc, name, conn, threading.Lock()))
        self._paths: dict[int, RemotePath] = {}
        self._lock = threading.Lock()
        self._closed = False

    @property
    def processes(self) -> int:
        """K, the number of worker processes."""
        return len(self._workers)

    def path(self, local: Any) -> "RemotePath":
        """The workers' replica of frame path ``local`` (registered on first use: blocks while
        every worker builds it and renders its idle loop once).

        Raises:
            InputError: ``local`` was not made by :func:`~dhsdk.render.path.make_frame_path`
                (no spec to build it from).
            DhsdkError: a worker could not build it (the message says why).
        """
        with self._lock:
            remote = self._paths.get(id(local))
            if remote is None:
                if getattr(local, "spec", None) is None:
                    raise InputError(f"{type(local).__name__} has no spec to build it in a worker process: "
                                     f"make it with dhsdk.render.path.make_frame_path (LipSync does)")
                pid = len(self._paths)
                self._all(("path", pid, dumps_spec(local.spec)))
                remote = self._paths[id(local)] = RemotePath(self, pid, local)
            return remote

    def _all(self, msg: tuple) -> list[Any]:
        """Send ``msg`` to every worker, then collect every reply (they work side by side)."""
        for w in self._workers:
            w.lock.acquire()
        try:
            for w in self._workers:
                w.conn.send(msg)
            return [w.reply() for w in self._workers]
        finally:
            for w in self._workers:
                w.lock.release()

    def render(self, pid: int, parts: list[tuple[list[int], np.ndarray, list[str]]]) -> list[dict]:
        """Render part i of a batch on worker i (``(bases, lips, buffer names)``), side by side;
        each worker's reply (its stage times) in order."""
        workers = self._workers[:len(parts)]
        for w in workers:
            w.lock.acquire()
        try:
            for w, (bases, lips, names) in zip(workers, parts):
                forget = [w.forget.popleft() for _ in range(len(w.forget))]
                w.conn.send(("render", pid, bases, lips, names, forget))
            return [w.reply() for w in workers]
        finally:
            for w in workers:
                w.lock.release()

    def forget(self, worker: int, name: str) -> None:
        """Tell worker ``worker`` (at its next request) to unmap the buffer ``name`` (any
        thread, takes no lock)."""
        self._workers[worker].forget.append(name)

    def cpu_seconds(self) -> float:
        """CPU seconds (user + system) the worker processes have used so far (Linux /proc)."""
        total = 0.0
        tick = os.sysconf("SC_CLK_TCK")
        for w in self._workers:
            try:
                fields = Path(f"/proc/{w.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / tick
            except (OSError, IndexError, ValueError):
                continue
        return total

    def close(self) -> None:
        """Stop the workers and free the shared memory (idempotent)."""
        if self._closed:
            return
        self._closed = True
        for w in self._workers:
            with w.lock:
                try:
                    w.request(("stop",))
                except (DhsdkError, OSError):
                    pass
            try:
                w.process.wait(timeout=5.0)
            except subprocess.TimeoutExpired:
                w.process.kill()
                w.process.wait()
            w.conn.close()
        for remote in self._paths.values():
            remote.close()

    def __enter__(self) -> "RenderWorkers":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class RemotePath:
    """A frame path rendered by :class:`RenderWorkers`: what a Scheduler calls in place of the
    path it stands for (``render``/``render_frames``); frames come back as host arrays over
    shared memory. Its stage times go into the local path's ``stage_ms``.

    Each worker renders into buffers of its own (one :class:`FramePool` per worker). A new
    buffer's name is unlinked from /dev/shm as soon as its worker has mapped it: the memory
    lives while a mapping does, so nothing is left behind when either process ends.

    Args:
        workers: the workers.
        pid: the path's number with them.
        local: the path it stands for (its geometry, validation and ``stage_ms``).
    """

    device = "cpu"   # frames come back in host memory, whatever the workers render on

    def __init__(self, workers: RenderWorkers, pid: int, local: Any):
        self.workers, self.pid, self.local = workers, pid, local
        self.geometry, self.stage_ms = local.geometry, local.stage_ms
        w, h = local.geometry.frame_size
        self._shm: dict[str, SharedMemory] = {}
        self._unmapped: set[str] = set()              # made, not yet mapped by their worker
        self._closing: deque[SharedMemory] = deque()  # released, closed once no array uses them
        self._lock = threading.RLock()   # re-entrant: _release runs from finalizers (see FramePool)
        self.pools = [FramePool((h, w, 3), allocate=self._allocate, release=self._releaser(k))
                      for k in range(workers.processes)]

    def render(self, bases: Sequence[int], lips: np.ndarray) -> list[np.ndarray]:
        """B frames rendered by the workers (see :meth:`FramePath.render`); the batch is split
        into one contiguous part per worker."""
        bases, lips = self.local.check(bases, lips)
        if not bases:
            return []
        k = min(self.workers.processes, len(bases))
        cuts = np.linspace(0, len(bases), k + 1).round().astype(int)
        frames, parts = [], []
        for pool, a, b in zip(self.pools, cuts, cuts[1:]):
            mine = [pool.take() for _ in range(a, b)]
            frames += mine
            parts.append((bases[a:b], lips[a:b], [pool.key(f) for f in mine]))
        with self._lock:
            fresh = [name for part in parts for name in part[2] if name in self._unmapped]
            self._unmapped.difference_update(fresh)
        try:
            replies = self.workers.render(self.pid, parts)
        finally:
            with self._lock:
                for name in fresh:   # mapped by its worker now (or never to be): the name can go
                    self._shm[name].unlink()
        for times in replies:
            for name, values in times.items():
                self.stage_ms[name].extend(values)
        return frames

    render_frames = render

    def _allocate(self, nbytes: int) -> tuple[Any, str]:
        shm = SharedMemory(create=True, size=nbytes)
        with self._lock:
            self._shm[shm.name] = shm
            self._unmapped.add(shm.name)
            self._close_released()
        return shm.buf, shm.name

    def _releaser(self, worker: int) -> Any:
        def release(name: str) -> None:
            with self._lock:
                shm = self._shm.pop(name, None)
                if shm is not None:
                    self._closing.append(shm)
            self.workers.forget(worker, name)
        return release

    def _close_released(self) -> None:
        """Close released buffers that no array uses any more (the caller holds the lock)."""
        for _ in range(len(self._closing)):
            shm = self._closing.popleft()
            try:
                shm.close()
            except BufferError:   # its slot array is still being collected: next time
                self._closing.append(shm)

    def close(self) -> None:
        """Release every buffer not held by a frame (the others go when their frames do)."""
        for pool in self.pools:
            pool.close()
        with self._lock:
            self._close_released()


if __name__ == "__main__":   # a worker process: python -m dhsdk.pipeline.workers FD NAME
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)   # Ctrl-C is the parent's to handle
    _serve(Connection(int(sys.argv[1])))
