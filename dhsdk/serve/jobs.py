"""What a job does, and how its state, progress and log reach the database.

Two kinds: ``avatar`` (review -> create -> optional training, each step skipped on a retry
when an earlier attempt completed it) and ``render`` (speech -> mp4). A job runs on whatever
worker claimed it (a thread of the API process or a Ray actor) through :func:`execute`, which
records the outcome: ``succeeded``; ``failed`` with the reason (bad material, a review that
failed, an error); ``cancelled``; or back to ``queued`` when the worker is shutting down (the
attempt is not counted). A job whose worker dies is found by :mod:`dhsdk.serve.server`'s
recovery or the Ray backend, and retried up to ``max_attempts`` times.
"""
from __future__ import annotations

import logging
import shutil
import threading
import time
from typing import Any

from dhsdk.errors import DhsdkError, InputError

log = logging.getLogger("dhsdk.serve")
_PROGRESS_EVERY_S = 0.5   # at most this often a job's progress is written
_CANCEL_POLL_S = 1.0      # how often a running job looks for a cancel request


class Cancelled(Exception):
    """The job's owner asked to cancel it."""


class Interrupted(Exception):
    """The worker is shutting down: the job goes back to the queue."""


class JobContext:
    """A running job's handle on its record: steps, progress, log, heartbeats, cancellation.

    Args:
        store: the :class:`~dhsdk.serve.db.Store`.
        job: the job's row (as claimed).
        worker: the worker's name (recorded on the job).
        heartbeat_s: seconds between heartbeats (a thread keeps them going while it runs).
        stopping: set when the worker shuts down.
    """

    def __init__(self, store: Any, job: dict[str, Any], worker: str, heartbeat_s: float,
                 stopping: threading.Event | None = None):
        self.store, self.job, self.worker = store, job, worker
        self.id, self.tenant = job["id"], job["tenant_id"]
        self.stopping = stopping or threading.Event()
        self._span = (0.0, 1.0)
        self._step = "starting"
        self._last_write = 0.0
        self._last_cancel_poll = 0.0
        self._done = threading.Event()
        self._beat = threading.Thread(target=self._heartbeat, args=(heartbeat_s,), name="dhsdk-job-heartbeat",
                                      daemon=True)
        self._beat.start()

    def _heartbeat(self, every: float) -> None:
        while not self._done.wait(every):
            try:
                self.store.update("jobs", self.id, heartbeat_at=time.time())
            except Exception as e:  # noqa: BLE001 - a missed beat is retried; the job goes on
                log.warning("job %s: heartbeat failed: %s", self.id, e)

    def finish(self) -> None:
        """Stop the heartbeats."""
        self._done.set()
        self._beat.join(5.0)

    def step(self, name: str, start: float, end: float) -> None:
        """Begin step ``name``, which takes the job's progress from ``start`` to ``end``."""
        self._step, self._span = name, (start, end)
        self.log(f"{name}")
        self.progress(0.0, force=True)

    def progress(self, fraction: float, force: bool = False) -> None:
        """The current step is ``fraction`` done (written at most every 0.5 s)."""
        self.check()
        now = time.monotonic()
        if not force and now - self._last_write < _PROGRESS_EVERY_S and fraction < 1.0:
            return
        self._last_write = now
        a, b = self._span
        value = round(a + (b - a) * min(max(fraction, 0.0), 1.0), 4)
        self.store.update("jobs", self.id, progress=value, step=self._step, heartbeat_at=time.time())
        self.store.add_event(self.tenant, "job", self.id, "job.progress",
                             {"progress": value, "step": self._step, "kind": self.job["kind"],
                              "subject_id": self.job["subject_id"]})

    def log(self, message: str) -> None:
        """Add a line to the job's log (and the server's)."""
        self.store.log(self.id, message)
        log.info("job %s: %s", self.id, message)

    def check(self) -> None:
        """Raise :class:`Interrupted` when the worker stops, :class:`Cancelled` when asked to."""
        if self.stopping.is_set():
            raise Interrupted()
        now = time.monotonic()
        if now - self._last_cancel_poll >= _CANCEL_POLL_S:
            self._last_cancel_poll = now
            row = self.store.get("jobs", self.id)
            if row is None or row["cancel_requested"]:
                raise Cancelled()


# ---- the kinds ---------------------------------------------------------------------------
def _event(ctx: JobContext, topic: str, subject: str, state: str, **data: Any) -> None:
    ctx.store.add_event(ctx.tenant, topic, subject, f"{topic}.state", {"state": state, **data})


