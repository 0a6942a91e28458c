"""Session fixtures of the avatar tests: generated material (made once per session in a
temporary directory) and the bundles built from it.

Expensive things are built once: the moving-portrait clip, its analysis and its avatar, a
nodding clip, the
default photo's avatar (in a temporary ``DHSDK_CACHE``, never ~/.cache).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import avatar_material as gen

MOVING_SIZE = (384, 512)   # width, height of the moving-portrait clip
MOVING_SECONDS = 4.0       # above the review's 3 s duration floor
FPS = 25.0


@pytest.fixture(scope="session")
def material_dir(tmp_path_factory) -> Path:
    """Where generated material goes (one directory per session)."""
    return tmp_path_factory.mktemp("material")


@pytest.fixture(scope="session")
def moving_clip(material_dir) -> gen.Clip:
    """The astronaut swaying, leaning and nodding for 4 s at 25 fps, 384x512 H.264."""
    return gen.moving_portrait(material_dir / "moving.mp4", MOVING_SECONDS, FPS, MOVING_SIZE)


@pytest.fixture(scope="session")
def nodding_clip(material_dir) -> gen.TurningClip:
    """The astronaut nodding +-25 deg every 2 s for 4 s at 25 fps, 384x512 H.264."""
    return gen.turning_portrait(material_dir / "nod25.mp4", MOVING_SECONDS, FPS, MOVING_SIZE, pitch_deg=25.0)


@pytest.fixture(scope="session")
def moving_review(moving_clip):
    """(ReviewReport, Analysis) of the moving clip."""
    from dhsdk.avatar.create import review_material

    return review_material(moving_clip.path, show_progress=False)


@pytest.fixture(scope="session")
def moving_avatar(moving_clip, tmp_path_factory):
    """(Avatar, ReviewReport) built from the moving clip."""
    from dhsdk.avatar.create import create_avatar

    return create_avatar(moving_clip.path, tmp_path_factory.mktemp("bundles") / "moving", show_progress=False)


@pytest.fixture(scope="session")
def portrait_png(material_dir) -> Path:
    """The default avatar's photo (dhsdk.avatar.default.portrait) as a PNG."""
    from dhsdk.avatar.default import portrait

    return gen.save_image(material_dir / "portrait.png", portrait())


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    """A session DHSDK_CACHE (the tests never build into ~/.cache)."""
    return tmp_path_factory.mktemp("dhsdk-cache")


@pytest.fixture(scope="session")
def default_avatar(cache_dir):
    """Avatar.default(), built once into the session's temporary DHSDK_CACHE."""
    from dhsdk.avatar import Avatar

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DHSDK_CACHE", str(cache_dir))
        return Avatar.default()


@pytest.fixture(scope="session")
def still_photo() -> np.ndarray:
    """(512, 512, 3) the astronaut photo (read-only)."""
    return gen.astronaut()


def leftovers(out: Path) -> list[str]:
    """Names beside ``out`` that a failed creation may have left: ``out`` itself and its
    temporary siblings (``.NAME.*``)."""
    out = Path(out)
    if not out.parent.is_dir():
        return []
    return sorted(p.name for p in out.parent.iterdir() if p.name == out.name or p.name.startswith(f".{out.name}."))


@pytest.fixture
def no_leftovers():
    """Assert helper: ``no_leftovers(out)`` fails if a creation left anything at or beside ``out``."""
    def check(out: Path) -> None:
        left = leftovers(out)
        assert not left, f"a failed creation left {left} in {Path(out).parent}"

    return check

