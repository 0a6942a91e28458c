"""crop vs a float64 numpy reference, the emulated CUDA launch vs the OpenMP path, input
validation, and the CUDA path vs the CPU path (gpu marker).

Tolerances: uint8 +-1 (rounding of a float32 bilinear value); float32 1e-4 (float32 sampling
arithmetic on values up to 255, then /255); float16 2e-3 relative (half precision, 11-bit
mantissa). Samples within 1e-3 px of the frame's inside boundary are excluded (constant border
may flip between float32 and float64 there).
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dhsdk import _C, kernels
import kernel_reference as reference
from kernel_strategies import affine

NORMS = {"unit": ((0, 0, 0), (1, 1, 1)), "pm1": ((0.5,) * 3, (0.5,) * 3),
         "imagenet": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))}


def _edge(affines, size, h, w, eps=1e-3):
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float64)
    out = []
    for a in affines:
        sx = a[0, 0] * xs + a[0, 1] * ys + a[0, 2]
        sy = a[1, 0] * xs + a[1, 1] * ys + a[1, 2]
        out.append((np.abs(sx + 0.5) < eps) | (np.abs(sx - w + 0.5) < eps) | (np.abs(sy + 0.5) < eps)
                   | (np.abs(sy - h + 0.5) < eps))
    return np.stack(out)


@settings(max_examples=40, deadline=None)
@given(data=st.data(), h=st.integers(1, 40), w=st.integers(1, 40), s=st.integers(1, 20), b=st.integers(1, 3),
       channels=st.sampled_from([3, 4]), out=st.sampled_from(["u8", "f32", "f16"]),
       layout=st.sampled_from(["nchw", "nhwc"]), norm=st.sampled_from(list(NORMS)),
       border=st.sampled_from(["constant", "replicate"]), use_mask=st.booleans(), seed=st.integers(0, 2**31))
def test_crop_matches_reference(data, h, w, s, b, channels, out, layout, norm, border, use_mask, seed):
    rng = np.random.default_rng(seed)
    frame = rng.integers(0, 256, (h, w, channels), dtype=np.uint8)
    affs = np.stack([data.draw(affine(s, h, w)) for _ in range(b)]).astype(np.float32).astype(np.float64)
    mask = rng.random((s, s)).astype(np.float32) if use_mask else None
    bv = float(rng.integers(0, 256))
    raw, normed = reference.crop(frame, affs, s, *NORMS[norm], border=border, border_value=bv, mask=mask)
    got = kernels.crop(frame, affs, s, out=out, layout=layout, norm=norm, border=border, border_value=bv, mask=mask)
    keep = ~_edge(affs, s, h, w) if border == "constant" else np.ones((b, s, s), bool)
    if out == "u8":
        assert got.shape == (b, s, s, 3) and got.dtype == np.uint8
        expected = np.clip(np.floor(raw + 0.5), 0, 255)
        assert np.abs(got.astype(float) - expected)[keep].max(initial=0) <= 1
        return
    if layout == "nchw":
        assert got.shape == (b, 3, s, s)
        got = got.transpose(0, 2, 3, 1)
    assert got.dtype == (np.float32 if out == "f32" else np.float16)
    tol = 1e-4 if out == "f32" else 2e-3 * max(1.0, np.abs(normed).max())
    assert np.abs(got.astype(np.float64) - normed)[keep].max(initial=0) <= tol


@settings(max_examples=60, deadline=None)
@given(data=st.data(), h=st.integers(1, 60), w=st.integers(1, 70), s=st.integers(1, 40), b=st.integers(1, 3),
       channels=st.sampled_from([3, 4]), out=st.sampled_from([0, 1, 2]), nchw=st.booleans(),
       border=st.sampled_from([0, 1]), use_mask=st.booleans(), seed=st.integers(0, 2**31))
def test_emulated_launch_equals_cpu(data, h, w, s, b, channels, out, nchw, border, use_mask, seed):
    """The CUDA grid (32 x 8 blocks over the crop, z = batch item) run on the host writes exactly
    what the OpenMP loop writes: odd frames and crops, 1-pixel crops, affines partly or wholly
    off the frame (border pixels), every output type and layout, with and without a mask."""
    rng = np.random.default_rng(seed)
    frame = rng.integers(0, 256, (h, w, channels), dtype=np.uint8)
    affs = np.stack([data.draw(affine(s, h, w)) for _ in range(b)]).astype(np.float32)
    mask = rng.random((s, s)).astype(np.float32) if use_mask else None
    args = (frame, affs, s, out, nchw, (0.4, 0.5, 0.6), (0.2, 0.3, 0.4), border, 17.0, mask)
    np.testing.assert_array_equal(_C.crop(*args), _C.emulated.crop(*args))


def test_identity_u8_crop_is_exact():
    frame = np.random.default_rng(3).integers(0, 256, (30, 40, 3), dtype=np.uint8)
    got = kernels.crop(frame, np.array([[1, 0, 5], [0, 1, 7.0]]), 16)
    np.testing.assert_array_equal(got[0], frame[7:23, 5:21])


@pytest.mark.parametrize("kw,match", [
    (dict(frame=np.zeros((10, 10), np.uint8)), r"\(10, 10\)"),
    (dict(affines=np.zeros((2, 3, 3))), r"\(2, 3, 3\)"),
    (dict(size=0), "size must be >= 1"),
    (dict(mask=np.zeros((5, 5), np.float32)), r"\(8, 8\).*\(5, 5\)"),
])
def test_bad_inputs_raise_value_error(kw, match):
    args = dict(frame=np.zeros((10, 10, 3), np.uint8), affines=np.eye(2, 3)[None], size=8, mask=None)
    args.update(kw)
    with pytest.raises(ValueError, match=match):
        kernels.crop(args["frame"], args["affines"], args["size"], mask=args["mask"])


@pytest.mark.gpu
@settings(max_examples=40, deadline=None)
@given(data=st.data(), h=st.integers(1, 80), w=st.integers(1, 120), s=st.integers(1, 48), b=st.integers(1, 4),
       out=st.sampled_from(["u8", "f32", "f16"]), layout=st.sampled_from(["nchw", "nhwc"]),
       border=st.sampled_from(["constant", "replicate"]), use_mask=st.booleans(), seed=st.integers(0, 2**31))
def test_cuda_path_matches_cpu(data, h, w, s, b, out, layout, border, use_mask, seed):
    """The CUDA launcher through the facade on CuPy arrays vs the CPU path, same float32
    arithmetic contracted into FMAs differently: a sample position may move by an ulp of the
    coordinate (~1.5e-5 px at 200 px), times noise gradients up to 255/px, / 127.5 (pm1): ~3e-5.
    Tolerances: u8 +-1 (a .5 rounding may move), f32 1e-4, f16 1e-3 (that plus one half ulp at
    |v| <= 1, 2^-11); constant-border samples within 1e-3 px of the frame edge are excluded."""
    cp = pytest.importorskip("cupy")
    rng = np.random.default_rng(seed)
    frame = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    affs = np.stack([data.draw(affine(s, h, w)) for _ in range(b)]).astype(np.float32).astype(np.float64)
    mask = rng.random((s, s)).astype(np.float32) if use_mask else None
    kw = dict(out=out, layout=layout, norm="pm1", border=border, border_value=90.0)
    want = kernels.crop(frame, affs, s, mask=mask, **kw)
    got = cp.asnumpy(kernels.crop(cp.asarray(frame), affs, s, mask=None if mask is None else cp.asarray(mask), **kw))
    assert got.shape == want.shape and got.dtype == want.dtype
    if out != "u8" and layout == "nchw":
        got, want = got.transpose(0, 2, 3, 1), want.transpose(0, 2, 3, 1)
    keep = ~_edge(affs, s, h, w) if border == "constant" else np.ones((b, s, s), bool)
    tol = {"u8": 1.0, "f32": 1e-4, "f16": 1e-3}[out]
    assert np.abs(got.astype(np.float64) - want.astype(np.float64))[keep].max(initial=0) <= tol


@pytest.mark.parametrize("channels", [3, 4])
@pytest.mark.parametrize("out_type", [0, 1])
def test_taps_at_the_end_of_the_frame_and_tiny_frames(channels, out_type):
    """The CPU rows read frame bytes as 32-bit words: taps on the last pixel (the last word, read
    shifted, never past the end) and frames of fewer than 4 bytes (read pixel by pixel) equal
    the emulated CUDA launch."""
    rng = np.random.default_rng(channels)
    for h, w in ((5, 7), (1, 1)):
        frame = rng.integers(0, 256, (h, w, channels), dtype=np.uint8)
        corner = np.array([[[1.0, 0.0, w - 2.3], [0.0, 1.0, h - 2.6]]], np.float32)  # reaches past the corner
        for border in (0, 1):
            args = (frame, corner, 4, out_type, True, (0.1, 0.2, 0.3), (0.5, 0.5, 0.5), border, 17.0, None)
            np.testing.assert_array_equal(_C.crop(*args), _C.emulated.crop(*args))


@pytest.mark.parametrize("std", [0.5, 3e3, 1e5])
def test_f16_output_rounds_like_numpy(std):
    """float -> half in the kernels (branch-free, shared with the GPU) rounds to nearest even like
    numpy, for normal values and, with a large std, for half subnormals (std 1e5: |v| < 2^-14)."""
    frame = np.random.default_rng(9).integers(0, 256, (40, 50, 4), dtype=np.uint8)
    aff = np.array([[[0.9, 0.2, 3.3], [-0.2, 0.9, 7.1]]], np.float32)
    args = (frame, aff, 24)
    norm = ((0.3, 0.5, 0.1), (std, std, std))
    f32 = _C.crop(*args, 1, True, *norm)
    f16 = _C.crop(*args, 2, True, *norm)
    np.testing.assert_array_equal(f16.view(np.uint16), f32.astype(np.float16).view(np.uint16))
    if std > 1e4:
        assert (np.abs(f16[f16 != 0]) < 2.0 ** -14).all()  # all subnormal
