"""The running service: database, files, backend, recovery at start, housekeeping, shutdown.

At start, jobs a previous run left ``running`` (the server was killed) go back to the queue,
or fail with the reason once they have been interrupted ``max_attempts`` times, and live
sessions that were on air are started again (their events say so). While it runs, a
housekeeping thread retries jobs whose worker stopped sending heartbeats and prunes old
events. A clean shutdown stops live sessions and sends running jobs back to the queue.
One server owns a data directory at a time (a lock file says so).
"""
from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from typing import Any

from dhsdk.errors import InputError
from dhsdk.serve import jobs

log = logging.getLogger("dhsdk.serve")
_HOUSEKEEPING_S = 2.0


class Service:
    """Everything one ``dhsdk serve`` runs, between :meth:`start` and :meth:`close`.

    Args:
        config: the :class:`~dhsdk.serve.config.ServeConfig`.
    """

    def __init__(self, config: Any):
        from dhsdk.serve.auth import RateLimiter, TokenCache
        from dhsdk.serve.db import Store
        from dhsdk.serve.files import FileStore

        self.config = config
        config.data.mkdir(parents=True, exist_ok=True)
        self._lock_file = open(config.data / "serve.lock", "a+")
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock_file.close()
            raise InputError(f"another dhsdk serve is using {config.data}: stop it, or give this one "
                             f"another --data directory") from None
        self.store = Store(config.db_url)
        self.files = FileStore(config.data, self.store)
        self.limiter = RateLimiter(config.rate_per_s, config.burst)
        self.tokens = TokenCache(self.store, config.token_cache_s)
        self.backend: Any = None
        self._stop = threading.Event()
        self._housekeeping: threading.Thread | None = None

    def start(self) -> None:
        """Sweep leftovers, recover interrupted work, start the backend and housekeeping."""
        swept = self.files.sweep()
        if swept:
            log.info("removed %d leftovers of interrupted uploads", swept)
        for job in self.store.jobs_in(["running"]):
            state = jobs.requeue_or_fail(self.store, job, f"the server stopped while the job ran "
                                                          f"(during {job['step']})")
            log.info("job %s was interrupted: now %s", job["id"], state)
        if self.config.ray:
            from dhsdk.serve.ray_backend import RayBackend

            self.backend = RayBackend(self.config, self.store)
        else:
            from dhsdk.serve.local import LocalBackend

            self.backend = LocalBackend(self.config, self.store)
        on_air = self.store.live_in(["starting", "live"])
        if on_air:   # started again in the background: the API answers meanwhile
            threading.Thread(target=self._restart_live, args=(on_air,), name="dhsdk-serve-restart-live",
                             daemon=True).start()
        self._housekeeping = threading.Thread(target=self._keep_house, name="dhsdk-serve-housekeeping",
                                              daemon=True)
        self._housekeeping.start()

    def _restart_live(self, rows: list[dict[str, Any]]) -> None:
        for row in rows:
            self.store.update("live", row["id"], restarts=(row["restarts"] or 0) + 1)
            try:
                self.backend.start_live(row["id"], note="restarted after the server restarted")
            except Exception:  # noqa: BLE001 - one session's failure must not stop the others
                log.exception("live session %s could not be restarted", row["id"])

    def _keep_house(self) -> None:
        last_prune = 0.0
        while not self._stop.wait(_HOUSEKEEPING_S):
            try:
                stale = time.time() - 3 * self.config.heartbeat_s - 5.0
                for job in self.store.jobs_in(["running"]):
                    if (job["heartbeat_at"] or 0) < stale:
                        jobs.requeue_or_fail(self.store, job, f"its worker stopped answering (during {job['step']})")
                if time.monotonic() - last_prune > 600:
                    last_prune = time.monotonic()
                    self.store.prune_events(self.config.events_keep_s)
            except Exception:  # noqa: BLE001 - housekeeping retries at its next round
                log.exception("housekeeping")

    def health(self) -> dict[str, Any]:
        """Database reachable, what runs the work."""
        self.store.ping()
        return {"ok": True, "database": self.store.engine.dialect.name,
                **(self.backend.describe() if self.backend else {})}

    def close(self) -> None:
        """Stop housekeeping and the backend (live sessions stopped, jobs back in the queue)."""
        self._stop.set()
        if self._housekeeping is not None:
            self._housekeeping.join(5.0)
        if self.backend is not None:
            self.backend.close()
            self.backend = None
        self.store.close()
        fcntl.flock(self._lock_file, fcntl.LOCK_UN)
        self._lock_file.close()


def serve(config: Any) -> None:
    """Run the HTTP API until SIGINT/SIGTERM (then shut down gracefully)."""
    from dhsdk._optional import require

    uvicorn = require("uvicorn", "dhsdk serve")
    from dhsdk.serve.app import create_app

    service = Service(config)
    app = create_app(service)
    server = uvicorn.Server(uvicorn.Config(app, host=config.host, port=config.port, log_level="info",
                                           timeout_graceful_shutdown=10, ws_max_size=1 << 20,
                                           limit_concurrency=1000))
    log.info("dhsdk serve on http://%s:%d/ (data %s, pid %d)", config.host, config.port, config.data, os.getpid())
    if not service.store.tokens():
        log.warning("no tokens yet: create one with 'dhsdk serve token create --tenant NAME --data %s'", config.data)
    server.run()
