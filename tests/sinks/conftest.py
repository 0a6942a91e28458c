"""Fixtures of the sink tests: a real nginx-rtmp ingest on loopback."""
from __future__ import annotations

import shutil

import pytest

from sink_helpers import RTMP_MODULE, Nginx


@pytest.fixture
def nginx(tmp_path):
    if shutil.which("nginx") is None or not RTMP_MODULE.exists():
        pytest.skip("needs nginx with the rtmp module (Debian nginx + libnginx-mod-rtmp): "
                    "bash scripts/install-system-deps.sh")
    server = Nginx(tmp_path / "nginx")
    server.start()
    yield server
    server.stop()
