"""Fixtures of the service tests: a photo of a real face as material (the astronaut: a photo
avatar builds in seconds), in-process services on SQLite or PostgreSQL with two tenants, a
session-wide service with a ready avatar, PostgreSQL and (the sink tests') nginx-rtmp as user
processes."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the service needs its extra: pip install 'dhsdk[serve]'")
pytest.importorskip("sqlalchemy", reason="the service needs its extra: pip install 'dhsdk[serve]'")

SINKS = Path(__file__).resolve().parents[1] / "sinks"
sys.path.insert(0, str(SINKS))  # the sink tests' helpers: nginx-rtmp and an RTMP reader

from postgres import Postgres, postgres_problem  # noqa: E402
from serve_helpers import Api, wait_job  # noqa: E402


def _sink_fixture(name: str):
    """A fixture of the sink tests' conftest (nginx-rtmp on loopback), shared rather than copied."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("sinks_conftest", SINKS / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)


nginx = _sink_fixture("nginx")


@pytest.fixture(scope="session")
def portrait_png(tmp_path_factory) -> Path:
    """The default avatar's photo (a real face, 512x512) as a PNG upload."""
    import cv2

    from dhsdk.avatar.default import portrait

    path = tmp_path_factory.mktemp("material") / "portrait.png"
    cv2.imwrite(str(path), portrait()[..., ::-1])
    return path


@pytest.fixture(scope="session")
def faceless_png(tmp_path_factory) -> Path:
    """A photo with no face in it (a gradient), which the review must reject."""
    import cv2
    import numpy as np

    path = tmp_path_factory.mktemp("material") / "wall.png"
    y, x = np.mgrid[0:480, 0:640]
    cv2.imwrite(str(path), np.stack([x * 255 // 639, y * 255 // 479, np.full_like(x, 90)], -1).astype(np.uint8))
    return path


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory):
    """A PostgreSQL server on a free loopback port for the session (skips where none is installed)."""
    problem = postgres_problem()
    if problem:
        pytest.skip(problem)
    server = Postgres()
    server.start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """A fresh, empty database: SQLite in tmp_path, or a new database on the session's PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'serve.db'}"
    return request.getfixturevalue("pg_server").new_database()


@pytest.fixture
def make_api(tmp_path):
    """``make_api(**config)``: an in-process service (TestClient) with tenants ``acme`` and
    ``rival``; closed at the end of the test."""
    made = []

    def make(**config) -> Api:
        config.setdefault("data", tmp_path / f"data{len(made)}")
        made.append(Api(**config))
        return made[-1]

    yield make
    for api in made:
        api.close()


@pytest.fixture(scope="session")
def shared_api(tmp_path_factory, portrait_png):
    """One service for the session with a ready photo avatar of tenant ``acme`` (``.avatar``)."""
    api = Api(data=tmp_path_factory.mktemp("serve-shared"))
    r = api.post("/v1/avatars", files={"file": ("astronaut.png", portrait_png.read_bytes(), "image/png")},
                 data={"name": "astronaut"})
    assert r.status_code == 202, r.text
    job = wait_job(api, r.json()["job"]["id"], timeout=120)
    assert job["state"] == "succeeded", job
    api.avatar = r.json()["avatar"]["id"]
    yield api
    api.close()
