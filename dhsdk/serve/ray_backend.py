"""Scale-out on Ray: jobs and live sessions run on Ray actors; the API process only routes.

Each actor wraps a :class:`~dhsdk.serve.worker.Worker` (its own database connections, its
own Scheduler for the live sessions it hosts) and reserves ``ray_cpus_per_worker`` cores, or
one GPU on a GPU cluster. A dispatcher thread hands queued jobs to idle actors. When an actor
process dies mid-job, its job goes back to the queue (an attempt is spent) and is given to
another actor where there is one; the dead actor is restarted by Ray. A monitor pings the
actors hosting live sessions: a session whose actor died (or came back as a new process) is
started again on another actor and says so in its events (``live.restarted``).

Actors read and write the service's data directory, so on several machines it must be a
shared file system, and the database PostgreSQL (SQLite is for one machine).
"""
from __future__ import annotations

import dataclasses
import logging
import os
import threading
import time
from typing import Any

from dhsdk._optional import require
from dhsdk.serve import jobs

log = logging.getLogger("dhsdk.serve")
_PING_TIMEOUT_S = 10.0
_MONITOR_S = 1.0
_START_TIMEOUT_S = 120.0


class WorkerActor:
    """The body of one Ray actor: a Worker in the actor's process.

    Args:
        config: the ServeConfig's fields (a dict: it crosses processes).
        name: the actor's name, e.g. ``ray-worker-0``.
    """

    def __init__(self, config: dict[str, Any], name: str):
        from dhsdk.serve.config import ServeConfig
        from dhsdk.serve.worker import Worker

        self.worker = Worker(ServeConfig(**config), name)

    def run_job(self, job_id: str) -> str:
        """Run a job claimed for this actor; returns its new state."""
        return self.worker.run_job(self.worker.store.get("jobs", job_id))

    def start_live(self, session_id: str, note: str | None = None) -> dict[str, Any]:
        return self.worker.start_live(session_id, note)

    def stop_live(self, session_id: str, reason: str) -> bool:
        return self.worker.stop_live(session_id, reason)

    def comment(self, session_id: str, user: str, text: str) -> bool | None:
        return self.worker.comment(session_id, user, text)

    def pid(self) -> int:
        """The actor's process id (a new one after Ray restarted it)."""
        return os.getpid()

    def close(self, reason: str) -> None:
        self.worker.close(reason)


