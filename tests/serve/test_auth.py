"""Bearer tokens and tenants: tokens are stored only as hashes, a missing or revoked token is
401, one tenant's avatars, jobs and renders do not exist for another (404), and each token
has its own rate limit (429 with Retry-After)."""
from __future__ import annotations

import hashlib
import time

from dhsdk.serve.auth import PREFIX, RateLimiter, create_token, hash_token


def test_tokens_are_random_and_stored_only_as_their_sha256(make_api):
    api = make_api()
    store = api.service.store
    token, row = create_token(store, "acme", "ci")
    assert token.startswith(PREFIX) and len(token) >= 40 and token != api.token
    stored = store.get("tokens", row["id"])
    assert stored["hash"] == hashlib.sha256(token.encode()).hexdigest() == hash_token(token)
    with store.engine.connect() as c:   # every value of every table
        dump = "".join(str(v) for t in store.t.values() for r in c.execute(store.sa.select(t)) for v in r)
    assert token not in dump and api.token not in dump
    assert store.tenant("acme")["id"] == stored["tenant_id"]   # the same tenant, not a new one


def test_no_token_bad_token_and_revoked_token_are_401(make_api):
    api = make_api()
    assert api.get("/v1/avatars", token=None).status_code == 401
    r = api.get("/v1/avatars", token="dhs_not-a-real-token")
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert "token create" in r.json()["detail"]
    assert api.get("/v1/avatars", headers={"Authorization": f"Basic {api.token}"}, token=None).status_code == 401
    assert api.get("/v1/avatars").status_code == 200
    token_id = api.service.store.token_by_hash(hash_token(api.token))["id"]
    api.service.store.update("tokens", token_id, revoked_at=time.time())
    time.sleep(api.config.token_cache_s)                   # lookups are remembered this long
    assert api.get("/v1/avatars").status_code == 401


def test_a_second_tenant_gets_404_for_the_first_tenants_things(shared_api):
    api = shared_api
    aid = api.avatar
    assert api.get(f"/v1/avatars/{aid}").status_code == 200
    for path in (f"/v1/avatars/{aid}", f"/v1/avatars/{aid}/review.png"):
        r = api.get(path, token=api.rival)
        assert r.status_code == 404, path
    assert api.delete(f"/v1/avatars/{aid}", token=api.rival).status_code == 404
    assert api.get("/v1/avatars", token=api.rival).json() == []
    job = api.get(f"/v1/avatars/{aid}").json()["job_id"]
    assert api.get(f"/v1/jobs/{job}", token=api.rival).status_code == 404
    assert api.post(f"/v1/jobs/{job}/cancel", token=api.rival).status_code == 404
    r = api.post("/v1/renders", token=api.rival, json={"avatar": aid, "text": "hi"})
    assert r.status_code == 404
    r = api.post("/v1/live", token=api.rival, json={"avatar": aid, "sink": "browser"})
    assert r.status_code == 404
    assert api.get(f"/v1/avatars/{aid}").json()["state"] == "ready"   # untouched by the rival


def test_each_token_has_its_own_rate_limit(make_api):
    api = make_api(rate_per_s=2, burst=3)
    codes = [api.get("/v1/avatars").status_code for _ in range(5)]
    assert codes[:3] == [200] * 3 and codes[3:] == [429, 429]
    r = api.get("/v1/avatars")
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    assert api.get("/v1/avatars", token=api.rival).status_code == 200   # another token, another bucket
    time.sleep(0.6)                                                      # 2/s refills one request
    assert api.get("/v1/avatars").status_code == 200


def test_rate_limiter_refills_at_its_rate():
    limiter = RateLimiter(rate=10, burst=2)
    assert limiter.take("a") == 0 and limiter.take("a") == 0
    wait = limiter.take("a")
    assert 0 < wait <= 0.1 + 1e-6
    time.sleep(wait + 0.01)
    assert limiter.take("a") == 0
    assert RateLimiter(rate=0, burst=1).take("x") == 0   # 0 = no limit