def run_avatar(ctx: JobContext, files: Any, device: str) -> dict[str, Any]:
    """Review the material, then (unless the job says review only) create the avatar and train it."""
    from dhsdk.serve import engine

    store, params = ctx.store, ctx.job["params"] or {}
    avatar = store.get("avatars", ctx.job["subject_id"], ctx.tenant)
    if avatar is None:
        raise InputError("the avatar was deleted")
    aid = avatar["id"]
    material_row = store.get("files", avatar["material_id"], ctx.tenant)
    material = files.path(material_row)
    home = files.tenant_dir("avatars", ctx.tenant)
    train = params.get("train") or {}
    create_end = 0.8 if train else 1.0
    if avatar["review"] is None:
        ctx.step("review", 0.0, 0.35)
        store.update("avatars", aid, state="reviewing")
        _event(ctx, "avatar", aid, "reviewing")
        sheet = home / f"{aid}.review.png"
        report = engine.review(material, sheet, material_row["name"])
        sheet_row = files.register(ctx.tenant, "sheet", sheet, "image/png", f"{avatar['name']} review.png")
        verdict = report["verdict"]
        state = "rejected" if verdict == "fail" else "reviewed"
        store.update("avatars", aid, review=report, sheet_id=sheet_row["id"], state=state)
        _event(ctx, "avatar", aid, state, verdict=verdict)
        ctx.log(f"review: {verdict}")
        if verdict == "fail":
            fails = "; ".join(f"{c['name']}: {c['reason']} (fix: {c['fix']})" for c in report["checks"]
                              if c["status"] == "fail")
            raise InputError(f"the material is not good enough for an avatar: {fails}")
    elif avatar["review"]["verdict"] == "fail":
        raise InputError("the material failed its review; upload better material")
    if not params.get("create", True):
        return {"review": avatar["review"]["verdict"] if avatar["review"] else "done"}
    bundle = home / aid
    ctx.step("create", 0.35, create_end)
    info = engine.bundle_ready(bundle)
    if info is None:
        store.update("avatars", aid, state="creating")
        _event(ctx, "avatar", aid, "creating")
        info = engine.create(material, bundle, device)
    else:
        ctx.log("the bundle from an earlier attempt is complete: not creating it again")
    if not store.update("avatars", aid, bundle=str(bundle.relative_to(files.root)), info=info,
                        state="training" if train else "ready"):
        shutil.rmtree(bundle, ignore_errors=True)   # deleted while it was being created
        raise InputError("the avatar was deleted")
    result: dict[str, Any] = {"avatar": aid}
    if train:
        ctx.step("train", create_end, 1.0)
        _event(ctx, "avatar", aid, "training")
        try:
            result["training"] = engine.train(bundle, material, train, ctx.log)
        except DhsdkError as e:   # the avatar works without the per-person model; the job says why
            store.update("avatars", aid, state="ready", error=f"training failed: {e}")
            _event(ctx, "avatar", aid, "ready", info=info, error=f"training failed: {e}")
            raise
        info = engine.bundle_ready(bundle) or info
        store.update("avatars", aid, info=info, state="ready")
    _event(ctx, "avatar", aid, "ready", info=info)
    return {**result, **info}


def run_render(ctx: JobContext, files: Any, device: str) -> dict[str, Any]:
    """Render the text or audio on the avatar into an mp4 the API serves."""
    from dhsdk.serve import engine

    store, params = ctx.store, ctx.job["params"] or {}
    render = store.get("renders", ctx.job["subject_id"], ctx.tenant)
    avatar = store.get("avatars", render["avatar_id"], ctx.tenant) if render else None
    if render is None or avatar is None or avatar["state"] != "ready":
        raise InputError("the render or its avatar was deleted (or the avatar is not ready)")
    audio = None
    if params.get("audio_id"):
        audio = files.path(store.get("files", params["audio_id"], ctx.tenant))
    rid = render["id"]
    store.update("renders", rid, state="rendering")
    _event(ctx, "render", rid, "rendering")
    ctx.step("render", 0.0, 1.0)
    out = files.tenant_dir("renders", ctx.tenant) / f"{rid}.mp4"
    size = tuple(params["size"]) if params.get("size") else None
    info = engine.render(files.root / avatar["bundle"], out, text=params.get("text"), audio=audio,
                         voice=params.get("voice"), size=size, device=device, progress=ctx.progress,
                         check=ctx.check)
    video = files.register(ctx.tenant, "video", out, "video/mp4", f"{rid}.mp4")
    store.update("renders", rid, state="ready", video_id=video["id"], info=info)
    _event(ctx, "render", rid, "ready", info=info)
    ctx.log(f"rendered {info['frames']} frames ({info['duration']:.2f} s) in {info['wall_s']:.1f} s")
    return {"render": rid, **info}


