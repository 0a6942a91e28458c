"""Session fixtures of the swap and drive tests: the astronaut's face, a generated stock clip of a
different face (swaying, blinking, a cheek covered for a while), its swap and its avatar, each
made once, and the default avatar built into a temporary DHSDK_CACHE."""
from __future__ import annotations

import numpy as np
import pytest

import swap_material as sm

SHORT_SIDE = 384   # the generated 288x384 stock is swapped at 384x512 (not the 720p default: test time)


@pytest.fixture(scope="session")
def photo_face():
    """The astronaut's face prepared for pasting (:func:`dhsdk.swap.source.face_from_photo`)."""
    from dhsdk.swap.source import face_from_photo

    return face_from_photo(np.array(sm.gen.astronaut()), name="astronaut")


@pytest.fixture(scope="session")
def stock(tmp_path_factory) -> sm.StockClip:
    """The generated stock clip (3.2 s, 288x384, 25 fps)."""
    return sm.stock_clip(tmp_path_factory.mktemp("stock") / "stock.mp4")


@pytest.fixture(scope="session")
def swap_run(photo_face, stock, tmp_path_factory):
    """:func:`dhsdk.swap.video.swap_video` of the astronaut onto the stock clip."""
    from dhsdk.swap.video import swap_video

    return swap_video(photo_face, stock.path, tmp_path_factory.mktemp("swap") / "swapped.mp4", show_progress=False,
                      short_side=SHORT_SIDE)


@pytest.fixture(scope="session")
def swap_avatar(photo_face, stock, tmp_path_factory):
    """(Avatar, ReviewReport) of :func:`dhsdk.swap.create.create_swap_avatar` on the stock clip."""
    from dhsdk.swap.create import create_swap_avatar

    return create_swap_avatar(photo_face, stock.path, tmp_path_factory.mktemp("bundles") / "swapped",
                              show_progress=False, short_side=SHORT_SIDE)


@pytest.fixture(scope="session")
def default_avatar(tmp_path_factory):
    """Avatar.default(), built once into a temporary DHSDK_CACHE (never ~/.cache)."""
    from dhsdk.avatar import Avatar

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DHSDK_CACHE", str(tmp_path_factory.mktemp("dhsdk-cache")))
        return Avatar.default()
