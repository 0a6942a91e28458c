"""HostFramePath: a frame rendered in a batch equals the same frame rendered alone, bit for bit
(warp and UNet); the UNet's output does not depend on the footage's mouth; the per-base-frame
data it keeps is bounded; bad batches are refused with a clear message."""
from __future__ import annotations

import numpy as np
import pytest

from dhsdk.bench.synthetic import SyntheticAvatar
from dhsdk.errors import InputError
from dhsdk.render.geometry import MouthGeometry
from dhsdk.render.host_path import HostFramePath
from dhsdk.render.path import make_renderer


def speech_lips(avatar, n: int) -> np.ndarray:
    """(n, 40, 2) canonical target lips opening and closing."""
    lips = np.repeat(np.asarray(avatar.neutral_lips, np.float32)[None], n, 0)
    lips[:, 21:30, 1] += (0.1 * (1 - np.cos(np.arange(n) * 1.3)))[:, None]
    lips[:, 1:10, 1] += (0.1 * (1 - np.cos(np.arange(n) * 1.3)))[:, None]
    return lips


def host_path(avatar, mouth: str = "warp", size: int = 128, **kwargs) -> HostFramePath:
    renderer = make_renderer(avatar, mouth, size)
    return HostFramePath(avatar, MouthGeometry.of(avatar, renderer.crop_size), renderer, **kwargs)


@pytest.fixture(scope="module")
def unet_avatar(tmp_path_factory):
    torch = pytest.importorskip("torch")
    from dhsdk.models.inpaint import InpaintUNet, export_onnx

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("unet") / "lite.onnx"
    export_onnx(InpaintUNet("lite").eval(), path)
    return SyntheticAvatar(200, 280, frames=8, mouth_model=str(path))


@pytest.mark.parametrize("mouth", ["warp", "unet"])
def test_a_batch_equals_its_frames_rendered_one_by_one(mouth, unet_avatar):
    avatar = unet_avatar if mouth == "unet" else SyntheticAvatar(200, 280, frames=8)
    bases, lips = [3, 0, 7, 3, 5, 1], speech_lips(avatar, 6)
    batch = host_path(avatar, mouth).render(bases, lips)
    alone = host_path(avatar, mouth)
    for b, lp, got in zip(bases, lips, batch):
        np.testing.assert_array_equal(got, alone.render([b], lp[None])[0])
    assert not np.array_equal(batch[0], avatar.frame(3))       # the mouth was re-rendered


def test_a_batch_is_one_crop_call_and_one_composite_call(monkeypatch):
    """Per batch: the base frames not seen before are cropped in one call and all frames are
    composited in one call, whatever the batch size (Python cost per batch, not per frame)."""
    from dhsdk import kernels

    calls = {"crop_batch": [], "composite_batch": []}
    for name in calls:
        real = getattr(kernels, name)
        monkeypatch.setattr(kernels, name, lambda frames, *a, _real=real, _name=name, **k:
                            calls[_name].append(len(frames)) or _real(frames, *a, **k))
    avatar = SyntheticAvatar(200, 280, frames=8)
    path = host_path(avatar)
    path.render([3, 0, 7, 3, 5, 1], speech_lips(avatar, 6))
    path.render([0, 2, 3], speech_lips(avatar, 3))
    assert calls == {"crop_batch": [5, 1], "composite_batch": [6, 3]}  # base frame 2 is new in the second


def test_output_frames_are_recycled_and_out_is_rendered_into():
    avatar = SyntheticAvatar(200, 280, frames=8)
    path = host_path(avatar)
    lips = speech_lips(avatar, 4)
    first = path.render([0, 1, 2, 3], lips)
    want = [f.copy() for f in first]
    kept = first[1][10:20]                   # a view keeps its frame out of the pool
    del first
    again = path.render([0, 1, 2, 3], lips)
    assert path.frames.made == 5             # three buffers came back, the viewed one did not
    assert not any(np.shares_memory(kept, f) for f in again)
    for got, w in zip(again, want):
        np.testing.assert_array_equal(got, w)
    out = [np.zeros((280, 200, 3), np.uint8) for _ in range(2)]
    assert path.render([5, 6], lips[:2], out=out)[0] is out[0]
    np.testing.assert_array_equal(out[1], host_path(avatar).render([6], lips[1:2])[0])
    with pytest.raises(InputError, match=r"out must be 2 writable C-contiguous \(280, 200, 3\) uint8 arrays"):
        path.render([5, 6], lips[:2], out=[np.zeros((280, 200, 3), np.float32)] * 2)


