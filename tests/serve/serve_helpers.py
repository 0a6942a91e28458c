"""Helpers of the service tests: an in-process service with two tenants (TestClient), waiting
for jobs, and ``dhsdk serve`` as a real process on a free port."""
from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

DONE = ("succeeded", "failed", "cancelled")
REPO = Path(__file__).resolve().parents[2]


class Api:
    """A :class:`~dhsdk.serve.server.Service` behind FastAPI's TestClient; requests carry tenant
    ``acme``'s token unless ``token=`` says otherwise; ``rival`` is a second tenant."""

    def __init__(self, **config):
        from fastapi.testclient import TestClient

        from dhsdk.serve.app import create_app
        from dhsdk.serve.auth import create_token
        from dhsdk.serve.config import ServeConfig
        from dhsdk.serve.server import Service

        config.setdefault("rate_per_s", 0)
        self.config = ServeConfig(**config)
        self.service = Service(self.config)
        self.token, _ = create_token(self.service.store, "acme")
        self.rival, _ = create_token(self.service.store, "rival")
        self.app = create_app(self.service)
        self.client = TestClient(self.app, raise_server_exceptions=False)
        self.client.__enter__()
        self.avatar: str | None = None

    def request(self, method: str, path: str, token: str | None = "", **kw):
        token = self.token if token == "" else token
        headers = dict(kw.pop("headers", {}) or {})
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return self.client.request(method, path, headers=headers, **kw)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def close(self) -> None:
        self.client.__exit__(None, None, None)


def decode_mp4(data: bytes) -> tuple[int, tuple[int, int], float]:
    """(video frames, (width, height), audio seconds) of an mp4."""
    import av

    with av.open(io.BytesIO(data)) as c:
        frames = [f for f in c.decode(video=0)]
        size = (frames[0].width, frames[0].height)
    with av.open(io.BytesIO(data)) as c:
        samples = sum(f.samples for f in c.decode(audio=0))
        rate = c.streams.audio[0].rate
    return len(frames), size, samples / rate


def wait_job(api, job_id: str, timeout: float = 60.0, states=DONE) -> dict:
    """Poll ``GET /v1/jobs/{id}`` until the job is in one of ``states``; returns it."""
    deadline = time.monotonic() + timeout
    while True:
        job = api.get(f"/v1/jobs/{job_id}").json()
        if job["state"] in states or time.monotonic() > deadline:
            return job
        time.sleep(0.2)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServeProcess:
    """``python -m dhsdk.cli serve`` on a free loopback port (a real server, real HTTP)."""

    def __init__(self, data: Path, db: str | None = None, extra: tuple[str, ...] = ()):
        self.data, self.db, self.extra = Path(data), db, extra
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.log = self.data.parent / f"{self.data.name}-serve.log"

    def cli(self, *args: str) -> str:
        """Run another ``dhsdk serve`` subcommand on the same data/db; returns its stdout."""
        db = ("--db", self.db) if self.db else ()
        done = subprocess.run([sys.executable, "-m", "dhsdk.cli", "serve", *args, "--data", str(self.data), *db],
                              capture_output=True, text=True, timeout=60, env=self.env())
        assert done.returncode == 0, done.stderr
        return done.stdout

    def env(self) -> dict:
        env = dict(os.environ, DHSDK_NO_PROGRESS="1")
        env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
        return env

    def start(self, timeout: float = 60.0) -> None:
        import urllib.request

        db = ("--db", self.db) if self.db else ()
        self.proc = subprocess.Popen([sys.executable, "-m", "dhsdk.cli", "serve", "--data", str(self.data), *db,
                                      "--port", str(self.port), "--rate", "0", *self.extra],
                                     stdout=subprocess.DEVNULL, stderr=open(self.log, "ab"), env=self.env())
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"dhsdk serve exited {self.proc.returncode}: {self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"dhsdk serve did not answer within {timeout} s: {self.log.read_text()[-3000:]}")

    def kill(self, sig: int = signal.SIGKILL, timeout: float = 30.0) -> int:
        """Send ``sig`` and wait for the process to end; returns its exit status."""
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.kill(signal.SIGTERM)
