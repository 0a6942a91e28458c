"""Batched kernels (dhsdk.kernels.*_batch): N frames in one call equal N single calls bit for bit
on the host; the emulated table launches (the CUDA batch launchers' grid and item selection, run
on the host) equal the OpenMP batch, across several parameter tables; the device dispatch on the
numpy-backed GPU stand-in of tests/cuda/fake_gpu.py equals the host; bad batches name the item."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from dhsdk import _C, kernels

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cuda"))
from fake_gpu import FakeArray, install  # noqa: E402

RNG = np.random.default_rng(7)
# More items than one composite/crop parameter table holds (3840 bytes / ~128 per item), so
# the emulated launches span two tables.
N_MANY = 35


def _frames(n: int, channels: int = 3) -> list[np.ndarray]:
    """Frames of different (even) sizes."""
    return [RNG.integers(0, 256, (40 + 2 * (i % 5), 52 + 4 * (i % 3), channels), dtype=np.uint8) for i in range(n)]


def _affines(n: int, size: int) -> np.ndarray:
    """Crop -> frame maps, rotated and scaled differently per item; the last reaches past the edge."""
    out = []
    for i in range(n):
        ang, scale = 0.1 * (i % 7) - 0.3, 1.2 + 0.1 * (i % 4)
        c, s = scale * np.cos(ang), scale * np.sin(ang)
        out.append([[c, -s, 6.0 + (i % 9)], [s, c, 4.0 + (i % 5)]])
    out[-1][0][2] = 40.0  # half outside the frame
    return np.array(out)


def _crops(n: int, size: int, dtype) -> np.ndarray:
    c = RNG.integers(0, 256, (n, size, size, 3)).astype(np.uint8)
    return c if dtype == np.uint8 else (c / 255.0).astype(dtype)


@pytest.mark.parametrize("crop_dtype", [np.uint8, np.float32, np.float16])
@pytest.mark.parametrize("masks", ["none", "shared", "each"])
@pytest.mark.parametrize("channels", [3, 4])
def test_composite_batch_equals_single_calls(crop_dtype, masks, channels):
    n, size = 6, 13
    frames, crops, affines = _frames(n, channels), _crops(n, size, crop_dtype), _affines(n, size)
    shared = RNG.random((size, size)).astype(np.float32)
    each = [None if i == 2 else RNG.random((size, size)).astype(np.float32) for i in range(n)]
    arg = {"none": None, "shared": shared, "each": each}[masks]
    expected, rois = [f.copy() for f in frames], []
    for i in range(n):
        mask = {"none": None, "shared": shared, "each": each[i]}[masks]
        rois.append(kernels.composite(expected[i], crops[i], affines[i], mask))
    got = kernels.composite_batch(frames, crops, affines, arg)
    assert got.dtype == np.int32 and got.tolist() == [list(r) for r in rois]
    for f, e in zip(frames, expected):
        np.testing.assert_array_equal(f, e)


def test_composite_batch_of_a_stacked_array_and_many_tables():
    frames = np.stack([RNG.integers(0, 256, (30, 40, 3), dtype=np.uint8) for _ in range(N_MANY)])
    crops, affines = _crops(N_MANY, 9, np.float16), _affines(N_MANY, 9)
    masks = RNG.random((N_MANY, 9, 9)).astype(np.float32)
    cpu, emu = frames.copy(), frames.copy()
    rois = kernels.composite_batch(cpu, crops, affines, masks)
    assert np.array_equal(rois, _C.emulated.composite_batch(list(emu), list(crops), affines, list(masks)))
    np.testing.assert_array_equal(cpu, emu)
    single = frames.copy()
    for i in range(N_MANY):
        kernels.composite(single[i], crops[i], affines[i], masks[i])
    np.testing.assert_array_equal(cpu, single)


@pytest.mark.parametrize("out,layout", [("u8", "nchw"), ("f32", "nchw"), ("f16", "nhwc")])
def test_crop_batch_equals_single_calls(out, layout):
    frames, size = _frames(N_MANY, 4), 11
    affines = _affines(N_MANY, size).astype(np.float32)
    mask = (RNG.random((size, size)) > 0.7).astype(np.float32)
    kw = dict(out=out, layout=layout, norm="imagenet", mask=mask, border_value=30.0)
    got = kernels.crop_batch(frames, affines, size, **kw)
    expected = np.concatenate([kernels.crop(f, a, size, **kw) for f, a in zip(frames, affines)])
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)
    args = (size, {"u8": 0, "f32": 1, "f16": 2}[out], layout == "nchw", (0.485, 0.456, 0.406),
            (0.229, 0.224, 0.225), 0, 30.0, mask)
    np.testing.assert_array_equal(_C.emulated.crop_batch(frames, affines, *args), got)


@pytest.mark.parametrize("fn,nv12", [(kernels.rgb_to_nv12_batch, True), (kernels.rgb_to_i420_batch, False)])
def test_yuv_batch_equals_single_calls(fn, nv12):
    frames = _frames(N_MANY, 3) + _frames(3, 4)
    got = fn(frames, bgr=True, standard=709)
    single = kernels.rgb_to_nv12 if nv12 else kernels.rgb_to_i420
    assert len(got) == len(frames)
    for g, f in zip(got, frames):
        np.testing.assert_array_equal(g, single(f, bgr=True, standard=709))
    for g, e in zip(got, _C.emulated.rgb_to_yuv_batch(frames, nv12, True, 709)):
        np.testing.assert_array_equal(g, e)
    stacked = np.stack([f[:40, :52, :3] for f in frames[:4]])
    out = fn(stacked)
    assert out.shape == (4, 60, 52)
    np.testing.assert_array_equal(out[1], single(stacked[1]))


@pytest.mark.parametrize("call,match", [
    (lambda f, c, a: kernels.composite_batch(f, c[:2], a), r"crops must hold 3 items, got 2"),
    (lambda f, c, a: kernels.composite_batch(f, c, a[:2]), r"affines must be \(N, 2, 3\) = \(3, 2, 3\)"),
    (lambda f, c, a: kernels.composite_batch([f[0], f[0], f[1]], c, a), "same frame twice"),
    (lambda f, c, a: kernels.composite_batch([f[0], f[1], f[2][:, :, :2]], c, a),
     r"frames\[2\] must be H x W x 3 or H x W x 4, got shape \(44, 60, 2\)"),
    (lambda f, c, a: kernels.composite_batch(f, c, a, [None, np.ones((4, 4), np.float32), None]),
     r"mask must be S x S = \(13, 13\) float32, got shape \(4, 4\)"),
    (lambda f, c, a: kernels.composite_batch(f, c, a + [[0, 0, 500], [0, 0, 0]]),
     r"affine maps no pixel of the crops\[0\]"),
    (lambda f, c, a: kernels.crop_batch(f, a[:1].astype(np.float32), 8), r"affines must be \(N, 2, 3\)"),
    (lambda f, c, a: kernels.rgb_to_nv12_batch([f[0], f[1][:5]]), r"frames\[1\] height and width must be even"),
    (lambda f, c, a: kernels.rgb_to_nv12_batch([]), "frames must hold at least 1 items, got 0"),
    (lambda f, c, a: kernels.rgb_to_nv12_batch(f[0]), r"frames must be a list .* \(4 dimensions\), got shape"),
    (lambda f, c, a: kernels.rgb_to_nv12_batch(iter(f)), "frames must be a list of arrays or one stacked array"),
])
def test_bad_batches_name_the_item(call, match):
    frames, crops, affines = _frames(3), _crops(3, 13, np.uint8), _affines(3, 13)
    with pytest.raises(ValueError, match=match):
        call(frames, crops, affines)


def test_batches_on_the_device_equal_the_host(monkeypatch):
    """Lists and stacked arrays of (stand-in) CUDA arrays go through the cuda_*_batch launchers
    with one tuple per item, on the caller's stream, and give the host results."""
    cp, ext = install(monkeypatch)
    frames, crops, affines = _frames(4), _crops(4, 13, np.float16), _affines(4, 13)
    masks = [RNG.random((13, 13)).astype(np.float32) for _ in range(4)]
    host = [f.copy() for f in frames]
    rois = kernels.composite_batch(host, crops, affines, masks)
    dev = [FakeArray(f.copy()) for f in frames]
    d_rois = kernels.composite_batch(dev, [FakeArray(c) for c in crops], affines, [FakeArray(m) for m in masks],
                                     stream=4321)
    assert np.array_equal(d_rois, rois)
    for d, h in zip(dev, host):
        np.testing.assert_array_equal(d.a, h)
    stacked = np.ascontiguousarray(np.stack([f[:40, :52] for f in frames]))
    d_crops = kernels.crop_batch(FakeArray(stacked), affines.astype(np.float32), 13, out="f16", stream=4321)
    np.testing.assert_array_equal(d_crops.a, kernels.crop_batch(stacked, affines.astype(np.float32), 13, out="f16"))
    d_nv12 = kernels.rgb_to_nv12_batch(FakeArray(stacked), stream=4321)
    np.testing.assert_array_equal(d_nv12.a, kernels.rgb_to_nv12_batch(stacked))
    d_list = kernels.rgb_to_i420_batch([FakeArray(f) for f in frames], stream=4321)
    for d, f in zip(d_list, frames):
        np.testing.assert_array_equal(d.a, kernels.rgb_to_i420(f))
    assert ext.streams == [4321] * 4
