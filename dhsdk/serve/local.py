"""Workers in the API process: one :class:`~dhsdk.serve.worker.Worker` (its Scheduler hosts
every live session) and ``config.workers`` threads taking jobs from the database queue.

The default backend of ``dhsdk serve``; :mod:`dhsdk.serve.ray_backend` is the other one, with
the same methods.
"""
from __future__ import annotations

import logging
import threading
from typing import Any

from dhsdk.serve.worker import Worker

log = logging.getLogger("dhsdk.serve")
_IDLE_POLL_S = 1.0   # a job thread with nothing to do looks at the queue this often (or when woken)


class LocalBackend:
    """Jobs and live sessions on threads of this process.

    Args:
        config: the :class:`~dhsdk.serve.config.ServeConfig`.
        store: the open :class:`~dhsdk.serve.db.Store`.
    """

    kind = "local"

    def __init__(self, config: Any, store: Any):
        self.config, self.store = config, store
        self.worker = Worker(config, "local", store)
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._take_jobs, name=f"dhsdk-serve-job{i}", daemon=True)
                         for i in range(max(0, config.workers))]
        for t in self._threads:
            t.start()

    def _take_jobs(self) -> None:
        while not (self._stop.is_set() or self.worker.stopping.is_set()):
            try:
                job = self.store.claim_job("local")
                if job is None:
                    self.store.wait_change(_IDLE_POLL_S)
                    continue
                self.worker.run_job(job)
            except Exception:  # noqa: BLE001 - a database hiccup must not end the job thread
                log.exception("job thread: retrying in a second")
                self._stop.wait(1.0)

    def describe(self) -> dict[str, Any]:
        """What runs the work (for /healthz)."""
        return {"backend": self.kind, "job_threads": len(self._threads), "live_sessions": len(self.worker.live_ids())}

    def start_live(self, session_id: str, note: str | None = None) -> dict[str, Any]:
        """Start a recorded live session (see :meth:`Worker.start_live`)."""
        return self.worker.start_live(session_id, note)

    def stop_live(self, session_id: str, reason: str = "stopped on request") -> bool:
        """Stop a live session; False when no worker hosts it."""
        return self.worker.stop_live(session_id, reason)

    def comment(self, session_id: str, user: str, text: str) -> bool | None:
        """Hand a viewer's comment to the session (None: not running)."""
        return self.worker.comment(session_id, user, text)

    def close(self) -> None:
        """Stop live sessions, send running jobs back to the queue, stop the job threads."""
        self._stop.set()
        self.store.notify()
        self.worker.close()
        for t in self._threads:
            t.join(10.0)
