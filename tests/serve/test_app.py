"""The HTTP API in process (FastAPI TestClient, real jobs on a photo avatar): renders from
text, uploaded audio and URLs decode to the promised frames and sound; bad requests get a
4xx naming the problem; bodies over the limits are cut off with 413; deleting removes."""
from __future__ import annotations

import http.server
import io
import threading
import wave

import numpy as np
import pytest

from serve_helpers import decode_mp4, wait_job


def tone_wav(seconds: float = 1.0, rate: int = 22050) -> bytes:
    """A WAV of a 220 Hz tone with a syllable-like envelope (speech-loud)."""
    t = np.arange(int(seconds * rate)) / rate
    pcm = 0.4 * np.sin(2 * np.pi * 220 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 4 * t))
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((pcm * 32767).astype(np.int16).tobytes())
    return out.getvalue()


def render(api, **body) -> tuple[dict, dict]:
    r = api.post("/v1/renders", json={"avatar": api.avatar, **body})
    assert r.status_code == 202, r.text
    return r.json()["render"], wait_job(api, r.json()["job"]["id"], timeout=120)


def test_the_openapi_schema_lists_the_whole_contract(shared_api):
    paths = shared_api.client.get("/openapi.json").json()["paths"]
    for p in ("/v1/avatars", "/v1/avatars/{avatar_id}", "/v1/avatars/{avatar_id}/review.png",
              "/v1/avatars/{avatar_id}/create", "/v1/renders", "/v1/renders/{render_id}/video", "/v1/uploads",
              "/v1/live", "/v1/live/{session_id}", "/v1/live/{session_id}/comments", "/v1/jobs/{job_id}",
              "/v1/jobs/{job_id}/cancel", "/healthz"):
        assert p in paths, p
    assert set(paths["/v1/avatars/{avatar_id}"]) == {"get", "delete"}


def test_a_ready_avatar_has_its_review_and_facts(shared_api, portrait_png):
    from dhsdk.avatar import review_material

    a = shared_api.get(f"/v1/avatars/{shared_api.avatar}").json()
    assert a["state"] == "ready" and a["info"]["fps"] == 25 and a["info"]["frames"] > 0
    assert a["review"]["verdict"] in ("pass", "warn") and a["review"]["source"] == "astronaut.png"
    reference, _ = review_material(portrait_png, show_progress=False)     # the SDK's own review of the file
    assert [(c["name"], c["status"]) for c in a["review"]["checks"]] == [(c.name, c.status) for c in reference.checks]
    assert all(c["fix"] or c["status"] == "pass" for c in a["review"]["checks"] if c["status"] in ("warn", "fail"))
    assert "/" not in a["review"]["source"]                     # the server's paths stay on the server
    job = shared_api.get(f"/v1/jobs/{a['job_id']}").json()
    assert job["state"] == "succeeded" and job["progress"] == 1.0 and job["attempts"] == 1
    assert [line["message"] for line in job["log"]][1:] == ["review", "review: pass" if a["review"]["verdict"] == "pass"
                                                            else "review: warn", "create"]


def test_render_text_to_an_mp4_with_the_promised_frames_and_sound(shared_api):
    api = shared_api
    rnd, job = render(api, text="Hello there, welcome to the show.", size="320x480")
    assert job["state"] == "succeeded", job
    got = api.get(f"/v1/renders/{rnd['id']}").json()
    assert got["state"] == "ready" and got["video_url"] == f"/v1/renders/{rnd['id']}/video"
    video = api.get(got["video_url"])
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
    frames, size, seconds = decode_mp4(video.content)
    info = got["info"]
    assert frames == info["frames"] == job["result"]["frames"] and size == (320, 480)
    assert abs(frames / 25.0 - info["duration"]) <= 1 / 25 + 1e-6 and abs(seconds - info["duration"]) < 0.1
    assert 1.0 < info["duration"] < 4.0                          # one short sentence of espeak-ng
    listed = api.get("/v1/renders").json()
    assert rnd["id"] in [x["id"] for x in listed] and api.get("/v1/renders", token=api.rival).json() == []
    path = api.service.files.path(api.service.store.get("files", api.service.store.get("renders", rnd["id"])["video_id"]))
    assert api.delete(f"/v1/renders/{rnd['id']}", token=api.rival).status_code == 404
    assert api.delete(f"/v1/renders/{rnd['id']}").status_code == 204
    assert api.get(got["video_url"]).status_code == 404 and not path.exists()


