"""composite vs a float64 numpy reference, the emulated CUDA launch vs the OpenMP path, input
validation, and the CUDA path vs the CPU path (gpu marker).

Tolerance: uint8 outputs may differ by 1 (float32 kernel arithmetic vs float64 reference at the
rounding boundary); pixels whose sample sits within 1e-3 px of the crop edge are excluded (the
inside test may flip between float32 and float64 there).
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dhsdk import _C, kernels
import kernel_reference as reference
from kernel_strategies import affine, image, near_edge

SETTINGS = settings(max_examples=40, deadline=None)


def _check(frame0, out, expected, aff, size):
    diff = np.abs(out.astype(int) - expected.astype(int)).max(axis=-1)
    diff[near_edge(aff, size, *frame0.shape[:2])] = 0
    assert diff.max() <= 1
    if frame0.shape[2] == 4:
        np.testing.assert_array_equal(out[..., 3], frame0[..., 3])


def _alpha_args(alpha: str, s: int, rng: np.random.Generator) -> dict:
    """composite() keyword arguments for one kind of alpha on an S x S crop."""
    if alpha == "mask":
        return {"mask": rng.random((s, s)).astype(np.float32)}
    if alpha == "mask_part":  # zero outside a random box (maybe empty): the host loops skip that part
        mask = np.zeros((s, s), np.float32)
        (y0, y1), (x0, x1) = (np.sort(rng.integers(0, s + 1, 2)) for _ in range(2))
        mask[y0:y1, x0:x1] = rng.random((y1 - y0, x1 - x0))
        return {"mask": mask}
    if alpha == "ellipse":
        return {"ellipse": (s / 2, s / 2, s / 3 + 0.5, s / 4 + 0.5, rng.uniform(-1, 1)), "feather": rng.uniform(0.5, 4)}
    if alpha == "polygon":
        return {"polygon": rng.uniform(0, s, (5, 2)), "feather": rng.uniform(0.5, 4)}
    return {}


@st.composite
def cases(draw, max_h: int, max_w: int, max_s: int):
    """(frame, crop, crop -> frame affine, composite() alpha kwargs): any frame size up to the
    bounds, 3 or 4 channels, any crop side and dtype, any alpha; the affine may leave the frame."""
    h, w, s = draw(st.integers(1, max_h)), draw(st.integers(1, max_w)), draw(st.integers(1, max_s))
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    frame = image(rng, (h, w, draw(st.sampled_from([3, 4]))), np.uint8)
    crop = image(rng, (s, s, 3), draw(st.sampled_from([np.uint8, np.float32, np.float16])))
    aff = draw(affine(s, h, w))
    return frame, crop, aff, _alpha_args(draw(st.sampled_from(["none", "mask", "mask_part", "ellipse", "polygon"])),
                                         s, rng)


@SETTINGS
@given(case=cases(48, 48, 24))
def test_composite_matches_reference(case):
    frame, crop, aff, kw = case
    expected = reference.composite(frame, crop, aff, **kw)
    out = frame.copy()
    try:
        kernels.composite(out, crop, aff, **kw)
    except ValueError as e:  # crop entirely outside: nothing may change in the reference
        assert "maps no pixel" in str(e)
        assert np.array_equal(expected, frame)
        return
    _check(frame, out, expected, aff, crop.shape[0])


def test_roi_only_is_touched():
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (120, 200, 3), dtype=np.uint8)
    crop = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    aff = np.array([[0.9, -0.3, 60.2], [0.3, 0.9, 30.7]])
    out = frame.copy()
    x0, y0, w, h = kernels.composite(out, crop, aff)
    changed = np.argwhere((out != frame).any(-1))
    assert changed[:, 1].min() >= x0 and changed[:, 1].max() < x0 + w
    assert changed[:, 0].min() >= y0 and changed[:, 0].max() < y0 + h


def test_a_mask_limits_the_work_not_the_result():
    """A mouth-like mask (zero outside the lower half) under a rotation: the host loops visit only
    where its alpha can be > 0, the frame equals the emulated CUDA launch over the whole box bit
    for bit, and the ROI returned is still the crop's whole footprint."""
    rng = np.random.default_rng(3)
    frame = rng.integers(0, 256, (300, 260, 3), dtype=np.uint8)
    crop = rng.integers(0, 256, (96, 96, 3), dtype=np.uint8)
    mask = np.zeros((96, 96), np.float32)
    mask[50:90, 10:86] = rng.random((40, 76)) * 0.9 + 0.1
    for angle in (0.0, 0.3, 1.2):
        c, s_ = np.cos(angle), np.sin(angle)
        aff = np.array([[0.8 * c, -0.8 * s_, 120.3], [0.8 * s_, 0.8 * c, 90.6]])
        a, b = frame.copy(), frame.copy()
        roi = kernels.composite(a, crop, aff, mask=mask)
        assert roi == _C.emulated.composite(b, crop, aff, mask, 1, (), None, 0.0)
        np.testing.assert_array_equal(a, b)
        assert (a != frame).any()


