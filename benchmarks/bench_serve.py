"""``dhsdk serve`` under load, on this machine: read-endpoint latency with 50 concurrent
clients, job throughput, live-session start time.

A real server process (``python -m dhsdk.cli serve``, SQLite in a temporary data directory, or
``--db URL``) with a photo avatar (the bundled default's portrait). Measures, one JSON line
each (through the shared timing helper):

- ``read``: p50/p95 per read endpoint (``GET /v1/avatars``, ``/v1/avatars/{id}``,
  ``/v1/jobs/{id}``, ``/v1/renders``) with ``--clients`` concurrent clients, each request
  authenticated and rate-limited as in production (the limit raised out of the way);
  same-run baseline: ``GET /healthz`` (the framework and one database round trip, no token).
- ``jobs``: ``--renders`` short text renders queued at once -> jobs per minute, and the mean
  wall time of one; same-run baseline: the same render through ``Avatar.render`` in this
  process (no queue, no HTTP), so the ratio is the service's overhead.
- ``live_start``: ``POST /v1/live`` (browser sink) -> 201, and -> the first metrics event with
  frames; ``--live`` sessions one after another, each stopped after.

Usage: ``python benchmarks/bench_serve.py [--clients 50] [--requests 2000] [--renders 4] [--live 3]``
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "serve"))
from serve_helpers import ServeProcess  # noqa: E402  (the tests' real-process server)
from timing import emit  # noqa: E402

from dhsdk.bench.timing import summarize  # noqa: E402

TEXT = "Welcome back! This dress is only nineteen ninety-nine today."


def wait_done(client, job_url: str, timeout: float = 600.0) -> dict:
    deadline = time.monotonic() + timeout
    while (job := client.get(job_url).json())["state"] not in ("succeeded", "failed", "cancelled"):
        if time.monotonic() > deadline:
            raise TimeoutError(job)
        time.sleep(0.2)
    if job["state"] != "succeeded":
        raise RuntimeError(f"job failed: {job['error']}")
    return job


async def hammer(base: str, token: str, paths: list[str], clients: int, requests: int) -> dict[str, list[float]]:
    """``requests`` GETs spread over ``paths`` from ``clients`` concurrent connections; ms per path."""
    import httpx

    times: dict[str, list[float]] = {p: [] for p in paths}
    todo = [paths[i % len(paths)] for i in range(requests)]
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {token}"}, limits=limits,
                                 timeout=60) as c:
        async def client() -> None:
            while todo:
                path = todo.pop()
                t = time.perf_counter()
                r = await c.get(path)
                times[path].append((time.perf_counter() - t) * 1e3)
                if r.status_code != 200:
                    raise RuntimeError(f"GET {path}: {r.status_code} {r.text[:200]}")

        await asyncio.gather(*(client() for _ in range(clients)))
    return times


def live_start(server: ServeProcess, client, token: str, avatar: str) -> tuple[float, float]:
    """(ms to 201, ms to the first metrics event with frames) of one session, then stopped."""
    from websockets.sync.client import connect

    with connect(server.url.replace("http", "ws") + "/v1/events") as ws:
        ws.send(json.dumps({"token": token}))
        json.loads(ws.recv())
        t0 = time.perf_counter()
        r = client.post("/v1/live", json={"avatar": avatar, "sink": "browser", "host": {"loops": 0}})
        created = (time.perf_counter() - t0) * 1e3
        if r.status_code != 201:
            raise RuntimeError(r.text)
        sid = r.json()["id"]
        while True:
            e = json.loads(ws.recv(timeout=30))
            if e.get("subject_id") == sid and e["type"] == "live.metrics" and e["data"]["frames"] > 0:
                first = (time.perf_counter() - t0) * 1e3
                break
    client.delete(f"/v1/live/{sid}")
    return created, first


def main() -> int:
    import httpx

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--renders", type=int, default=4)
    ap.add_argument("--live", type=int, default=3)
    ap.add_argument("--db", help="database URL (default: SQLite in the temporary data directory)")
    args = ap.parse_args()

    import cv2

    from dhsdk.avatar.default import portrait

    with tempfile.TemporaryDirectory(prefix="bench-serve-") as tmp:
        photo = Path(tmp) / "portrait.png"
        cv2.imwrite(str(photo), portrait()[..., ::-1])
        server = ServeProcess(Path(tmp) / "data", db=args.db)
        token = server.cli("token", "create", "--tenant", "bench").strip()
        server.start()
        config = {"bench": "serve", "database": "postgresql" if args.db else "sqlite"}
        try:
            with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as c:
                up = c.post("/v1/avatars", files={"file": ("portrait.png", photo.read_bytes(), "image/png")}).json()
                job = wait_done(c, up["job"]["url"])
                avatar = up["avatar"]["id"]

                paths = ["/v1/avatars", f"/v1/avatars/{avatar}", f"/v1/jobs/{job['id']}", "/v1/renders", "/healthz"]
                asyncio.run(hammer(server.url, token, paths, args.clients, 200))           # warm-up
                times = asyncio.run(hammer(server.url, token, paths, args.clients, args.requests))
                base = summarize(times.pop("/healthz"))
                for path, samples in times.items():
                    s = summarize(samples)
                    emit({**config, "measure": "read", "path": path, "clients": args.clients, **s,
                          "baseline": "GET /healthz", "baseline_median_ms": base["median_ms"],
                          "baseline_p95_ms": base["p95_ms"]}, with_machine=path == "/v1/avatars")

                t0 = time.perf_counter()
                queued = [c.post("/v1/renders", json={"avatar": avatar, "text": TEXT}).json()
                          for _ in range(args.renders)]
                done = [wait_done(c, q["job"]["url"]) for q in queued]
                wall = time.perf_counter() - t0
                from dhsdk.avatar import Avatar

                local = Avatar.load(next((Path(tmp) / "data" / "avatars").glob(f"*/{avatar}")))   # the same bundle
                t1 = time.perf_counter()
                local.render(text=TEXT, out=str(Path(tmp) / "direct.mp4"), show_progress=False)
                direct = time.perf_counter() - t1
                emit({**config, "measure": "jobs", "renders": args.renders, "wall_s": wall,
                      "jobs_per_min": 60.0 * args.renders / wall, "render_s": wall / args.renders,
                      "speech_s": done[0]["result"]["duration"], "baseline": "Avatar.render in process",
                      "baseline_render_s": direct, "overhead": (wall / args.renders) / direct}, with_machine=False)

                starts = [live_start(server, c, token, avatar) for _ in range(args.live)]
                created = summarize([s[0] for s in starts])
                first = summarize([s[1] for s in starts])
                emit({**config, "measure": "live_start", "sessions": args.live, "created_p50_ms": created["median_ms"],
                      "created_max_ms": created["max_ms"], "first_frames_p50_ms": first["median_ms"],
                      "first_frames_max_ms": first["max_ms"]}, with_machine=False)
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
