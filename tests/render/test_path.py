"""make_frame_path's crop size: "auto" renders the mouth at the size it is shown (a multiple of 32
just above its on-screen side, within [128, 256]), which LipSync uses by default, and the frames
it gives are the 256 px frames within two grey levels on average where they differ."""
from __future__ import annotations

import numpy as np
import pytest

from dhsdk.bench.synthetic import SyntheticAvatar
from dhsdk.render.path import CROP_MAX, CROP_MIN, CROP_STEP, auto_crop_size


@pytest.mark.parametrize("size", [(160, 224), (480, 854), (720, 1280), (1080, 1920), (1440, 2560)])
def test_auto_crop_size_is_the_shown_size_rounded_up(size):
    avatar = SyntheticAvatar(*size, frames=4)
    a = avatar.crop_affine(CROP_MAX)
    shown = float(np.median(np.hypot(a[:, 0, 0], a[:, 1, 0]))) * CROP_MAX
    s = auto_crop_size(avatar)
    assert s % CROP_STEP == 0 and CROP_MIN <= s <= CROP_MAX
    if CROP_MIN < s < CROP_MAX:
        assert shown <= s < shown + CROP_STEP
    else:
        assert (s == CROP_MIN and shown <= CROP_MIN) or (s == CROP_MAX and shown > CROP_MAX - CROP_STEP)


def test_lipsync_renders_at_the_shown_size_by_default_and_looks_the_same():
    from dhsdk.pipeline.lipsync import LipSync

    avatar = SyntheticAvatar(720, 1280, frames=4)
    auto, full = LipSync(avatar, mouth="warp", device="cpu"), LipSync(avatar, mouth="warp", device="cpu", crop_size=256)
    assert auto.crop_size == auto_crop_size(avatar) < 256 and full.crop_size == 256
    for k in range(4):
        delta = np.zeros((40, 2), np.float32)
        delta[:, 1] = 0.08 * np.sign(np.arange(40) % 20 - 9.5)   # the mouth opened
        lips = auto.target_lips(delta, 1.0, k)
        a, b = auto.frame(k, lips).astype(int), full.frame(k, lips).astype(int)
        assert (np.abs(a - avatar.frame(k)).max(-1) > 20).sum() > 500   # the mouth did change
        diff = np.abs(a - b)
        changed = diff.max(-1) > 0
        # resampling moves sharp edges (lips, teeth) by a fraction of a pixel; a misplaced mouth would
        # differ by tens of levels on average
        assert diff[changed].mean() < 2.0 and np.percentile(diff[changed], 99) <= 32