def test_the_unet_never_sees_the_footage_mouth(unet_avatar):
    """Paint over the footage's mouth where the mask re-renders everything: nothing changes."""
    import cv2

    from dhsdk.geometry import apply_affine, invert_affine

    path = host_path(unet_avatar, "unet")
    g = path.geometry
    # frame pixels whose crop position is >= 4 crop pixels inside the mask's core (mask == 1):
    # every crop pixel that samples them, and the composite's mask there, is 1
    core = cv2.erode((g.mask >= 1.0).astype(np.uint8), np.ones((9, 9), np.uint8))
    ys, xs = np.mgrid[0:unet_avatar.height, 0:unet_avatar.width]
    c = np.rint(apply_affine(invert_affine(g.crop_affine[2]), np.stack([xs, ys], -1))).astype(int)
    ok = ((c >= 0) & (c < g.crop_size)).all(-1)
    paint = np.zeros(ok.shape, bool)
    paint[ok] = core[c[ok][:, 1], c[ok][:, 0]] > 0
    assert paint.sum() > 200
    painted = np.array(unet_avatar.frame(2), copy=True)
    painted[paint] = np.random.default_rng(0).integers(0, 256, (int(paint.sum()), 3))

    class Painted(SyntheticAvatar):
        def frame(self, index):
            return painted if index == 2 else super().frame(index)

    other = Painted(200, 280, frames=8, mouth_model=unet_avatar.mouth_model)
    lips = speech_lips(unet_avatar, 1)
    a, b = path.render([2], lips)[0], host_path(other, "unet").render([2], lips)[0]
    assert np.array_equal(a, b)


def test_the_kept_per_frame_data_is_bounded():
    avatar = SyntheticAvatar(200, 280, frames=8)
    path = host_path(avatar, cache_mb=2 * 128 * 128 * 3 / 2 ** 20)  # room for two crops
    path.render(list(range(8)), speech_lips(avatar, 8))
    assert len(path._sources) == 2


def test_bad_batches_are_refused():
    avatar = SyntheticAvatar(200, 280, frames=8)
    path = host_path(avatar)
    with pytest.raises(InputError, match="outside the avatar's 8 frames"):
        path.render([8], speech_lips(avatar, 1))
    with pytest.raises(InputError, match=r"needs \(2, 40, 2\)"):
        path.render([0, 1], speech_lips(avatar, 1))
    bad = speech_lips(avatar, 1)
    bad[0, 3, 0] = np.nan
    with pytest.raises(InputError, match="NaN"):
        path.render([0], bad)
    assert path.render([], np.zeros((0, 40, 2), np.float32)) == []


def test_the_cpu_runs_the_int8_twin_the_manifest_names(unet_avatar, tmp_path):
    """With ``mouth_model_int8`` named, the UNet renderer runs that model: its crops equal a
    renderer built on the int8 file, and stay within a few grey levels of the float32 ones."""
    pytest.importorskip("onnx", reason="int8 quantisation needs onnx: pip install 'dhsdk[train]'")
    from dhsdk.bench.mouth import synthetic_lips
    from dhsdk.models.inpaint import CONFIGS, IN_NAMES, example_inputs
    from dhsdk.render.unet import UNetRenderer
    from dhsdk.runtime.int8 import quantize

    int8 = tmp_path / "lite.int8.onnx"
    quantize(unet_avatar.mouth_model, int8,
             [{n: t.numpy() for n, t in zip(IN_NAMES, example_inputs(CONFIGS["lite"], batch=4))}])
    avatar = SyntheticAvatar(200, 280, frames=8, mouth_model=unet_avatar.mouth_model)
    avatar.mouth_model_int8 = str(int8)
    renderer = make_renderer(avatar, "unet")
    crops = np.random.default_rng(0).integers(0, 256, (3, 128, 128, 3), dtype=np.uint8)
    lips = np.repeat(synthetic_lips(128)[None], 3, 0)
    got = renderer.render_batch(crops, lips, lips)
    ref, _ = avatar.reference_crop(128)
    same = UNetRenderer(str(int8), ref, avatar.mouth_mask(128)).render_batch(crops, lips, lips)
    np.testing.assert_array_equal(got, same)
    fp32 = make_renderer(unet_avatar, "unet").render_batch(crops, lips, lips)
    diff = np.abs(got.astype(int) - fp32)
    assert diff.max() <= 12 and diff.mean() < 1.5 and diff.any()
