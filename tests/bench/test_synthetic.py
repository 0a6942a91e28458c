"""The synthetic avatar is geometrically consistent, as LipSync assumes of a real one."""
from __future__ import annotations

import numpy as np

from dhsdk.bench.synthetic import SyntheticAvatar
from dhsdk.geometry import apply_affine, compose_affine


def test_crop_affine_and_canonical_maps_agree():
    av = SyntheticAvatar(320, 576, frames=8)
    s = 128
    crop_to_frame = av.crop_affine(s)
    to_crop = av.canonical_to_crop(s)
    for i in range(av.num_frames):
        # canonical -> crop -> frame must equal canonical -> frame
        via_crop = compose_affine(crop_to_frame[i], to_crop)
        lips_img = apply_affine(via_crop, av.neutral_lips)
        np.testing.assert_allclose(lips_img, av.lips[i], atol=1e-2)
        np.testing.assert_allclose(apply_affine(av.to_canonical[i], av.lips[i]), av.neutral_lips, atol=1e-4)
    lips_crop = apply_affine(to_crop, av.neutral_lips)
    assert lips_crop.min() > 0 and lips_crop.max() < s - 1
    mask = av.mouth_mask(s)
    assert mask[tuple(np.round(lips_crop[5, ::-1]).astype(int))] > 0.5  # the mouth is re-rendered
    assert mask[0, 0] == 0.0


def test_idle_loop_ping_pongs_within_the_frames():
    av = SyntheticAvatar(128, 256, frames=5)
    seq = [av.idle_index(k) for k in range(20)]
    assert min(seq) == 0 and max(seq) == 4
    assert all(abs(a - b) <= 1 for a, b in zip(seq, seq[1:]))
    assert av.frame(3).shape == (256, 128, 3)
