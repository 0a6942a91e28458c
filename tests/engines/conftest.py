"""Fixtures of the engine tests."""
from __future__ import annotations

from pathlib import Path

import pytest
from tiny_models import write_tiny_onnx


@pytest.fixture
def tiny_onnx(tmp_path: Path) -> Path:
    return write_tiny_onnx(tmp_path / "tiny.onnx")
