"""Jobs survive what happens to their worker: a job left running by a killed server is retried
at the next start (or failed with the reason once out of attempts); one whose worker stops
sending heartbeats is retried; a queued job can be cancelled; a shutdown puts a running job
back in the queue without spending an attempt."""
from __future__ import annotations

import time

import pytest
from serve_helpers import wait_job

from dhsdk.serve import jobs
from dhsdk.serve.db import DONE, Store
from dhsdk.serve.server import Service


def upload(api, png) -> tuple[str, str]:
    r = api.post("/v1/avatars", files={"file": ("p.png", png.read_bytes(), "image/png")})
    assert r.status_code == 202, r.text
    return r.json()["avatar"]["id"], r.json()["job"]["id"]


def settled(store, jid: str, timeout: float = 120.0) -> dict:
    """The job's row once it is done (read from the database, as a second process would)."""
    deadline = time.monotonic() + timeout
    while (job := store.get("jobs", jid))["state"] not in DONE:
        assert time.monotonic() < deadline, job
        time.sleep(0.3)
    return job


def test_a_job_left_running_by_a_dead_server_is_retried_at_the_next_start(make_api, portrait_png):
    api = make_api(workers=0)
    aid, jid = upload(api, portrait_png)
    store = api.service.store
    assert store.claim_job("killed-server")["id"] == jid             # running when the server "died"
    store.update("jobs", jid, step="create")
    config = api.config
    api.close()                                                      # (a clean close would requeue it)
    config.workers = 1
    again = Service(config)
    again.start()
    try:
        job = again.store.get("jobs", jid)
        assert job["state"] in ("queued", "running") and job["attempts"] <= 2
        log = [r["message"] for r in again.store.log_tail(jid)]
        assert "the server stopped while the job ran (during create); retrying (attempt 2 of 3)" in log
        job = settled(again.store, jid)
        assert job["state"] == "succeeded" and job["attempts"] == 2, job
        assert again.store.get("avatars", aid)["state"] == "ready"
    finally:
        again.close()


def test_out_of_attempts_the_job_fails_with_the_reason(make_api, portrait_png):
    api = make_api(workers=0, max_attempts=2)
    aid, jid = upload(api, portrait_png)
    store = api.service.store
    for attempt in (1, 2):
        job = store.claim_job(f"worker{attempt}")
        assert job["attempts"] == attempt
        state = jobs.requeue_or_fail(store, job, "its worker stopped answering (during review)")
        assert state == ("queued" if attempt == 1 else "failed")
    job = api.get(f"/v1/jobs/{jid}").json()
    assert job["state"] == "failed"
    assert job["error"] == "its worker stopped answering (during review), 2 times: giving up"
    assert api.get(f"/v1/avatars/{aid}").json()["state"] == "failed"


def test_a_silent_worker_is_noticed_and_its_job_retried(make_api, portrait_png):
    api = make_api(workers=0, heartbeat_s=0.2)
    _, jid = upload(api, portrait_png)
    store = api.service.store
    store.claim_job("vanished")
    store.update("jobs", jid, heartbeat_at=time.time() - 60)       # no heartbeat for a minute
    deadline = time.monotonic() + 10
    while store.get("jobs", jid)["state"] == "running":
        assert time.monotonic() < deadline, "housekeeping did not notice the silent worker"
        time.sleep(0.1)
    job = api.get(f"/v1/jobs/{jid}").json()
    assert job["state"] == "queued" and "its worker stopped answering" in job["log"][-1]["message"]


def test_cancelling_a_queued_job_cancels_its_avatar(make_api, portrait_png):
    api = make_api(workers=0)
    aid, jid = upload(api, portrait_png)
    r = api.post(f"/v1/jobs/{jid}/cancel")
    assert r.status_code == 200 and r.json()["state"] == "cancelled"
    assert api.get(f"/v1/avatars/{aid}").json()["state"] == "cancelled"
    assert api.service.store.claim_job("late") is None
    assert api.post(f"/v1/jobs/{jid}/cancel").json()["state"] == "cancelled"   # idempotent


@pytest.mark.slow
def test_a_shutdown_puts_a_running_job_back_and_the_next_start_finishes_it(make_api, portrait_png):
    api = make_api()
    aid, jid = upload(api, portrait_png)
    assert wait_job(api, jid, timeout=120)["state"] == "succeeded"
    r = api.post("/v1/renders", json={"avatar": aid, "text": "This sentence takes a few seconds to render, "
                                                             "long enough to be interrupted by a shutdown."})
    jid = r.json()["job"]["id"]
    deadline = time.monotonic() + 60
    while (job := api.get(f"/v1/jobs/{jid}").json())["progress"] < 0.1:   # rendering frames
        assert time.monotonic() < deadline and job["state"] in ("queued", "running"), job
        time.sleep(0.1)
    config = api.config
    api.close()                                                   # a clean shutdown mid-render
    store = Store(config.db_url)
    job = store.get("jobs", jid)
    assert job["state"] == "queued" and job["attempts"] == 0, job
    assert "back in the queue" in store.log_tail(jid)[-1]["message"]
    rid = job["subject_id"]
    assert store.get("renders", rid)["video_id"] is None
    assert not list((config.data / "renders").rglob("*.mp4"))     # nothing half-written left to serve
    store.close()
    again = Service(config)
    again.start()
    try:
        job = settled(again.store, jid)
        assert job["state"] == "succeeded" and job["attempts"] == 1, job
        assert again.store.get("renders", rid)["state"] == "ready"
    finally:
        again.close()
