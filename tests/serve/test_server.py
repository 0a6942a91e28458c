"""``dhsdk serve`` as a real process, killed and restarted: an avatar job interrupted by
SIGKILL completes after the restart (its log says why it ran twice), a live session that was
on air is started again and says so, and SIGTERM shuts down gracefully: live sessions stopped
and recorded, the process exits 0."""
from __future__ import annotations

import json
import signal
import time

import pytest
from serve_helpers import ServeProcess

from dhsdk.serve.db import Store

pytestmark = pytest.mark.slow
httpx = pytest.importorskip("httpx")


def wait(client, job_id, states=("succeeded", "failed", "cancelled"), timeout=120.0) -> dict:
    deadline = time.monotonic() + timeout
    while (job := client.get(f"/v1/jobs/{job_id}").json())["state"] not in states:
        assert time.monotonic() < deadline, job
        time.sleep(0.1)
    return job


def events(server, token) -> list[dict]:
    """Every event of the tenant so far, read over the WebSocket (replay from the start)."""
    from websockets.sync.client import connect

    out = []
    with connect(server.url.replace("http", "ws") + "/v1/events?after=0") as ws:
        ws.send(json.dumps({"token": token}))
        json.loads(ws.recv())
        try:
            while True:
                out.append(json.loads(ws.recv(timeout=1.0)))
        except TimeoutError:
            return out


def test_kill_restart_and_graceful_shutdown(tmp_path, portrait_png):
    server = ServeProcess(tmp_path / "data")
    token = server.cli("token", "create", "--tenant", "shop").strip()
    server.start()
    client = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=60)
    try:
        up = client.post("/v1/avatars", files={"file": ("p.png", portrait_png.read_bytes(), "image/png")}).json()
        assert wait(client, up["job"]["id"])["state"] == "succeeded"
        live = client.post("/v1/live", json={"avatar": up["avatar"]["id"], "sink": "browser"}).json()
        assert live["state"] == "live"

        second = client.post("/v1/avatars", files={"file": ("q.png", portrait_png.read_bytes(), "image/png")}).json()
        jid = second["job"]["id"]
        job = wait(client, jid, states=("running",))
        time.sleep(0.5)                                  # mid-review
        assert server.kill(signal.SIGKILL) == -signal.SIGKILL

        server.start()                                   # same data, same database
        job = wait(client, jid)
        assert job["state"] == "succeeded" and job["attempts"] == 2, job
        log = [line["message"] for line in job["log"]]
        assert any(m.startswith("the server stopped while the job ran (during ") and "retrying (attempt 2 of 3)" in m
                   for m in log), log
        assert client.get(f"/v1/avatars/{second['avatar']['id']}").json()["state"] == "ready"
        deadline = time.monotonic() + 60
        while (again := client.get(f"/v1/live/{live['id']}").json())["worker"] == live["worker"]:
            assert time.monotonic() < deadline, again      # restarted in the background
            time.sleep(0.2)
        assert again["state"] == "live" and again["restarts"] == 1
        restarted = [e for e in events(server, token) if e.get("type") == "live.restarted"]
        assert [e["data"]["reason"] for e in restarted] == ["restarted after the server restarted"]

        t0 = time.monotonic()
        assert server.kill(signal.SIGTERM) in (0, 128 + signal.SIGTERM)   # dhsdk: a stopped command exits 143
        assert time.monotonic() - t0 < 20
        assert "Application shutdown complete" in server.log.read_text()
    finally:
        client.close()
        server.stop()
    store = Store(f"sqlite:///{tmp_path / 'data' / 'serve.db'}")
    row = store.get("live", live["id"])
    assert row["state"] == "stopped" and row["stopped_at"] is not None and row["metrics"]["frames"] > 0
    reasons = [e["data"].get("reason") for e in store.events_after(row["tenant_id"], 0)
               if e["subject_id"] == live["id"] and e["type"] == "live.state"]
    assert reasons[-1] == "the server shut down"
    assert store.jobs_in(["running", "queued"]) == []
    store.close()
