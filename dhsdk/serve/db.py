"""The service's state in a real database: tenants, tokens, files, avatars, jobs, renders,
live sessions and events (SQLAlchemy Core; SQLite embedded with WAL, or PostgreSQL).

Rows come back as plain dicts. Every query that reads a tenant's data takes the tenant id, so
one tenant can never see another's rows. Job claiming is a single conditional ``UPDATE``
(``... WHERE state = 'queued'``): two workers, threads or processes, never get the same job.
"""
from __future__ import annotations

import secrets
import threading
import time
from typing import Any, Iterable

from dhsdk._optional import require
from dhsdk.errors import InputError

DONE = ("succeeded", "failed", "cancelled")
LOG_TAIL = 50  # log lines GET /v1/jobs/{id} returns


def new_id(prefix: str) -> str:
    """A fresh random id, e.g. ``av_3f9c...`` (prefix, underscore, 20 hex digits)."""
    return f"{prefix}_{secrets.token_hex(10)}"


def engine_url(url: str) -> str:
    """``url`` with the driver SQLAlchemy should use (``postgresql://`` -> psycopg 3)."""
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            return "postgresql+psycopg://" + url[len(plain):]
    return url


def _schema(sa: Any) -> tuple[Any, dict[str, Any]]:
    md = sa.MetaData()
    S, F, I, J, B = sa.String, sa.Float, sa.Integer, sa.JSON, sa.Boolean
    t = {}
    t["tenants"] = sa.Table("tenants", md, sa.Column("id", S(32), primary_key=True),
                            sa.Column("name", S(200), unique=True, nullable=False), sa.Column("created_at", F))
    t["tokens"] = sa.Table("tokens", md, sa.Column("id", S(32), primary_key=True),
                           sa.Column("tenant_id", S(32), sa.ForeignKey("tenants.id"), index=True, nullable=False),
                           sa.Column("hash", S(64), unique=True, nullable=False), sa.Column("label", S(200)),
                           sa.Column("created_at", F), sa.Column("last_used_at", F), sa.Column("revoked_at", F))
    t["files"] = sa.Table("files", md, sa.Column("id", S(32), primary_key=True),
                          sa.Column("tenant_id", S(32), index=True, nullable=False), sa.Column("kind", S(20)),
                          sa.Column("name", S(300)), sa.Column("path", S(500), nullable=False),
                          sa.Column("size", sa.BigInteger), sa.Column("sha256", S(64)),
                          sa.Column("content_type", S(100)), sa.Column("created_at", F))
    t["avatars"] = sa.Table("avatars", md, sa.Column("id", S(32), primary_key=True),
                            sa.Column("tenant_id", S(32), index=True, nullable=False), sa.Column("name", S(200)),
                            sa.Column("state", S(20)), sa.Column("material_id", S(32)), sa.Column("bundle", S(500)),
                            sa.Column("review", J), sa.Column("sheet_id", S(32)), sa.Column("job_id", S(32)),
                            sa.Column("options", J), sa.Column("info", J), sa.Column("error", sa.Text),
                            sa.Column("created_at", F), sa.Column("updated_at", F))
    t["jobs"] = sa.Table("jobs", md, sa.Column("id", S(32), primary_key=True),
                         sa.Column("tenant_id", S(32), index=True, nullable=False), sa.Column("kind", S(20)),
                         sa.Column("subject_id", S(32)), sa.Column("state", S(20), index=True),
                         sa.Column("params", J), sa.Column("progress", F), sa.Column("step", S(100)),
                         sa.Column("attempts", I), sa.Column("max_attempts", I), sa.Column("error", sa.Text),
                         sa.Column("result", J), sa.Column("worker", S(100)), sa.Column("heartbeat_at", F),
                         sa.Column("cancel_requested", B), sa.Column("created_at", F), sa.Column("started_at", F),
                         sa.Column("finished_at", F))
    t["job_log"] = sa.Table("job_log", md, sa.Column("id", I, primary_key=True, autoincrement=True),
                            sa.Column("job_id", S(32), index=True, nullable=False), sa.Column("t", F),
                            sa.Column("message", sa.Text))
    t["renders"] = sa.Table("renders", md, sa.Column("id", S(32), primary_key=True),
                            sa.Column("tenant_id", S(32), index=True, nullable=False), sa.Column("avatar_id", S(32)),
                            sa.Column("state", S(20)), sa.Column("params", J), sa.Column("job_id", S(32)),
                            sa.Column("video_id", S(32)), sa.Column("info", J), sa.Column("error", sa.Text),
                            sa.Column("created_at", F), sa.Column("updated_at", F))
    t["live"] = sa.Table("live_sessions", md, sa.Column("id", S(32), primary_key=True),
                         sa.Column("tenant_id", S(32), index=True, nullable=False), sa.Column("avatar_id", S(32)),
                         sa.Column("state", S(20), index=True), sa.Column("config", J), sa.Column("worker", S(100)),
                         sa.Column("viewer_url", S(300)), sa.Column("metrics", J), sa.Column("restarts", I),
                         sa.Column("error", sa.Text), sa.Column("created_at", F), sa.Column("started_at", F),
                         sa.Column("stopped_at", F), sa.Column("updated_at", F))
    t["events"] = sa.Table("events", md, sa.Column("id", I, primary_key=True, autoincrement=True),
                           sa.Column("tenant_id", S(32), index=True, nullable=False), sa.Column("topic", S(20)),
                           sa.Column("subject_id", S(32)), sa.Column("type", S(40)), sa.Column("data", J),
                           sa.Column("t", F))
    return md, t


