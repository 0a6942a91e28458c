"""PostgreSQL as a user process on a free loopback port, for the service tests.

Debian's ``postgresql`` package puts the server in ``/usr/lib/postgresql/<version>/bin``.
PostgreSQL refuses to run as root, so where the tests run as root (CI) the cluster belongs to
the unprivileged ``nobody`` user, in a directory made for it under /tmp. Each test gets a
fresh database (``new_database``); the server lives for the session.
"""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

USER = "dhsdk"   # the cluster's superuser (trust authentication, loopback only)


def bindir() -> Path | None:
    """Where initdb and postgres are, or None."""
    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(d, "initdb").exists() and Path(d, "postgres").exists():
            return Path(d)
    exe = shutil.which("initdb")
    return Path(exe).resolve().parent if exe and Path(exe).resolve().with_name("postgres").exists() else None


def postgres_problem() -> str | None:
    """Why PostgreSQL cannot run here (None: it can)."""
    if bindir() is None:
        return "needs the PostgreSQL server (Debian postgresql): bash scripts/install-system-deps.sh"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "needs psycopg: pip install 'dhsdk[serve]'"
    return None


class Postgres:
    """A throw-away cluster: ``start()``, ``new_database()`` -> URL, ``stop()``."""

    def __init__(self):
        self.bin = bindir()
        self.root = Path(tempfile.mkdtemp(prefix="dhsdk-pg-"))
        self.data = self.root / "data"
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.as_user = {"user": "nobody"} if os.geteuid() == 0 else {}
        if self.as_user:
            import pwd

            self.as_user["group"] = pwd.getpwnam("nobody").pw_gid
            os.chown(self.root, pwd.getpwnam("nobody").pw_uid, self.as_user["group"])
        self.proc: subprocess.Popen | None = None
        self.count = 0

    def _run(self, *args: str) -> None:
        done = subprocess.run([str(self.bin / args[0]), *args[1:]], capture_output=True, text=True, timeout=120,
                              cwd=self.root, **self.as_user)
        if done.returncode:
            raise RuntimeError(f"{args[0]} failed: {done.stderr or done.stdout}")

    def start(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", USER, "--auth=trust", "--encoding=UTF8", "--no-sync")
        self.proc = subprocess.Popen(
            [str(self.bin / "postgres"), "-D", str(self.data), "-h", "127.0.0.1", "-p", str(self.port),
             "-k", str(self.root), "-c", "fsync=off", "-c", "max_connections=200"],
            stdout=subprocess.DEVNULL, stderr=open(self.root / "server.log", "wb"), cwd=self.root, **self.as_user)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"postgres exited: {(self.root / 'server.log').read_text()[-2000:]}")
            try:
                with self.connect("postgres"):
                    return
            except Exception:  # noqa: BLE001 - not accepting connections yet
                time.sleep(0.1)
        raise RuntimeError("postgres did not accept connections within 30 s")

    def connect(self, db: str):
        import psycopg

        return psycopg.connect(f"host=127.0.0.1 port={self.port} user={USER} dbname={db}", autocommit=True,
                               connect_timeout=5)

    def new_database(self) -> str:
        """A new empty database; returns its URL."""
        self.count += 1
        name = f"t{os.getpid()}_{self.count}"
        with self.connect("postgres") as c:
            c.execute(f"CREATE DATABASE {name}")
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()   # smart shutdown; connections of finished tests are closed
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        shutil.rmtree(self.root, ignore_errors=True)
