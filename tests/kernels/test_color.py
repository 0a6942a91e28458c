"""RGB -> I420/NV12 vs the float64 formula reference (+-1: float32 rounding) and OpenCV, the
emulated CUDA launch vs the OpenMP path, and the CUDA path (gpu marker)."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dhsdk import _C, kernels
import kernel_reference as reference


@settings(max_examples=30, deadline=None)
@given(h=st.integers(1, 24), w=st.integers(1, 24), channels=st.sampled_from([3, 4]), bgr=st.booleans(),
       standard=st.sampled_from([601, 709]), nv12=st.booleans(), seed=st.integers(0, 2**31))
def test_yuv_matches_reference(h, w, channels, bgr, standard, nv12, seed):
    frame = np.random.default_rng(seed).integers(0, 256, (2 * h, 2 * w, channels), dtype=np.uint8)
    fn = kernels.rgb_to_nv12 if nv12 else kernels.rgb_to_i420
    got = fn(frame, bgr=bgr, standard=standard)
    expected = reference.yuv420(frame, bgr=bgr, standard=standard, nv12=nv12)
    assert got.shape == (3 * h, 2 * w)
    assert np.abs(got.astype(int) - expected.astype(int)).max() <= 1
    np.testing.assert_array_equal(got, _C.emulated.rgb_to_yuv(frame, nv12, bgr, standard))


@settings(max_examples=40, deadline=None)
@given(bh=st.integers(1, 20), bw=st.integers(1, 80), channels=st.sampled_from([3, 4]), bgr=st.booleans(),
       standard=st.sampled_from([601, 709]), nv12=st.booleans(), seed=st.integers(0, 2**31))
def test_emulated_launch_equals_cpu(bh, bw, channels, bgr, standard, nv12, seed):
    """The CUDA grid (32 x 8 blocks over the 2 x 2 pixel blocks) run on the host equals the OpenMP
    loop, for block counts below, at and past a thread block in both directions."""
    frame = np.random.default_rng(seed).integers(0, 256, (2 * bh, 2 * bw, channels), dtype=np.uint8)
    np.testing.assert_array_equal(_C.rgb_to_yuv(frame, nv12, bgr, standard),
                                  _C.emulated.rgb_to_yuv(frame, nv12, bgr, standard))


@pytest.mark.parametrize("width", [64, 130, 254, 1080])
def test_wide_rows_equal_the_emulated_launch(width):
    """Rows wide enough for the host's 64-pixel SIMD steps (AVX-512 builds) and their tails:
    the same bits as the CUDA body run on the host, at every colour corner (saturated channels
    drive the sums to their extremes), for RGB/BGR, I420/NV12 and both standards."""
    rng = np.random.default_rng(width)
    corners = np.array([[r, g, b] for r in (0, 255) for g in (0, 255) for b in (0, 255)], np.uint8)
    frame = rng.integers(0, 256, (6, width, 3), dtype=np.uint8)
    frame[:2] = corners[rng.integers(0, 8, (2, width))]
    frame[2:4] = corners[np.arange(2 * width).reshape(2, width) // 2 % 8]
    for nv12 in (False, True):
        for bgr in (False, True):
            for standard in (601, 709):
                np.testing.assert_array_equal(_C.rgb_to_yuv(frame, nv12, bgr, standard),
                                              _C.emulated.rgb_to_yuv(frame, nv12, bgr, standard))


@pytest.mark.gpu
@settings(max_examples=30, deadline=None)
@given(bh=st.integers(1, 40), bw=st.integers(1, 90), channels=st.sampled_from([3, 4]), bgr=st.booleans(),
       standard=st.sampled_from([601, 709]), nv12=st.booleans(), seed=st.integers(0, 2**31))
def test_cuda_path_matches_cpu(bh, bw, channels, bgr, standard, nv12, seed):
    """The CUDA launcher through the facade on CuPy arrays vs the CPU path: +-1 (FMA contraction
    on the device can move a .5 rounding)."""
    cp = pytest.importorskip("cupy")
    frame = np.random.default_rng(seed).integers(0, 256, (2 * bh, 2 * bw, channels), dtype=np.uint8)
    fn = kernels.rgb_to_nv12 if nv12 else kernels.rgb_to_i420
    got = cp.asnumpy(fn(cp.asarray(frame), bgr=bgr, standard=standard))
    assert np.abs(got.astype(int) - fn(frame, bgr=bgr, standard=standard)).max() <= 1


def test_i420_close_to_opencv():
    cv2 = pytest.importorskip("cv2")
    # 2x2-constant blocks: every 4:2:0 chroma siting/filter gives the same chroma there.
    small = np.random.default_rng(0).integers(0, 256, (32, 48, 3), dtype=np.uint8)
    frame = np.ascontiguousarray(small.repeat(2, axis=0).repeat(2, axis=1))
    ours = kernels.rgb_to_i420(frame).astype(int)
    theirs = cv2.cvtColor(frame, cv2.COLOR_RGB2YUV_I420).astype(int)
    assert np.abs(ours[:64] - theirs[:64]).max() <= 1  # luma: same BT.601 limited-range formula
    assert np.abs(ours[64:] - theirs[64:]).max() <= 1


@pytest.mark.parametrize("frame,match", [(np.zeros((3, 4, 3), np.uint8), r"even.*\(3, 4, 3\)"),
                                         (np.zeros((4, 4, 3), np.uint16), "uint8")])
def test_bad_inputs(frame, match):
    with pytest.raises(ValueError, match=match):
        kernels.rgb_to_i420(frame)
