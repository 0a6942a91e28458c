"""UNetRenderer: ORT output matches eager torch, blend leaves the outside untouched, batch ==
single, smoothing holds a still mouth, bad inputs raise clear errors."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from dhsdk.errors import InputError
from dhsdk.models.condition import render_condition
from dhsdk.models.inpaint import InpaintUNet, export_onnx
from dhsdk.render.unet import UNetRenderer

S = 128


@pytest.fixture(scope="module")
def model_and_path(tmp_path_factory):
    torch.manual_seed(0)
    model = InpaintUNet("lite").eval()
    path = tmp_path_factory.mktemp("unet") / "lite.onnx"
    export_onnx(model, path)
    return model, path


def _lips(open_px: float = 5.0) -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, 20, endpoint=False)
    return np.vstack([np.c_[64 + 30 * np.cos(t), 80 + 12 * np.sin(t)],
                      np.c_[64 + 20 * np.cos(t), 80 + open_px * np.sin(t)]]).astype(np.float32)


def _scene(seed=0):
    rng = np.random.default_rng(seed)
    crop = rng.integers(0, 256, (S, S, 3), dtype=np.uint8)
    ref = rng.integers(0, 256, (S, S, 3), dtype=np.uint8)
    mask = np.zeros((S, S), np.float32)
    mask[50:110, 20:108] = 1.0
    return crop, ref, mask


def test_matches_torch_and_keeps_outside(model_and_path):
    model, path = model_and_path
    crop, ref, mask = _scene()
    out = UNetRenderer(path, ref, mask, color_match=False).render(crop, _lips(), _lips(8))
    assert out.shape == crop.shape and out.dtype == np.uint8
    np.testing.assert_array_equal(out[mask == 0], crop[mask == 0])
    x = torch.from_numpy(crop).permute(2, 0, 1)[None].float() / 255
    m = torch.from_numpy(mask)[None, None]
    with torch.no_grad():
        pred = model(torch.cat([x * (1 - m), m], 1), torch.from_numpy(ref).permute(2, 0, 1)[None].float() / 255,
                     torch.from_numpy(render_condition(_lips(8), S))[None, None])
    expected = np.rint(pred[0].permute(1, 2, 0).numpy() * 255)
    assert np.abs(out[mask == 1].astype(float) - expected[mask == 1]).max() <= 1.0


def test_batch_equals_single_and_smoothing(model_and_path):
    _, path = model_and_path
    crop, ref, mask = _scene()
    r = UNetRenderer(path, ref, mask)
    crops = np.stack([crop, crop[::-1].copy()])
    lips = np.stack([_lips(3), _lips(9)])
    batch = r.render_batch(crops, lips, lips)
    for i in range(2):
        assert np.abs(batch[i].astype(int) - r.render(crops[i], lips[i], lips[i])).max() <= 1
    smooth = UNetRenderer(path, ref, mask, smoothing=0.8)
    first = smooth.render(crop, _lips(), _lips(3))
    jumped = smooth.render(crop, _lips(), _lips(9))
    unsmoothed = r.render(crop, _lips(), _lips(9))
    # a jump in the target is damped: the smoothed frame stays closer to the previous one
    assert np.abs(jumped.astype(int) - first).mean() < np.abs(unsmoothed.astype(int) - first).mean()


def test_bad_inputs(model_and_path):
    _, path = model_and_path
    crop, ref, mask = _scene()
    r = UNetRenderer(path, ref, mask)
    with pytest.raises(InputError, match=r"\(128, 128, 3\)"):
        r.render(np.zeros((96, 96, 3), np.uint8), _lips(), _lips())
    with pytest.raises(InputError, match="NaN"):
        r.render(crop, _lips(), np.full((40, 2), np.nan, np.float32))
    with pytest.raises(InputError, match="far outside"):
        r.render(crop, _lips(), _lips() * 10)
    with pytest.raises(InputError, match="mask"):
        UNetRenderer(path, ref, np.zeros((64, 64), np.float32))