def test_feather_mask_matches_formula():
    s = 33
    ys, xs = np.mgrid[0:s, 0:s].astype(np.float64)
    ell = (16.0, 15.0, 10.0, 6.0, 0.4)
    got = kernels.feather_mask(s, ellipse=ell, feather=3.0)
    np.testing.assert_allclose(got, reference.shape_alpha(xs, ys, ellipse=ell, feather=3.0), atol=1e-4)
    poly = np.array([[3, 4], [28, 6], [20, 29], [5, 22]], np.float64)
    got = kernels.feather_mask(s, polygon=poly, feather=2.0)
    np.testing.assert_allclose(got, reference.shape_alpha(xs, ys, polygon=poly, feather=2.0), atol=1e-4)
    assert got[15, 15] == 1.0 and got[0, 0] == 0.0


def test_circle_feather_is_exact_distance():
    got = kernels.feather_mask(41, ellipse=(20, 20, 10, 10), feather=4.0)
    assert got[20, 20 + 10] == pytest.approx(0.5, abs=1e-5)  # on the boundary
    assert got[20, 20 + 12] == 0.0 and got[20, 20 + 8] == 1.0


@settings(max_examples=60, deadline=None)
@given(case=cases(70, 90, 40))
def test_emulated_launch_equals_cpu(case):
    """The CUDA grid (32 x 8 blocks over the ROI, bounds checked in the body) run on the host
    writes exactly what the OpenMP loop writes: odd frames, 1-pixel crops, ROIs clipped by the
    frame, crops off the frame (both refuse), every crop dtype and alpha."""
    frame, crop, aff, kw = case
    a, b = frame.copy(), frame.copy()
    try:
        r1 = kernels.composite(a, crop, aff, **kw)
    except ValueError:
        with pytest.raises(ValueError, match="maps no pixel"):
            kernels.composite(b, crop, aff, **kw)
        return
    shape = 1 if "mask" in kw else 2 if "ellipse" in kw else 3 if "polygon" in kw else 0
    r2 = _C.emulated.composite(b, crop, aff, kw.get("mask"), shape, kw.get("ellipse", ()), kw.get("polygon"),
                               kw.get("feather", 0.0))
    assert r1 == r2
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("s", [1, 31, 32, 33, 40])
@pytest.mark.parametrize("offset", [0.0, 0.5, 7.25])
def test_emulated_launch_at_block_edges(s, offset):
    """ROIs one pixel short of, equal to and one past the 32 x 8 block (identity scale)."""
    rng = np.random.default_rng(s)
    frame = rng.integers(0, 256, (50, 80, 3), dtype=np.uint8)
    crop = rng.integers(0, 256, (s, s, 3), dtype=np.uint8)
    aff = np.array([[1.0, 0, offset], [0, 1, offset]])
    a, b = frame.copy(), frame.copy()
    assert _C.composite(a, crop, aff) == _C.emulated.composite(b, crop, aff)
    np.testing.assert_array_equal(a, b)


def test_out_yuv_returns_converted_frame():
    frame = np.random.default_rng(1).integers(0, 256, (40, 60, 3), dtype=np.uint8)
    roi, yuv = kernels.composite(frame, np.zeros((8, 8, 3), np.uint8), np.array([[1, 0, 5], [0, 1, 5.0]]),
                                 out_yuv="nv12")
    np.testing.assert_array_equal(yuv, kernels.rgb_to_nv12(frame))