class Store:
    """The database of one service (thread-safe; one per process).

    Args:
        url: a SQLAlchemy URL: ``sqlite:///path/serve.db`` (WAL, created if missing) or
            ``postgresql://user:pass@host:port/dbname`` (the database must exist).
    """

    def __init__(self, url: str):
        sa = require("sqlalchemy", "the dhsdk serve database")
        self.sa = sa
        self.url = url
        full = engine_url(url)
        if full.startswith("postgresql+psycopg"):
            require("psycopg", "PostgreSQL databases")
        if full.startswith("sqlite"):
            self.engine = sa.create_engine(full, connect_args={"check_same_thread": False, "timeout": 30},
                                           pool_size=20, max_overflow=20)

            @sa.event.listens_for(self.engine, "connect")
            def _pragmas(conn: Any, _record: Any) -> None:
                cur = conn.cursor()
                for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=30000", "foreign_keys=ON"):
                    cur.execute(f"PRAGMA {pragma}")
                cur.close()
        else:
            self.engine = sa.create_engine(full, pool_pre_ping=True, pool_size=10, max_overflow=20)
        self.metadata, self.t = _schema(sa)
        try:
            self.metadata.create_all(self.engine)
        except sa.exc.OperationalError as e:
            raise InputError(f"cannot open the database {redact(url)}: {e.orig} (check the URL, that the server "
                             f"runs and the database exists)") from None
        self._changed = threading.Condition()

    # ---- plumbing ---------------------------------------------------------------------
    def _one(self, stmt: Any) -> dict[str, Any] | None:
        with self.engine.connect() as c:
            row = c.execute(stmt).mappings().first()
        return dict(row) if row is not None else None

    def _all(self, stmt: Any) -> list[dict[str, Any]]:
        with self.engine.connect() as c:
            return [dict(r) for r in c.execute(stmt).mappings()]

    def _write(self, stmt: Any) -> int:
        with self.engine.begin() as c:
            return c.execute(stmt).rowcount

    def insert(self, table: str, **values: Any) -> dict[str, Any]:
        """Insert a row into ``table`` (its ``created_at`` set to now unless given); returns it."""
        tab = self.t[table]
        if "created_at" in tab.c and "created_at" not in values:
            values["created_at"] = time.time()
        self._write(tab.insert().values(**values))
        return values

    def get(self, table: str, row_id: str, tenant_id: str | None = None) -> dict[str, Any] | None:
        """The row ``row_id`` of ``table`` (None when absent, or another tenant's)."""
        tab = self.t[table]
        stmt = self.sa.select(tab).where(tab.c.id == row_id)
        if tenant_id is not None:
            stmt = stmt.where(tab.c.tenant_id == tenant_id)
        return self._one(stmt)

    def list(self, table: str, tenant_id: str, limit: int = 100, **where: Any) -> list[dict[str, Any]]:
        """A tenant's rows of ``table``, newest first, filtered by column equalities."""
        tab = self.t[table]
        stmt = self.sa.select(tab).where(tab.c.tenant_id == tenant_id)
        for k, v in where.items():
            stmt = stmt.where(tab.c[k].in_(v) if isinstance(v, (list, tuple)) else tab.c[k] == v)
        return self._all(stmt.order_by(tab.c.created_at.desc()).limit(limit))

    def update(self, table: str, row_id: str, *, only_if: dict[str, Any] | None = None, **values: Any) -> bool:
        """Set ``values`` on row ``row_id`` (and ``updated_at`` where the table has it); with
        ``only_if`` only when those columns have those values (a state that may have moved on).

        Returns:
            whether a row was updated.
        """
        tab = self.t[table]
        if "updated_at" in tab.c:
            values.setdefault("updated_at", time.time())
        stmt = tab.update().where(tab.c.id == row_id).values(**values)
        for k, v in (only_if or {}).items():
            stmt = stmt.where(tab.c[k].in_(v) if isinstance(v, (list, tuple)) else tab.c[k] == v)
        return self._write(stmt) > 0

    def delete(self, table: str, row_id: str) -> None:
        """Delete row ``row_id`` of ``table``."""
        tab = self.t[table]
        self._write(tab.delete().where(tab.c.id == row_id))

    def ping(self) -> None:
        """Raise if the database does not answer."""
        with self.engine.connect() as c:
            c.execute(self.sa.text("SELECT 1"))

    def close(self) -> None:
        """Release the connections."""
        self.engine.dispose()

    # ---- tenants and tokens -----------------------------------------------------------
    def tenant(self, name: str, create: bool = False) -> dict[str, Any] | None:
        """The tenant called ``name`` (created when ``create`` and missing)."""
        tab = self.t["tenants"]
        row = self._one(self.sa.select(tab).where(tab.c.name == name))
        if row is None and create:
            try:
                return self.insert("tenants", id=new_id("ten"), name=name)
            except self.sa.exc.IntegrityError:  # created meanwhile by another process
                row = self._one(self.sa.select(tab).where(tab.c.name == name))
        return row

    def add_token(self, tenant_id: str, token_hash: str, label: str = "") -> dict[str, Any]:
        """Record a token by its hash (the token itself is never stored)."""
        return self.insert("tokens", id=new_id("tok"), tenant_id=tenant_id, hash=token_hash, label=label)

    def token_by_hash(self, token_hash: str) -> dict[str, Any] | None:
        """The live (not revoked) token with this hash, with its tenant's name."""
        tok, ten = self.t["tokens"], self.t["tenants"]
        stmt = (self.sa.select(tok, ten.c.name.label("tenant"))
                .join(ten, ten.c.id == tok.c.tenant_id)
                .where(tok.c.hash == token_hash, tok.c.revoked_at.is_(None)))
        return self._one(stmt)

    def tokens(self) -> list[dict[str, Any]]:
        """Every token (without hashes), with its tenant's name, oldest first."""
        tok, ten = self.t["tokens"], self.t["tenants"]
        stmt = (self.sa.select(tok.c.id, tok.c.label, tok.c.created_at, tok.c.last_used_at, tok.c.revoked_at,
                               ten.c.name.label("tenant"))
                .join(ten, ten.c.id == tok.c.tenant_id).order_by(tok.c.created_at))
        return self._all(stmt)

    # ---- jobs -------------------------------------------------------------------------
    def add_job(self, tenant_id: str, kind: str, subject_id: str, params: dict[str, Any],
                max_attempts: int, job_id: str | None = None) -> dict[str, Any]:
        """Queue a job (``job_id``: one made beforehand, so the subject's row can name its job
        before the job exists: a worker may take the job the moment it is queued)."""
        job = self.insert("jobs", id=job_id or new_id("job"), tenant_id=tenant_id, kind=kind, subject_id=subject_id,
                          state="queued", params=params, progress=0.0, step="queued", attempts=0,
                          max_attempts=max_attempts, cancel_requested=False)
        self.notify()
        return job

    def next_queued(self) -> str | None:
        """The id of the oldest queued job (None when the queue is empty)."""
        tab = self.t["jobs"]
        row = self._one(self.sa.select(tab.c.id).where(tab.c.state == "queued").order_by(tab.c.created_at).limit(1))
        return row["id"] if row else None

    def claim_job(self, worker: str, job_id: str | None = None) -> dict[str, Any] | None:
        """Take the oldest queued job (or ``job_id``, if still queued) for ``worker``: state ->
        running, attempts + 1. Returns the job, or None when there was none to take."""
        tab = self.t["jobs"]
        for _ in range(8):  # another worker may win a candidate; try the next one
            candidate = job_id or self.next_queued()
            if candidate is None:
                return None
            now = time.time()
            won = self._write(tab.update().where(tab.c.id == candidate, tab.c.state == "queued").values(
                state="running", worker=worker, attempts=tab.c.attempts + 1, heartbeat_at=now, started_at=now,
                step="starting", error=None))
            if won:
                return self.get("jobs", candidate)
            if job_id is not None:
                return None
        return None

    def log(self, job_id: str, message: str) -> None:
        """Append a line to a job's log."""
        self._write(self.t["job_log"].insert().values(job_id=job_id, t=time.time(), message=message))

    def log_tail(self, job_id: str, n: int = LOG_TAIL) -> list[dict[str, Any]]:
        """The last ``n`` log lines of a job, oldest first."""
        tab = self.t["job_log"]
        rows = self._all(self.sa.select(tab.c.t, tab.c.message).where(tab.c.job_id == job_id)
                         .order_by(tab.c.id.desc()).limit(n))
        return rows[::-1]

    def jobs_in(self, states: Iterable[str]) -> list[dict[str, Any]]:
        """Every tenant's jobs in ``states``, oldest first."""
        tab = self.t["jobs"]
        return self._all(self.sa.select(tab).where(tab.c.state.in_(list(states))).order_by(tab.c.created_at))

    def live_in(self, states: Iterable[str]) -> list[dict[str, Any]]:
        """Every tenant's live sessions in ``states``."""
        tab = self.t["live"]
        return self._all(self.sa.select(tab).where(tab.c.state.in_(list(states))).order_by(tab.c.created_at))

    # ---- events -----------------------------------------------------------------------
    def add_event(self, tenant_id: str, topic: str, subject_id: str, kind: str, data: dict[str, Any]) -> None:
        """Publish an event (job progress, live metrics, ...) to the tenant's event feed."""
        self._write(self.t["events"].insert().values(tenant_id=tenant_id, topic=topic, subject_id=subject_id,
                                                     type=kind, data=data, t=time.time()))
        self.notify()

    def events_after(self, tenant_id: str, after: int, limit: int = 200) -> list[dict[str, Any]]:
        """The tenant's events with id > ``after``, oldest first."""
        tab = self.t["events"]
        return self._all(self.sa.select(tab).where(tab.c.tenant_id == tenant_id, tab.c.id > after)
                         .order_by(tab.c.id).limit(limit))

    def last_event_id(self, tenant_id: str) -> int:
        """The id of the tenant's newest event (0 when none)."""
        tab = self.t["events"]
        row = self._one(self.sa.select(self.sa.func.max(tab.c.id).label("m")).where(tab.c.tenant_id == tenant_id))
        return int(row["m"] or 0) if row else 0

    def prune_events(self, older_than_s: float) -> int:
        """Delete events older than ``older_than_s`` seconds; returns how many."""
        tab = self.t["events"]
        return self._write(tab.delete().where(tab.c.t < time.time() - older_than_s))

    def notify(self) -> None:
        """Wake the threads of this process waiting in :meth:`wait_change` (a job was queued,
        an event published); other processes' changes are seen by their polling."""
        with self._changed:
            self._changed.notify_all()

    def wait_change(self, timeout: float) -> None:
        """Block until :meth:`notify` or ``timeout`` seconds."""
        with self._changed:
            self._changed.wait(timeout)


def redact(url: str) -> str:
    """``url`` with its password replaced by ``***`` (for messages and logs)."""
    head, sep, tail = url.partition("://")
    if not sep or "@" not in tail:
        return url
    creds, _, rest = tail.rpartition("@")
    user = creds.split(":", 1)[0]
    return f"{head}://{user}:***@{rest}" if ":" in creds else url
