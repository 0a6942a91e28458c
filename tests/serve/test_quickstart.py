"""The README's quick start, over real HTTP against ``dhsdk serve`` on a fresh data directory,
on SQLite and on PostgreSQL: upload ../shared/data/sun.mp4, poll to a ready avatar, render a
text to mp4, start a live session into the local nginx-rtmp, comment, stop it."""
from __future__ import annotations

import time

import pytest
from serve_helpers import ServeProcess, decode_mp4
from test_rtmp import Reader

pytestmark = pytest.mark.slow
httpx = pytest.importorskip("httpx")


def poll(client, url: str, done, timeout: float = 180.0) -> dict:
    deadline = time.monotonic() + timeout
    while not done(body := client.get(url).json()):
        assert time.monotonic() < deadline, body
        time.sleep(0.5)
    return body


def test_quick_start_from_material_to_a_live_stream(tmp_path, shared_data, db_url, nginx):
    server = ServeProcess(tmp_path / "shop-data", db=db_url)
    token = server.cli("token", "create", "--tenant", "demo-shop").strip()
    server.start()
    auth = {"Authorization": f"Bearer {token}"}
    try:
        with httpx.Client(base_url=server.url, headers=auth, timeout=60) as c:
            with open(shared_data / "sun.mp4", "rb") as f:
                r = c.post("/v1/avatars", files={"file": ("sun.mp4", f, "video/mp4")}, data={"name": "sun"})
            assert r.status_code == 202, r.text
            job = poll(c, r.json()["job"]["url"], lambda j: j["state"] in ("succeeded", "failed"))
            assert job["state"] == "succeeded", job
            avatar = c.get(f"/v1/avatars/{r.json()['avatar']['id']}").json()
            assert avatar["state"] == "ready" and avatar["review"]["verdict"] in ("pass", "warn")
            assert avatar["info"]["frames"] == 550 and (avatar["info"]["width"], avatar["info"]["height"]) == (576, 768)

            r = c.post("/v1/renders", json={"avatar": avatar["id"], "text": "Only nineteen ninety-nine today!",
                                            "size": "720x1280"})
            job = poll(c, r.json()["job"]["url"], lambda j: j["state"] in ("succeeded", "failed"))
            assert job["state"] == "succeeded", job
            video = c.get(f"/v1/renders/{r.json()['render']['id']}/video")
            frames, size, seconds = decode_mp4(video.content)
            assert size == (720, 1280) and frames == job["result"]["frames"] and abs(seconds - frames / 25) < 0.1

            viewer = Reader(nginx.url("key"), frames=25, seconds=30)
            r = c.post("/v1/live", json={"avatar": avatar["id"], "sink": nginx.url("key"),
                                         "host": {"script": "Hello from the quick start.", "products": ["dress-01"]}})
            assert r.status_code == 201 and r.json()["state"] == "live", r.text
            live = r.json()
            comment = c.post(f"/v1/live/{live['id']}/comments", json={"user": "anna", "text": "how much is the dress?"})
            assert comment.json() == {"accepted": True}
            viewer.join(35)
            assert viewer.error is None and len(viewer.video) >= 25
            stopped = c.delete(f"/v1/live/{live['id']}").json()
            assert stopped["state"] == "stopped" and stopped["metrics"]["frames"] >= 25
        assert httpx.get(server.url + "/v1/avatars").status_code == 401
    finally:
        server.stop()
