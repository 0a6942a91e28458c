"""Live sessions through the API: the avatar hosts the show into a real nginx-rtmp on loopback
(a viewer reads the stream back), takes viewers' comments, reports its metrics over the event
WebSocket, and stops cleanly; a browser sink serves its page; bad sinks are refused."""
from __future__ import annotations

import json
import os
import time
import urllib.request

import pytest
from test_rtmp import Reader

pytestmark = pytest.mark.slow


def test_go_live_into_rtmp_answer_comments_report_metrics_and_stop(shared_api, nginx):
    api = shared_api
    reader = Reader(nginx.url("shop"), frames=40, seconds=25)      # a viewer waiting for the stream
    r = api.post("/v1/live", json={"avatar": api.avatar, "sink": nginx.url("shop"),
                                   "host": {"script": "Welcome to the shop. This mug is nine dollars today.",
                                            "products": ["dress-01"], "voice": "en-us"}})
    assert r.status_code == 201, r.text
    live = r.json()
    sid = live["id"]
    assert live["state"] == "live" and live["sink"].endswith("/live/***")   # the stream key is not echoed
    with api.client.websocket_connect("/v1/events") as ws:
        ws.send_text(json.dumps({"token": api.token}))
        assert ws.receive_json()["type"] == "hello"
        c = api.post(f"/v1/live/{sid}/comments", json={"user": "anna", "text": "How much is the dress?"})
        assert c.status_code == 200 and c.json() == {"accepted": True}
        spam = api.post(f"/v1/live/{sid}/comments", json={"user": "bot", "text": "add me on wechat 13812345678"})
        assert spam.json() == {"accepted": False}
        seen: dict[str, list] = {}
        deadline = time.monotonic() + 30
        def said() -> list[str]:
            return [e["text"] for e in seen.get("live.host", []) if e["kind"] == "say"]

        while time.monotonic() < deadline and not (len(seen.get("live.metrics", [])) >= 2 and any(
                "$19.99" in s for s in said()) and "Welcome to the shop." in said()):
            e = ws.receive_json()
            if e["subject_id"] == sid:
                seen.setdefault(e["type"], []).append(e["data"])
    metrics = seen["live.metrics"][-1]
    assert metrics["frames"] > 25 and metrics["latency_p50_ms"] is not None
    assert metrics["late"] < metrics["frames"] / 3   # real time on 2 shared cores (warm-up frames may be late)
    assert "Welcome to the shop." in said()                           # the merchant's script
    assert any(e["kind"] == "comment" and e["text"] == "How much is the dress?" for e in seen["live.host"])
    assert any("$19.99" in s for s in said())                        # answered from the catalogue
    reader.join(30)
    assert reader.error is None and len(reader.video) >= 40        # a viewer got the stream
    assert reader.info["video"] == "h264" and reader.info["audio"] == "aac"
    stopped = api.delete(f"/v1/live/{sid}").json()
    assert stopped["state"] == "stopped" and stopped["metrics"]["frames"] >= metrics["frames"]
    assert stopped["stopped_at"] is not None
    assert api.post(f"/v1/live/{sid}/comments", json={"text": "still there?"}).status_code == 409
    assert api.service.backend.describe()["live_sessions"] == 0


def test_a_browser_sink_serves_its_viewer_page(shared_api):
    api = shared_api
    r = api.post("/v1/live", json={"avatar": api.avatar, "sink": "browser", "host": {"loops": 1}})
    assert r.status_code == 201, r.text
    live = r.json()
    try:
        with urllib.request.urlopen(live["viewer_url"], timeout=5) as page:
            assert page.status == 200 and b"WebSocket" in page.read()
        listed = api.get("/v1/live").json()
        assert live["id"] in [s["id"] for s in listed if s["state"] == "live"]
        assert api.get(f"/v1/live/{live['id']}", token=api.rival).status_code == 404
    finally:
        assert api.delete(f"/v1/live/{live['id']}").json()["state"] == "stopped"


@pytest.mark.parametrize("sink,words", [("ftp://x/y", "unknown sink"), ("rtmp://host", "rtmp://host[:port]/app"),
                                        ("obs:../../x", "obs:NAME")])
def test_bad_sinks_and_catalogues_are_refused_before_going_live(shared_api, sink, words):
    r = shared_api.post("/v1/live", json={"avatar": shared_api.avatar, "sink": sink})
    assert r.status_code == 422 and words in r.json()["detail"]


def test_a_catalogue_without_the_picked_product_is_refused(shared_api):
    r = shared_api.post("/v1/live", json={"avatar": shared_api.avatar, "sink": "browser",
                                          "host": {"products": ["no-such-thing"]}})
    assert r.status_code == 422 and "no product 'no-such-thing'" in r.json()["detail"]


def test_an_obs_sink_fills_its_shared_memory_ring_until_stopped(shared_api):
    api = shared_api
    r = api.post("/v1/live", json={"avatar": api.avatar, "sink": "obs:serve-test", "host": {"loops": 1}})
    assert r.status_code == 201, r.text
    live = r.json()
    assert live["sink"] == "obs:serve-test" and live["viewer_url"] is None
    ring = "/dev/shm/dhsdk-obs-serve-test"
    deadline = time.monotonic() + 20
    while not os.path.exists(ring):          # made with the first frame
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert api.delete(f"/v1/live/{live['id']}").json()["state"] == "stopped"
    assert not os.path.exists(ring)          # the sink's close removed it


def test_two_sessions_on_one_avatar_run_side_by_side(shared_api):
    """They share the worker's LipSync of the avatar (the Scheduler batches them), each with
    its own stream: both make frames, stopping one leaves the other on air."""
    api = shared_api
    ids = [api.post("/v1/live", json={"avatar": api.avatar, "sink": "browser"}).json()["id"] for _ in range(2)]
    try:
        deadline = time.monotonic() + 20
        while not all((api.get(f"/v1/live/{i}").json()["metrics"] or {}).get("frames", 0) > 25 for i in ids):
            assert time.monotonic() < deadline, [api.get(f"/v1/live/{i}").json()["metrics"] for i in ids]
            time.sleep(0.2)
        assert api.delete(f"/v1/live/{ids[0]}").json()["state"] == "stopped"
        before = api.get(f"/v1/live/{ids[1]}").json()["metrics"]["frames"]
        time.sleep(1.5)
        after = api.get(f"/v1/live/{ids[1]}").json()
        assert after["state"] == "live" and after["metrics"]["frames"] > before
    finally:
        for i in ids:
            api.delete(f"/v1/live/{i}")
