"""Per-person mouth training on a tiny synthetic clip: beats copying the reference on held-out
frames, resumes from its checkpoint, rejects crops of the wrong size."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from synthetic_clip import make_clip

from dhsdk.errors import InputError
from dhsdk.models.inpaint import load_checkpoint
from dhsdk.train.mouth import TrainOptions, train

OPTS = dict(config="lite", batch=2, val_every=10, lr=3e-3, ref_gap=4, val_frac=0.2, seed=0)


@pytest.fixture(scope="module")
def clip():
    return make_clip(128, 24)


def test_lite_beats_copying_reference_and_resumes(clip, tmp_path):
    crops, lips, mask = clip
    ckpt = tmp_path / "mouth.pt"
    torch.set_num_threads(2)
    model, metrics = train(crops, lips, mask, TrainOptions(steps=60, **OPTS), ckpt_path=ckpt)
    assert metrics["val_psnr"] > metrics["copy_ref_psnr"]
    assert load_checkpoint(ckpt, "lite")[1]["step"] == 60
    _, resumed = train(crops, lips, mask, TrainOptions(steps=61, **OPTS), ckpt_path=ckpt)
    assert resumed["steps"] == 61
    assert resumed["val_psnr"] >= metrics["val_psnr"]


def test_wrong_crop_size(clip):
    crops, lips, mask = clip
    with pytest.raises(InputError, match=r"needs \(128, 128, 3\)"):
        train(np.zeros((24, 96, 96, 3), np.uint8), lips, mask[:96, :96], TrainOptions(steps=1))
