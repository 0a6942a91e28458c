"""One worker: runs jobs and hosts live sessions on its own Scheduler.

The same class runs in the API process (:mod:`dhsdk.serve.local`) and inside each Ray actor
(:mod:`dhsdk.serve.ray_backend`); it talks to the database itself, so the process that routes
requests never carries frames. Live sessions publish their metrics every second and the
host's events as they happen; a show that runs out is stopped and recorded as ``ended``.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
from typing import Any

from dhsdk.serve import jobs

log = logging.getLogger("dhsdk.serve")
METRICS_EVERY_S = 1.0


class Worker:
    """Jobs and live sessions of one process.

    Args:
        config: the server's :class:`~dhsdk.serve.config.ServeConfig`.
        name: the worker's name (recorded on its jobs and sessions).
        store: the database; opened from ``config`` when None (a Ray actor).
    """

    def __init__(self, config: Any, name: str, store: Any = None):
        from dhsdk.serve.db import Store
        from dhsdk.serve.files import FileStore

        self.config, self.name = config, name
        self.store = store or Store(config.db_url)
        self.files = FileStore(config.data, self.store)
        self.stopping = threading.Event()
        self._sessions: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._scheduler = None
        self._syncs = None   # engine.LipSyncCache, made with the first live session
        self._monitor = threading.Thread(target=self._watch, name="dhsdk-serve-live", daemon=True)
        self._monitor.start()

    def describe(self) -> dict[str, Any]:
        """Name, host and process id (where a job or session runs)."""
        return {"name": self.name, "host": socket.gethostname(), "pid": os.getpid()}

    # ---- jobs ---------------------------------------------------------------------------
    def run_job(self, job: dict[str, Any]) -> str:
        """Run a job claimed for this worker; returns its new state."""
        where = f"{self.name} (pid {os.getpid()} on {socket.gethostname()})"
        return jobs.execute(self.store, self.files, job, where, device=self.config.device,
                            heartbeat_s=self.config.heartbeat_s, stopping=self.stopping)

    # ---- live sessions ------------------------------------------------------------------
    def _publish(self, row: dict[str, Any], kind: str, data: dict[str, Any]) -> None:
        self.store.add_event(row["tenant_id"], "live", row["id"], kind, data)

    def start_live(self, session_id: str, note: str | None = None) -> dict[str, Any]:
        """Start (or restart) a live session recorded in the database.

        Args:
            session_id: its row id.
            note: why it is being restarted (said in its events), None for a first start.

        Returns:
            ``state`` (``live`` or ``failed``), ``viewer_url``, ``error``.
        """
        from dhsdk.errors import DhsdkError
        from dhsdk.serve import engine

        row = self.store.get("live", session_id)
        if row is None:
            return {"state": "failed", "error": "no such session", "viewer_url": None}
        cfg = row["config"]
        avatar = self.store.get("avatars", row["avatar_id"], row["tenant_id"])
        sink = None
        try:
            if avatar is None or avatar["state"] != "ready":
                raise FileNotFoundError("its avatar was deleted or is not ready")
            if self._scheduler is None:
                self._scheduler = engine.new_scheduler()
                self._syncs = engine.LipSyncCache(self.config.device)
            lipsync = self._syncs.get(self.files.root / avatar["bundle"])
            sink = engine.open_sink(cfg["sink"], cfg.get("target"), session_id, self.config.host)
            session = engine.LiveSession(lipsync, self._scheduler, sink, cfg["host"],
                                         on_event=lambda e: self._publish(row, "live.host", e))
        except (DhsdkError, OSError) as e:
            if sink is not None:
                sink.close()
            error = f"cannot go live: {e}"
            self.store.update("live", session_id, state="failed", error=error, stopped_at=time.time())
            self._publish(row, "live.state", {"state": "failed", "error": error})
            return {"state": "failed", "error": error, "viewer_url": None}
        with self._lock:
            self._sessions[session_id] = session
        where = f"{self.name} (pid {os.getpid()})"
        self.store.update("live", session_id, state="live", worker=where, viewer_url=session.viewer_url,
                          started_at=row["started_at"] or time.time(), error=None)
        self._publish(row, "live.state", {"state": "live", "viewer_url": session.viewer_url, "worker": where})
        if note:
            self._publish(row, "live.restarted", {"reason": note, "worker": where, "restarts": row["restarts"]})
        return {"state": "live", "error": None, "viewer_url": session.viewer_url}

    def comment(self, session_id: str, user: str, text: str) -> bool | None:
        """A viewer's comment for a session of this worker (None: not here)."""
        session = self._sessions.get(session_id)
        return None if session is None else session.comment(user, text)

    def stop_live(self, session_id: str, reason: str = "stopped on request", state: str = "stopped") -> bool:
        """Stop a session of this worker and record why; False when it is not here."""
        with self._lock:
            session = self._sessions.pop(session_id, None)
        if session is None:
            return False
        metrics = session.metrics()
        session.stop()
        row = self.store.get("live", session_id)
        self.store.update("live", session_id, state=state, error=None if state != "failed" else reason,
                          stopped_at=time.time(), metrics=metrics)
        if row is not None:
            self._publish(row, "live.state", {"state": state, "reason": reason, "metrics": metrics})
        return True

    def live_ids(self) -> list[str]:
        """The sessions this worker hosts."""
        return list(self._sessions)

    def _watch(self) -> None:
        """Every second: publish each session's metrics; stop the shows that ran out."""
        while not self.stopping.wait(METRICS_EVERY_S):
            for sid, session in list(self._sessions.items()):
                try:
                    metrics = session.metrics()
                    row = self.store.get("live", sid)
                    if row is None:
                        continue
                    self.store.update("live", sid, metrics=metrics)
                    self._publish(row, "live.metrics", metrics)
                    if (why := session.failure()) is not None:
                        self.stop_live(sid, why, state="failed")
                    elif session.finished():
                        self.stop_live(sid, "the show ended", state="ended")
                except Exception as e:  # noqa: BLE001 - one session's trouble never stops the others
                    log.warning("live session %s: %s", sid, e)

    def ping(self) -> str:
        """Answer, to show the worker is alive."""
        return self.name

    def close(self, reason: str = "the server shut down") -> None:
        """Stop every live session (recorded with ``reason``) and the scheduler; running jobs
        see ``stopping`` at their next check and go back to the queue."""
        self.stopping.set()
        for sid in list(self._sessions):
            self.stop_live(sid, reason)
        if self._scheduler is not None:
            self._scheduler.close()
            self._scheduler = None
        self._syncs = None   # engine.LipSyncCache, made with the first live session
        self._monitor.join(5.0)
