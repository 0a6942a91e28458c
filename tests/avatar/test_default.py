"""The default avatar: the astronaut prepared as a presenter shot, built once into
$DHSDK_CACHE (a temporary one here), keyed by schema and recipe, reused afterwards."""
from __future__ import annotations

import numpy as np
import pytest

from dhsdk.avatar import default
from dhsdk.avatar.bundle import SCHEMA_VERSION

pytestmark = pytest.mark.slow  # the first test builds the default avatar (~7 s)


def test_portrait_is_a_presenter_shot():
    from dhsdk.avatar.face import FaceDetector

    image = default.portrait()
    assert image.shape == (1024, 768, 3) and image.dtype == np.uint8
    with FaceDetector() as det:
        (face,) = det.detect(image)
    assert 180 < face.height < 260                          # 2x the photo's 104 px face
    assert abs((face.x0 + face.x1) / 2 - 384) < 40          # centred horizontally
    assert face.y0 > 50 and face.y1 < 512                   # in the upper half


def test_built_into_the_cache_and_reused(default_avatar, cache_dir, monkeypatch):
    from dhsdk.avatar import Avatar

    target = cache_dir / "avatars" / f"default-s{SCHEMA_VERSION}-r{default.RECIPE_VERSION}"
    assert default_avatar.path == target and (target / "manifest.json").is_file()
    stamp = (target / "manifest.json").stat().st_mtime_ns
    monkeypatch.setenv("DHSDK_CACHE", str(cache_dir))
    assert default.default_avatar_dir(show_progress=False) == target
    again = Avatar.default()
    assert again.path == target and (target / "manifest.json").stat().st_mtime_ns == stamp   # not rebuilt
    assert sorted(p.name for p in (cache_dir / "avatars").iterdir()) == [".default.lock", target.name]
