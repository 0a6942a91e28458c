"""``dhsdk serve --ray``: a local Ray cluster on loopback with two worker actors (two
processes) runs the jobs and live sessions; the API process only routes. Killing the worker
process in the middle of a job retries the job on the other worker; killing the one hosting a
live session restarts the session elsewhere, and its events say so."""
from __future__ import annotations

import json
import os
import re
import signal
import time

import pytest
from serve_helpers import wait_job

pytestmark = pytest.mark.slow
ray = pytest.importorskip("ray", reason="needs Ray: pip install 'dhsdk[ray]'")


def worker_pid(job: dict) -> int:
    return int(re.search(r"pid (\d+)", job["worker"]).group(1))


def test_jobs_and_live_sessions_survive_a_killed_ray_worker(make_api, portrait_png):
    api = make_api(ray="auto", ray_workers=2, ray_cpus_per_worker=1, heartbeat_s=1.0)
    backend = api.service.backend
    pids = backend.worker_pids()
    assert len(set(pids.values())) == 2 and os.getpid() not in pids.values()   # two worker processes
    assert api.client.get("/healthz").json()["backend"] == "ray"

    r = api.post("/v1/avatars", files={"file": ("p.png", portrait_png.read_bytes(), "image/png")})
    job = wait_job(api, r.json()["job"]["id"], timeout=120)
    assert job["state"] == "succeeded" and job["worker"].startswith("ray-worker-") and worker_pid(job) in pids.values()
    avatar = r.json()["avatar"]["id"]

    # A render, and the worker process running it killed early on. The script is long (about
    # 30 s of speech, several seconds of rendering on a fast machine) so the kill lands while the
    # job runs: a short one could finish between the progress poll and the kill.
    script = " ".join(["Good evening and welcome. Tonight every dress ships free, and the first "
                       "hundred orders get a gift."] * 4)
    r = api.post("/v1/renders", json={"avatar": avatar, "size": "240x320", "text": script})
    jid = r.json()["job"]["id"]
    deadline = time.monotonic() + 60
    while (job := api.get(f"/v1/jobs/{jid}").json())["progress"] < 0.05:
        assert time.monotonic() < deadline and job["state"] in ("queued", "running"), job
        time.sleep(0.05)
    assert job["state"] == "running" and job["progress"] < 0.5, job
    first = job["worker"]
    os.kill(worker_pid(job), signal.SIGKILL)
    job = wait_job(api, jid, timeout=120)
    assert job["state"] == "succeeded" and job["attempts"] == 2, job
    assert job["worker"].split()[0] != first.split()[0]               # retried on the other worker
    log = [line["message"] for line in job["log"]]
    assert any(f"its worker {first.split()[0]} died; retrying (attempt 2 of 3)" in m for m in log), log
    assert api.get(f"/v1/renders/{job['subject_id']}/video").content[4:8] == b"ftyp"

    # A live session, and the worker hosting it killed.
    r = api.post("/v1/live", json={"avatar": avatar, "sink": "browser", "host": {"loops": 0}})
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    host_pid = worker_pid(r.json())
    with api.client.websocket_connect("/v1/events") as ws:
        ws.send_text(json.dumps({"token": api.token}))
        assert ws.receive_json()["type"] == "hello"
        os.kill(host_pid, signal.SIGKILL)
        deadline = time.monotonic() + 60
        restarted = None
        while restarted is None and time.monotonic() < deadline:
            e = ws.receive_json()
            if e["subject_id"] == sid and e["type"] == "live.restarted":
                restarted = e["data"]
    assert restarted is not None and "died; restarted on another worker" in restarted["reason"]
    live = api.get(f"/v1/live/{sid}").json()
    assert live["state"] == "live" and live["restarts"] == 1 and worker_pid(live) != host_pid
    assert api.post(f"/v1/live/{sid}/comments", json={"text": "is the dress in stock?"}).json() == {"accepted": True}
    assert api.delete(f"/v1/live/{sid}").json()["state"] == "stopped"
