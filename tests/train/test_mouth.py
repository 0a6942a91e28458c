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


def test_int8_twin_is_kept_only_when_it_keeps_the_quality(clip, tmp_path, monkeypatch):
    """The int8 model runs on ONNX Runtime within a fraction of a dB of the float32 one on the
    held-out frames and is kept; with a tolerance nothing can meet it is deleted, not used."""
    pytest.importorskip("onnx", reason="int8 quantisation needs onnx: pip install 'dhsdk[train]'")
    from dhsdk.models.inpaint import export_onnx
    from dhsdk.train import mouth

    crops, lips, mask = clip
    opts = TrainOptions(steps=30, **OPTS)
    model, metrics = train(crops, lips, mask, opts)
    path = tmp_path / "mouth_lite.onnx"
    export_onnx(model, path)
    int8, scores = mouth.add_int8(path, crops, lips, mask, opts)
    assert int8 == tmp_path / "mouth_lite.int8.onnx" and int8.is_file()
    assert abs(scores["fp32_ort_psnr"] - metrics["val_psnr"]) < 0.05      # ORT reproduces torch's score
    assert scores["fp32_ort_psnr"] - mouth.INT8_MAX_DROP_DB <= scores["int8_psnr"] < scores["fp32_ort_psnr"] + 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mouth_lite.int8.onnx", "mouth_lite.onnx"]
    monkeypatch.setattr(mouth, "INT8_MAX_DROP_DB", -100.0)
    assert mouth.add_int8(path, crops, lips, mask, opts)[0] is None
    assert not int8.exists()