def test_render_uploaded_audio_and_a_url_last_as_long_as_the_audio(shared_api, make_api):
    api = shared_api
    wav = tone_wav(1.2)
    up = api.post("/v1/uploads", files={"file": ("tone.wav", wav, "audio/wav")})
    assert up.status_code == 201 and up.json()["size"] == len(wav)
    rnd, job = render(api, audio_id=up.json()["id"])
    assert job["state"] == "succeeded", job
    assert abs(job["result"]["duration"] - 1.2) < 0.01 and job["result"]["frames"] == 30

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", str(len(wav)))
            self.end_headers()
            self.wfile.write(wav)

        def log_message(self, *a):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/speech.wav"
    try:
        r = api.post("/v1/renders", json={"avatar": api.avatar, "audio_url": url})
        assert r.status_code == 400 and "private or local address" in r.json()["detail"]   # not by default
        api.service.config.allow_private_urls = True
        rnd, job = render(api, audio_url=url)
        assert job["state"] == "succeeded" and job["result"]["frames"] == 30
    finally:
        api.service.config.allow_private_urls = False
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("body,status,words", [
    ({"text": "hi", "audio_id": "f_" + "0" * 20}, 422, "exactly one"),
    ({}, 422, "exactly one"),
    ({"text": "hi", "size": "99999x2"}, 422, "size"),
    ({"text": "hi", "voice": "../../etc"}, 422, "voice"),
    ({"text": "hi", "colour": "red"}, 422, "colour"),
    ({"audio_id": "f_" + "0" * 20}, 404, "no uploaded audio"),
    ({"audio_url": "file:///etc/passwd"}, 400, "http(s)"),
])
def test_bad_render_requests_say_what_is_wrong(shared_api, body, status, words):
    r = shared_api.post("/v1/renders", json={"avatar": shared_api.avatar, **body})
    assert r.status_code == status and words in r.text, r.text


def test_a_video_is_not_served_before_its_render_is_complete(make_api, portrait_png):
    api = make_api(workers=0)                                   # nothing runs: everything stays queued
    up = api.post("/v1/avatars", files={"file": ("p.png", portrait_png.read_bytes(), "image/png")})
    aid = up.json()["avatar"]["id"]
    assert api.get(f"/v1/avatars/{aid}").json()["state"] == "queued"
    r = api.post("/v1/renders", json={"avatar": aid, "text": "hi"})
    assert r.status_code == 409 and "not ready" in r.json()["detail"]
    assert api.get(f"/v1/avatars/{aid}/review.png").status_code == 404


