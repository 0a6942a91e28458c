"""Shared pytest configuration: the ``gpu`` marker skips with a reason where CUDA is absent,
and paths to the optional real material in ../shared/data."""
from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    gpu_items = [item for item in items if "gpu" in item.keywords]
    if not gpu_items:
        return
    from dhsdk.device import cuda_problem

    problem = cuda_problem()
    if problem:
        skip = pytest.mark.skip(reason=f"needs a CUDA GPU: {problem}")
        for item in gpu_items:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data (real speech and presenter videos); skips when absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real material not present at {SHARED_DATA} (see ../shared/data/README.md)")
    return SHARED_DATA