@pytest.mark.parametrize("frame,crop,aff,match", [
    (np.zeros((10, 10, 3), np.float32), np.zeros((4, 4, 3), np.uint8), np.eye(2, 3), r"uint8.*float32"),
    (np.zeros((10, 10, 2), np.uint8), np.zeros((4, 4, 3), np.uint8), np.eye(2, 3), r"\(10, 10, 2\)"),
    (np.zeros((10, 10, 3), np.uint8), np.zeros((4, 5, 3), np.uint8), np.eye(2, 3), r"\(4, 5, 3\)"),
    (np.zeros((10, 10, 3), np.uint8), np.zeros((4, 4, 3), np.uint8), np.eye(3), r"\(3, 3\)"),
    (np.zeros((10, 10, 3), np.uint8), np.zeros((4, 4, 3), np.uint8), np.array([[1, 0, 50], [0, 1, 0.0]]),
     r"maps no pixel.*\(4, 4, 3\).*\(10, 10, 3\)"),
    (np.zeros((10, 20, 3), np.uint8)[:, ::2], np.zeros((4, 4, 3), np.uint8), np.eye(2, 3), "contiguous"),
    (np.zeros((10, 10, 3), np.uint8), np.zeros((4, 4, 3), np.int32), np.eye(2, 3), "crop must be"),
])
def test_bad_inputs_raise_value_error(frame, crop, aff, match):
    with pytest.raises(ValueError, match=match):
        kernels.composite(frame, crop, aff)


def test_bad_mask_shape():
    with pytest.raises(ValueError, match=r"\(4, 4\).*\(3, 3\)"):
        kernels.composite(np.zeros((10, 10, 3), np.uint8), np.zeros((4, 4, 3), np.uint8), np.eye(2, 3),
                          mask=np.zeros((3, 3), np.float32))


@pytest.mark.gpu
@settings(max_examples=40, deadline=None)
@given(case=cases(80, 120, 48))
def test_cuda_path_matches_cpu(case):
    """The CUDA launcher through the facade on CuPy arrays vs the CPU path: +-1 level (the device
    contracts a*b+c into FMAs, which can move a value across a .5 rounding boundary), pixels whose
    sample sits within 1e-3 px of the crop edge excluded (the inside test may flip there)."""
    cp = pytest.importorskip("cupy")
    frame, crop, aff, kw = case
    cpu = frame.copy()
    try:
        roi = kernels.composite(cpu, crop, aff, **kw)
    except ValueError:
        return
    d_frame = cp.asarray(frame)
    d_kw = {k: cp.asarray(v) if k == "mask" else v for k, v in kw.items()}
    assert kernels.composite(d_frame, cp.asarray(crop), aff, **d_kw) == roi
    _check(frame, cp.asnumpy(d_frame), cpu, aff, crop.shape[0])


@pytest.mark.gpu
def test_cuda_path_on_the_callers_stream_with_yuv():
    cp = pytest.importorskip("cupy")
    rng = np.random.default_rng(4)
    frame = rng.integers(0, 256, (120, 200, 3), dtype=np.uint8)
    crop = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    mask = kernels.feather_mask(32, ellipse=(16, 18, 12, 9), feather=3.0)
    aff = np.array([[1.9, -0.4, 60.2], [0.4, 1.9, 30.7]])
    cpu = frame.copy()
    _, want = kernels.composite(cpu, crop, aff, mask, out_yuv="i420")
    stream = cp.cuda.Stream(non_blocking=True)
    with stream:
        d_frame, d_crop, d_mask = cp.asarray(frame), cp.asarray(crop), cp.asarray(mask)
    _, got = kernels.composite(d_frame, d_crop, aff, d_mask, out_yuv="i420", stream=stream)
    stream.synchronize()
    assert np.abs(cp.asnumpy(d_frame).astype(int) - cpu).max() <= 1
    assert np.abs(cp.asnumpy(got).astype(int) - want).max() <= 1