def test_uploads_of_the_wrong_type_or_over_the_limit_are_refused(make_api, portrait_png):
    api = make_api(max_material_mb=0.01, workers=0)
    r = api.post("/v1/avatars", files={"file": ("evil.mp4", b"#!/bin/sh\necho pwned\n" * 10, "video/mp4")})
    assert r.status_code == 415 and "is not a video" in r.json()["detail"]
    r = api.post("/v1/avatars", files={"file": ("p.png", portrait_png.read_bytes(), "image/png")})
    assert r.status_code == 413
    big = b"\x89PNG\r\n\x1a\n" + b"\0" * (3 << 20)               # past the whole-request limit
    r = api.post("/v1/avatars", files={"file": ("big.png", big, "image/png")})
    assert r.status_code == 413 and "larger than" in r.json()["detail"]

    def chunks():                                                # no Content-Length: cut off while streaming
        for _ in range(40):
            yield b"\0" * (1 << 16)

    r = api.post("/v1/renders", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    assert api.service.store.list("avatars", api.service.store.tenant("acme")["id"]) == []
    assert list(api.service.files.tmp.iterdir()) == []


def test_material_without_a_face_is_rejected_with_its_review_and_fix(make_api, faceless_png):
    api = make_api()
    r = api.post("/v1/avatars", files={"file": ("wall.png", faceless_png.read_bytes(), "image/png")})
    job = wait_job(api, r.json()["job"]["id"])
    a = api.get(f"/v1/avatars/{r.json()['avatar']['id']}").json()
    assert job["state"] == "failed" and "not good enough for an avatar" in job["error"] and "fix:" in job["error"]
    assert a["state"] == "rejected" and a["review"]["verdict"] == "fail"
    assert any(c["status"] == "fail" and c["fix"] for c in a["review"]["checks"])
    assert api.get(a["contact_sheet_url"]).content.startswith(b"\x89PNG")
    r = api.post(f"/v1/avatars/{a['id']}/create", json={})
    assert r.status_code == 409


def test_deleting_an_avatar_removes_it_and_its_files(make_api, portrait_png):
    api = make_api()
    r = api.post("/v1/avatars", files={"file": ("p.png", portrait_png.read_bytes(), "image/png")},
                 data={"create": "false"})
    aid = r.json()["avatar"]["id"]
    job = wait_job(api, r.json()["job"]["id"])
    assert job["state"] == "succeeded" and api.get(f"/v1/avatars/{aid}").json()["state"] == "reviewed"
    tenant_files = api.service.files.root / "files"
    assert any(tenant_files.rglob("*.png"))
    assert api.delete(f"/v1/avatars/{aid}").status_code == 204
    assert api.get(f"/v1/avatars/{aid}").status_code == 404
    assert not any(tenant_files.rglob("*.png")) and not any((api.service.files.root / "avatars").rglob("*.png"))


def test_health_says_which_database_and_backend(make_api):
    h = make_api(workers=0).client.get("/healthz").json()
    assert h == {"ok": True, "database": "sqlite", "backend": "local", "job_threads": 0, "live_sessions": 0}


@pytest.mark.slow
def test_optional_training_puts_the_persons_mouth_model_into_the_avatar(make_api, portrait_png):
    pytest.importorskip("torch", reason="training needs torch: pip install torch==2.13.0 'dhsdk[train]'")
    api = make_api()
    r = api.post("/v1/avatars", files={"file": ("p.png", portrait_png.read_bytes(), "image/png")},
                 data={"train": '{"mouth": "lite", "steps": 3}'})
    assert r.status_code == 202, r.text
    job = wait_job(api, r.json()["job"]["id"], timeout=300)
    assert job["state"] == "succeeded", job
    a = api.get(f"/v1/avatars/{r.json()['avatar']['id']}").json()
    assert a["state"] == "ready" and a["info"]["mouth_model"] == "mouth_lite.onnx"
    assert job["result"]["training"]["mouth"]["steps"] == 3
    assert any(line["message"].startswith("mouth model mouth_lite.onnx: ") for line in job["log"])
    bad = api.post("/v1/avatars", files={"file": ("p.png", portrait_png.read_bytes(), "image/png")},
                   data={"train": '{"mouth": "huge"}'})
    assert bad.status_code == 422 and "train must be JSON" in bad.json()["detail"]


def test_a2k_adaptation_needs_a_video_with_speech(make_api, portrait_png):
    api = make_api(workers=0)
    r = api.post("/v1/avatars", files={"file": ("p.png", portrait_png.read_bytes(), "image/png")},
                 data={"train": '{"a2k": true}'})
    assert r.status_code == 422 and "video with sound" in r.json()["detail"]
    assert not any((api.service.files.root / "files").rglob("*.png"))   # the refused upload is not kept
