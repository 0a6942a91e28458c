"""The raw ``dhsdk._C.cuda_*`` launchers' boundary checks, where CUDA is compiled in but no GPU
exists: bad shapes, dtypes, outputs and pointers raise ValueError before any CUDA call, and
valid arguments reach the launch, which fails with a RuntimeError naming the CUDA error. The
pointers are never dereferenced on the host (with a GPU they would be: skipped there)."""
from __future__ import annotations

import numpy as np
import pytest

from dhsdk import _C
from dhsdk.device import cuda_problem

pytestmark = [
    pytest.mark.skipif(not hasattr(_C, "cuda_composite"), reason="dhsdk._C was built without the CUDA launchers"),
    pytest.mark.skipif(cuda_problem() is None, reason="a GPU is present: fake pointers would be dereferenced"),
]

PTR = 1 << 20
U8, F32, F16 = np.dtype(np.uint8), np.dtype(np.float32), np.dtype(np.float16)
ID = np.array([[1.0, 0, 2], [0, 1, 3]])


def dev(shape, dtype=U8, readonly=False, ptr=PTR):
    return (ptr, shape, dtype, readonly)


def composite(**over):
    args = dict(frame=dev((20, 30, 4)), crop=dev((8, 8, 3), F16), affine=ID, mask=None, shape=0, ellipse=(),
                polygon=None, feather=0.0, stream=0)
    args.update(over)
    return _C.cuda_composite(**args)


def crop(**over):
    args = dict(frame=dev((20, 30, 3)), affines=np.zeros((2, 2, 3), F32), size=8, out=dev((2, 3, 8, 8), F32), out_type=1,
                nchw=True, mean=(0, 0, 0), std=(1, 1, 1), border=0, border_value=0.0, mask=None, stream=0)
    args.update(over)
    return _C.cuda_crop(**args)


def yuv(**over):
    args = dict(frame=dev((20, 30, 3)), out=dev((30, 30)), nv12=True, bgr=False, standard=709, stream=0)
    args.update(over)
    return _C.cuda_rgb_to_yuv(**args)


@pytest.mark.parametrize("call", [
    lambda: composite(),
    lambda: composite(mask=dev((8, 8), F32), shape=1),
    lambda: composite(polygon=dev((5, 2), F32), shape=3, feather=2.0),
    lambda: crop(),
    lambda: crop(out=dev((2, 8, 8, 3)), out_type=0, mask=dev((8, 8), F32)),
    lambda: yuv(),
])
def test_valid_arguments_reach_the_launch(call):
    with pytest.raises(RuntimeError, match=r"dhsdk CUDA error in \w+ kernel launch: .*driver"):
        call()


@pytest.mark.parametrize("call,match", [
    (lambda: composite(frame=dev((20, 30, 3), F32)), "frame must be uint8, got dtype float32"),
    (lambda: composite(frame=dev((20, 30, 3), readonly=True)), r"frame is read-only, shape \(20, 30, 3\)"),
    (lambda: composite(crop=dev((8, 8, 3), ptr=0)), r"crop is a null device pointer \(shape \(8, 8, 3\)\)"),
    (lambda: composite(crop=PTR), "crop must be a device array tuple"),
    (lambda: composite(crop=dev((8, 7, 3))), r"crop must be S x S x 3.*\(8, 7, 3\)"),
    (lambda: composite(shape=1, mask=dev((8, 8), F16)), r"mask must be S x S = \(8, 8\) float32.*float16"),
    (lambda: composite(shape=3, polygon=dev((2, 2), F32)), r"polygon must be \(N, 2\) float32 with N >= 3.*\(2, 2\)"),
    (lambda: composite(affine=np.array([[1.0, 0, 99], [0, 1, 0]])), "maps no pixel"),
    (lambda: crop(out=dev((2, 8, 8, 3), F32)), r"out must be \(2, 3, 8, 8\) float32, got \(2, 8, 8, 3\) float32"),
    (lambda: crop(out=dev((2, 3, 8, 8), F32, readonly=True)), "out is read-only"),
    (lambda: crop(affines=np.zeros((2, 3, 3))), r"affines must be \(B, 2, 3\) float32 .*\(2, 3, 3\)"),
    (lambda: yuv(frame=dev((21, 30, 3))), r"even for 4:2:0, got shape \(21, 30, 3\)"),
    (lambda: yuv(out=dev((20, 30))), r"out must be \(30, 30\) uint8"),
])
def test_bad_arguments_raise_value_error_before_any_cuda_call(call, match):
    with pytest.raises(ValueError, match=match):
        call()