KINDS = {"avatar": run_avatar, "render": run_render}
SUBJECT_TABLE = {"avatar": "avatars", "render": "renders"}


def settle_subject(store: Any, job: dict[str, Any], state: str, reason: str) -> None:
    """Mark the job's avatar or render ``state`` (failed, cancelled) with ``reason`` (a rejected
    or ready avatar stays so)."""
    table = SUBJECT_TABLE[job["kind"]]
    row = store.get(table, job["subject_id"], job["tenant_id"])
    if row is None or row["state"] in ("rejected", "ready"):
        return
    store.update(table, row["id"], state=state, error=reason)
    store.add_event(job["tenant_id"], table[:-1], row["id"], f"{table[:-1]}.state", {"state": state, "error": reason})


def execute(store: Any, files: Any, job: dict[str, Any], worker: str, *, device: str = "auto",
            heartbeat_s: float = 2.0, stopping: threading.Event | None = None) -> str:
    """Run a claimed job to its end and record the outcome.

    Returns:
        the job's new state: ``succeeded``, ``failed``, ``cancelled`` or ``queued``
        (interrupted by a shutdown: it runs again later).
    """
    ctx = JobContext(store, job, worker, heartbeat_s, stopping)
    jid, tenant = job["id"], job["tenant_id"]
    store.update("jobs", jid, worker=worker)
    store.add_event(tenant, "job", jid, "job.state", {"state": "running", "attempt": job["attempts"],
                                                      "kind": job["kind"], "subject_id": job["subject_id"]})
    ctx.log(f"attempt {job['attempts']} of {job['max_attempts']} on {worker}")
    state, error, result = "failed", None, None
    try:
        result = KINDS[job["kind"]](ctx, files, device)
        state = "succeeded"
    except Interrupted:
        state = "queued"
        ctx.log("the worker is shutting down: back in the queue, resuming at the next start")
    except Cancelled:
        state, error = "cancelled", "cancelled on request"
    except (DhsdkError, FileNotFoundError) as e:
        error = str(e)
    except Exception as e:  # noqa: BLE001 - any failure is recorded on the job, never lost
        log.exception("job %s failed", jid)
        error = f"internal error: {type(e).__name__}: {e}"
    finally:
        ctx.finish()
    if error:
        ctx.log(error)
    values: dict[str, Any] = {"state": state, "error": error}
    if state == "queued":
        values.update(attempts=max(0, job["attempts"] - 1), worker=None)
    else:
        values.update(finished_at=time.time(), result=result)
        if state == "succeeded":
            values["progress"] = 1.0
            values["step"] = "done"
    store.update("jobs", jid, only_if={"state": "running", "worker": worker}, **values)
    if state in ("failed", "cancelled"):
        settle_subject(store, job, state, error or state)
    store.add_event(tenant, "job", jid, "job.state", {"state": state, "error": error, "kind": job["kind"],
                                                      "subject_id": job["subject_id"]})
    return state


def requeue_or_fail(store: Any, job: dict[str, Any], why: str) -> str:
    """A job whose worker died: back to the queue while attempts remain, else failed with why.

    Args:
        job: the job's row as that worker ran it (its ``attempts`` identify the lost attempt).

    Returns:
        the job's new state.
    """
    if job["attempts"] < job["max_attempts"]:
        state, error = "queued", None
        message = f"{why}; retrying (attempt {job['attempts'] + 1} of {job['max_attempts']})"
    else:
        state, error = "failed", f"{why}, {job['attempts']} times: giving up"
        message = error
    # Only the attempt that was lost: a job already retried (attempts moved on) is left alone.
    if not store.update("jobs", job["id"], only_if={"state": "running", "attempts": job["attempts"]}, state=state,
                        error=error, worker=None, finished_at=time.time() if state == "failed" else None):
        return store.get("jobs", job["id"])["state"]
    store.log(job["id"], message)
    if state == "failed":
        settle_subject(store, job, "failed", error)
    store.add_event(job["tenant_id"], "job", job["id"], "job.state", {"state": state, "error": error,
                                                                     "reason": why, "kind": job["kind"],
                                                                     "subject_id": job["subject_id"]})
    return state