class RayBackend:
    """Jobs and live sessions on Ray actors.

    Args:
        config: the :class:`~dhsdk.serve.config.ServeConfig` (``ray``: ``"auto"`` or an address).
        store: the API process's :class:`~dhsdk.serve.db.Store`.
    """

    kind = "ray"

    def __init__(self, config: Any, store: Any):
        self.ray = ray = require("ray", "dhsdk serve --ray")
        self.config, self.store = config, store
        self._connect(config.ray)
        resources = ray.cluster_resources()
        gpus = int(resources.get("GPU", 0))
        n = config.ray_workers or gpus or max(1, int(resources.get("CPU", 1) // config.ray_cpus_per_worker))
        remote = ray.remote(max_restarts=-1, max_task_retries=0, max_concurrency=16)(WorkerActor)
        fields = {f.name: getattr(config, f.name) for f in dataclasses.fields(config)}
        self.names = [f"ray-worker-{i}" for i in range(n)]
        self.actors = [remote.options(num_cpus=config.ray_cpus_per_worker, num_gpus=1 if gpus else 0)
                       .remote(fields, name) for name in self.names]
        self.pids = ray.get([a.pid.remote() for a in self.actors], timeout=_START_TIMEOUT_S)
        self._running: dict[Any, tuple[int, dict[str, Any]]] = {}   # ObjectRef -> (actor, job as claimed)
        self._avoid: dict[str, int] = {}                            # job id -> the actor it died on
        self._live: dict[str, tuple[int, int]] = {}                 # session id -> (actor, its pid then)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._dispatch, name="dhsdk-ray-dispatch", daemon=True),
                         threading.Thread(target=self._monitor, name="dhsdk-ray-monitor", daemon=True)]
        for t in self._threads:
            t.start()
        log.info("Ray backend: %d worker actors (%s)", n, ", ".join(f"{nm} pid {p}" for nm, p in zip(self.names, self.pids)))

    def _connect(self, address: str) -> None:
        ray = self.ray
        if ray.is_initialized():
            return
        quiet = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
        if address != "auto":
            ray.init(address=address, **quiet)
            return
        try:
            ray.init(address="auto", **quiet)        # a cluster started with 'ray start'
        except ConnectionError:
            ray.init(num_cpus=os.cpu_count(), _node_ip_address="127.0.0.1",
                     object_store_memory=200 * (1 << 20), **quiet)

    # ---- jobs ---------------------------------------------------------------------------
    def _dispatch(self) -> None:
        ray = self.ray
        while not self._stop.is_set():
            try:
                if self._running:
                    done, _ = ray.wait(list(self._running), num_returns=1, timeout=0.2)
                    for ref in done:
                        self._finished(ref)
                busy = {i for i, _ in self._running.values()}
                free = [i for i in range(len(self.actors)) if i not in busy]
                candidate = self.store.next_queued() if free else None
                if candidate is None:
                    if not self._running:
                        self.store.wait_change(0.5)
                    continue
                others = [i for i in free if i != self._avoid.get(candidate)]
                i = (others or free)[0]
                job = self.store.claim_job(self.names[i], job_id=candidate)
                if job is not None:
                    self._running[self.actors[i].run_job.remote(job["id"])] = (i, job)
            except Exception:  # noqa: BLE001 - the dispatcher must outlive any one failure
                log.exception("Ray dispatcher: retrying in a second")
                self._stop.wait(1.0)

    def _finished(self, ref: Any) -> None:
        i, job = self._running.pop(ref)
        try:
            self.ray.get(ref)
        except (self.ray.exceptions.RayActorError, self.ray.exceptions.WorkerCrashedError) as e:
            state = jobs.requeue_or_fail(self.store, job, f"its worker {self.names[i]} died")
            self._avoid[job["id"]] = i
            log.warning("job %s: worker %s died (%s): %s", job["id"], self.names[i], type(e).__name__, state)
        except self.ray.exceptions.RayError as e:
            jobs.requeue_or_fail(self.store, job, f"its worker {self.names[i]} failed: {e}")

    # ---- live sessions --------------------------------------------------------------------
    def _least_loaded(self, avoid: int | None = None) -> int:
        load = [0] * len(self.actors)
        for i, _ in self._live.values():
            load[i] += 1
        order = sorted(range(len(self.actors)), key=lambda i: (i == avoid, load[i]))
        return order[0]

    def start_live(self, session_id: str, note: str | None = None, avoid: int | None = None) -> dict[str, Any]:
        """Start a recorded live session on the least loaded actor (not ``avoid`` if possible)."""
        i = self._least_loaded(avoid)
        actor = self.actors[i]
        pid = self.ray.get(actor.pid.remote(), timeout=_START_TIMEOUT_S)
        result = self.ray.get(actor.start_live.remote(session_id, note), timeout=_START_TIMEOUT_S)
        if result["state"] == "live":
            with self._lock:
                self._live[session_id] = (i, pid)
        return result

    def _monitor(self) -> None:
        """Restart the live sessions of actors that died (or came back as a new process)."""
        ray = self.ray
        while not self._stop.wait(_MONITOR_S):
            with self._lock:
                hosted = dict(self._live)
            for i in sorted({i for i, _ in hosted.values()}):
                try:
                    pid = ray.get(self.actors[i].pid.remote(), timeout=_PING_TIMEOUT_S)
                except (ray.exceptions.RayActorError, ray.exceptions.GetTimeoutError):
                    pid = None
                for sid, (j, started_pid) in hosted.items():
                    if j == i and pid != started_pid and not self._stop.is_set():
                        self._restart(sid, i)

    def _restart(self, session_id: str, dead: int) -> None:
        with self._lock:
            self._live.pop(session_id, None)
        row = self.store.get("live", session_id)
        if row is None or row["state"] != "live":
            return
        self.store.update("live", session_id, restarts=(row["restarts"] or 0) + 1)
        note = f"its worker {self.names[dead]} died; restarted on another worker"
        log.warning("live session %s: %s", session_id, note)
        try:
            self.start_live(session_id, note, avoid=dead)
        except Exception as e:  # noqa: BLE001 - recorded on the session
            self.store.update("live", session_id, state="failed", error=f"could not restart: {e}",
                              stopped_at=time.time())

    def stop_live(self, session_id: str, reason: str = "stopped on request") -> bool:
        """Stop a live session on the actor hosting it."""
        with self._lock:
            where = self._live.pop(session_id, None)
        if where is None:
            return False
        return bool(self.ray.get(self.actors[where[0]].stop_live.remote(session_id, reason), timeout=60))

    def comment(self, session_id: str, user: str, text: str) -> bool | None:
        """Hand a viewer's comment to the actor hosting the session."""
        where = self._live.get(session_id)
        if where is None:
            return None
        return self.ray.get(self.actors[where[0]].comment.remote(session_id, user, text), timeout=10)

    def describe(self) -> dict[str, Any]:
        """What runs the work (for /healthz)."""
        return {"backend": self.kind, "workers": self.names, "jobs_running": len(self._running),
                "live_sessions": len(self._live)}

    def worker_pids(self) -> dict[str, int]:
        """Each actor's current process id."""
        return dict(zip(self.names, self.ray.get([a.pid.remote() for a in self.actors], timeout=_PING_TIMEOUT_S)))

    def close(self) -> None:
        """Stop live sessions, send running jobs back to the queue, end the actors (and the
        local cluster, if this process started it)."""
        self._stop.set()
        self.store.notify()
        for t in self._threads:
            t.join(10.0)
        try:
            self.ray.get([a.close.remote("the server shut down") for a in self.actors], timeout=30)
        except self.ray.exceptions.RayError as e:
            log.warning("Ray workers did not close cleanly: %s", e)
        for ref, (i, job) in list(self._running.items()):
            self._running.pop(ref)
            jobs.requeue_or_fail(self.store, job, "the server shut down")
        for a in self.actors:
            self.ray.kill(a, no_restart=True)
        self.ray.shutdown()
