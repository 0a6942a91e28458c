"""WarpRenderer.render on CUDA crops: the dispatch to ``dhsdk._C.cuda_warp`` (pointers, scratch,
the teeth bank uploaded once, the caller's stream, the colour-match read-back) against the
numpy-backed stand-in of tests/cuda/fake_gpu.py, whose launcher runs the emulated CUDA launch:
the device result must equal the CPU renderer's bit for bit. Plus the errors where the GPU path
cannot run, and a real-GPU comparison (skipped without one)."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from dhsdk import _C
from dhsdk.errors import DeviceError, InputError
from dhsdk.render.warp import WarpRenderer, scratch_bytes

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cuda"))
from fake_gpu import FakeArray, install  # noqa: E402

SIZE = 96


def renderer() -> WarpRenderer:
    from dhsdk.bench.synthetic import SyntheticAvatar

    return WarpRenderer.from_avatar(SyntheticAvatar(240, 320, frames=3), size=SIZE)


def lips() -> tuple[np.ndarray, np.ndarray]:
    """(src, dst): the synthetic face's neutral lips and the jaw opened (mouth synthesis on)."""
    from dhsdk.bench.synthetic import SyntheticAvatar
    from dhsdk.geometry import apply_affine

    avatar = SyntheticAvatar(240, 320, frames=3)
    src = apply_affine(avatar.canonical_to_crop(SIZE), avatar.neutral_lips).astype(np.float32)
    dst = src.copy()
    dst[1:10, 1] += 0.12 * SIZE
    dst[21:30, 1] += 0.12 * SIZE
    return src, dst


CROP = np.random.default_rng(5).integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)
needs_launcher = pytest.mark.skipif(not hasattr(_C, "cuda_warp"), reason="dhsdk._C was built without cuda_warp")


@pytest.fixture
def gpu(monkeypatch):
    return install(monkeypatch)


@needs_launcher
def test_device_crop_equals_cpu_and_uploads_the_bank_once(gpu):
    cp, ext = gpu
    src, dst = lips()
    cpu_r, gpu_r = renderer(), renderer()
    colours = gpu_r.colours(CROP)
    for _ in range(2):
        want = cpu_r.render(CROP, src, dst)
        got = gpu_r.render(FakeArray(CROP, cp=cp), src, dst, stream=4242, colours=colours)
        np.testing.assert_array_equal(got.a, want)
    assert ext.streams == [4242, 4242]
    uploads = [e for e in cp.log if e[0] == "upload"]
    assert uploads == [("upload", 4242)]                     # the teeth bank, on the caller's stream
    assert ("sync", 4242) in cp.log                          # ... waited for once, so any stream may read it
    assert not any(e[0] == "download" for e in cp.log)       # colours given: no read-back
    assert [e for e in cp.log if e[0] == "alloc"] == [("alloc", 4242)] * 4  # out + scratch per call


@needs_launcher
def test_without_colours_the_crop_is_read_back_on_the_stream(gpu):
    cp, _ = gpu
    src, dst = lips()
    got = renderer().render(FakeArray(CROP, cp=cp), src, dst, stream=77)
    np.testing.assert_array_equal(got.a, renderer().render(CROP, src, dst))
    assert ("download", 77, True) in cp.log


def test_scratch_bound_covers_the_mesh():
    r = renderer()
    t, tiles = len(r.mesh.triangles), (SIZE // 16) ** 2
    assert scratch_bytes(SIZE, t) == 4 * (13 * t + 6 * SIZE + tiles + 1 + t * tiles)
    assert scratch_bytes(100, 1) == 4 * (13 + 600 + 50 + 49)  # 7 x 7 tiles of 16 px cover 100 px


@needs_launcher
def test_bad_device_crop_is_refused_before_the_launch(gpu):
    cp, ext = gpu
    src, dst = lips()
    with pytest.raises(InputError, match=r"expected a uint8 \(96, 96, 3\) RGB crop.*float32 \(96, 96, 3\)"):
        renderer().render(FakeArray(CROP.astype(np.float32), cp=cp), src, dst)
    with pytest.raises(InputError, match="not C-contiguous"):
        renderer().render(FakeArray(np.zeros((SIZE, SIZE, 4), np.uint8)[..., :3], cp=cp), src, dst)
    with pytest.raises(InputError, match="src_lips"):
        renderer().render(FakeArray(CROP, cp=cp), src[:20], dst)
    assert ext.streams == []


def test_without_a_gpu_a_device_crop_names_the_missing_pieces(monkeypatch):
    import dhsdk.device

    monkeypatch.setattr(dhsdk.device, "cuda_problem", lambda: "no NVIDIA driver was found: install it")
    monkeypatch.setitem(sys.modules, "cupy", None)  # import cupy raises ImportError
    src, dst = lips()
    with pytest.raises(DeviceError, match=r"WarpRenderer.render got CUDA arrays, but cuda_warp cannot run here") as e:
        renderer().render(FakeArray(CROP), src, dst)
    assert "CUDA: no NVIDIA driver" in str(e.value) and "pip install 'dhsdk[gpu]'" in str(e.value)


def test_host_crops_still_take_the_cpu_path():
    src, dst = lips()
    args = renderer().kernel_args(CROP, src, dst)
    np.testing.assert_array_equal(renderer().render(CROP, src, dst), _C.warp(*args))


@pytest.mark.gpu
def test_cuda_warp_through_the_facade_equals_cpu():
    cp = pytest.importorskip("cupy")
    src, dst = lips()
    want = renderer().render(CROP, src, dst)
    stream = cp.cuda.Stream(non_blocking=True)
    got = renderer().render(cp.asarray(CROP), src, dst, stream=stream)
    stream.synchronize()
    # Same kernel body and float32 arithmetic; the GPU may contract a*b+c into an FMA, which can
    # move a value across a .5 rounding boundary: at most one grey level.
    assert np.abs(cp.asnumpy(got).astype(int) - want).max() <= 1
