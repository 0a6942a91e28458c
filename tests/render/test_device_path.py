"""The device frame path: chosen once at construction; on "cuda" the DeviceFramePath (per batch:
one stack of the base frames, one batched crop, the warp, one batched composite [, one batched
NV12 conversion] on one CUDA stream, one device-to-host copy and one host wait) must equal the
host path bit for bit on the numpy-backed GPU stand-in of
tests/cuda/fake_gpu.py (its launchers run the emulated CUDA launch); the errors where the GPU
path cannot run; the UNet stage's device pre/post-processing against UNetRenderer's; and, on a
real GPU, device vs CPU frames."""
from __future__ import annotations

import logging
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from dhsdk import _C, kernels
from dhsdk.errors import DeviceError

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cuda"))
from fake_gpu import install  # noqa: E402

needs_launchers = pytest.mark.skipif(not hasattr(_C, "cuda_warp"), reason="dhsdk._C was built without CUDA")


@pytest.fixture(scope="module")
def avatar():
    from dhsdk.avatar import Avatar

    try:  # building the default avatar the first time tracks its face (mediapipe)
        return Avatar.default(device="cpu")
    except ImportError as e:
        pytest.skip(f"the default avatar cannot be built here: {e}")


@pytest.fixture
def gpu(monkeypatch):
    return install(monkeypatch)


def speech_lips(sync, k: int) -> np.ndarray:
    """Target lips of frame k: the neutral mouth opened and closed by a sine (canonical units)."""
    delta = np.zeros((40, 2), np.float32)
    delta[:, 1] = 0.08 * np.sin(0.7 * k) * np.sign(np.arange(40) % 20 - 9.5)
    return sync.target_lips(delta, 1.0, k)


# ---- the choice at construction ---------------------------------------------------------
def test_cpu_path_touches_no_cuda(avatar, monkeypatch):
    from dhsdk.pipeline.lipsync import LipSync

    from dhsdk.render.host_path import HostFramePath

    monkeypatch.setitem(sys.modules, "cupy", None)  # any import of CuPy would fail
    sync = LipSync(avatar, mouth="warp", device="cpu")
    assert sync.device == "cpu" and isinstance(sync.path, HostFramePath)
    assert sync.frame(0, speech_lips(sync, 3)).dtype == np.uint8


@needs_launchers
def test_cuda_frames_equal_cpu_frames(avatar, gpu):
    from dhsdk.pipeline.lipsync import LipSync
    from dhsdk.render.device_path import DeviceFramePath

    cp, ext = gpu
    cpu, dev = LipSync(avatar, mouth="warp", device="cpu"), LipSync(avatar, mouth="warp", device="cuda")
    assert dev.device == "cuda" and isinstance(dev.path, DeviceFramePath)
    own = dev.path.stream.ptr
    uploads = len([e for e in cp.log if e[0] == "upload"])
    assert uploads == len(avatar.idle_loop.frames()) + 1  # base frames + mask, once
    cp.log.clear()
    bases = [avatar.idle_index(k) for k in range(4)]
    lips = np.stack([speech_lips(cpu, k) for k in range(4)])
    got = dev.path.render(bases, lips)
    want = cpu.path.render(bases, lips)
    for g, w in zip(got, want):
        assert isinstance(g, np.ndarray)
        np.testing.assert_array_equal(g, w)
    downloads = [e for e in cp.log if e[0] == "download"]
    assert downloads == [("download", own, False)]            # one async copy for the batch, on the stream
    assert ("stack", own, 4) in cp.log                         # the base frames copied in one call
    assert set(ext.streams) == {own}                          # every launch on the path's stream
    launches = {name: n for name, n in ext.calls.items()}
    assert launches == {"cuda_crop_batch": 1, "cuda_warp": 4, "cuda_composite_batch": 1}
    # host -> device per frame: nothing (the crop's affine travels in the kernel's parameters);
    # the teeth bank once
    assert [e for e in cp.log if e[0] == "upload"] == [("upload", own)]
    # GPU time per batch (0.25 ms per stage on the stand-in), shared among its 4 frames
    assert all(len(dev.stage_ms[s]) == 4 and dev.stage_ms[s][-1] == 0.25 / 4 for s in ("crop", "mouth", "composite"))
    out = [np.zeros_like(w) for w in want]                    # e.g. shared memory of a worker process
    assert dev.path.render(bases, lips, out=out)[1] is out[1]
    for o, w in zip(out, want):
        np.testing.assert_array_equal(o, w)


@needs_launchers
def test_silent_frames_render_the_resting_mouth_on_the_device_too(avatar, gpu):
    from dhsdk.pipeline.lipsync import LipSync

    cp, ext = gpu
    cpu, dev = LipSync(avatar, mouth="warp", device="cpu"), LipSync(avatar, mouth="warp", device="cuda")
    cp.log.clear()
    np.testing.assert_array_equal(dev.frame(2), cpu.frame(2))   # no lips: the neutral mouth, rendered
    assert len(ext.streams) == 3                                # crop, warp, composite


@needs_launchers
def test_a_worker_stream_is_used_and_ordered_after_the_previous_batch(avatar, gpu):
    from dhsdk.pipeline.lipsync import LipSync

    cp, ext = gpu
    dev = LipSync(avatar, mouth="warp", device="cuda")
    own = dev.path.stream.ptr
    dev.frame(0, speech_lips(dev, 0))
    cp.log.clear()
    cp.current = 555  # a Scheduler worker made its CUDA stream current
    dev.frame(1, speech_lips(dev, 1))
    assert ("wait", 555, own) in cp.log                       # after the previous frame's work
    assert ext.streams[-3:] == [555] * 3                      # crop, warp, composite


@needs_launchers
def test_render_device_keeps_the_frames_and_their_nv12_on_the_device(avatar, gpu):
    from dhsdk.pipeline.lipsync import LipSync

    cp, _ = gpu
    cpu, dev = LipSync(avatar, mouth="warp", device="cpu"), LipSync(avatar, mouth="warp", device="cuda")
    lips = np.stack([speech_lips(cpu, 5), speech_lips(cpu, 6)])
    dev.frame(7, lips[0]), cpu.frame(7, lips[0])  # the first warp uploads the teeth bank and waits for it, once
    cp.log.clear()
    frames = dev.path.render_device([7, 8], lips, nv12=True)
    want = cpu.path.render([7, 8], lips)
    for f, w in zip(frames, want):
        np.testing.assert_array_equal(f.rgb.a, w)
        np.testing.assert_array_equal(f.nv12.a, kernels.rgb_to_nv12(w))
        assert f.stream == dev.path.stream.ptr and f.ready.raw.on == f.stream
    assert not any(e[0] in ("download", "sync") for e in cp.log)  # nothing waited on the host


@needs_launchers
def test_a_streams_frames_stay_on_the_device_until_a_host_reader(avatar, gpu):
    """A stream on a device path emits frames whose picture is on the GPU with its NV12 (for
    NVENC); nothing is copied to the host until something reads ``image``, and what it reads is
    the CPU path's frame."""
    from dhsdk.pipeline.lipsync import LipSync
    from dhsdk.pipeline.stream import Stream

    cp, _ = gpu
    cpu, dev = LipSync(avatar, mouth="warp", device="cpu"), LipSync(avatar, mouth="warp", device="cuda")
    t = np.arange(16000) / 16000
    pcm = (0.3 * np.sin(2 * np.pi * 4 * t) ** 2 * np.sin(2 * np.pi * 180 * t)).astype(np.float32)
    frames = {}
    for name, sync in (("cpu", cpu), ("dev", dev)):
        with Stream(sync, realtime=False, pull=False, start=False) as s:
            s.push_audio(pcm)
            frames[name] = [s.tick() for _ in range(6)]
    got, want = frames["dev"], frames["cpu"]
    assert all(f.on_device and f.device.nv12 is not None for f in got)
    assert not any(e[0] == "download" for e in cp.log)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g.image, w.image)
    np.testing.assert_array_equal(got[3].device.nv12.a, kernels.rgb_to_nv12(want[3].image))
    assert len([e for e in cp.log if e[0] == "download"]) == 6


# ---- where the GPU path cannot run ------------------------------------------------------
def test_cuda_without_cupy_names_it_and_the_install(avatar, monkeypatch):
    import dhsdk.device
    from dhsdk.pipeline.lipsync import LipSync

    monkeypatch.setattr(dhsdk.device, "cuda_problem", lambda: None)
    monkeypatch.setitem(sys.modules, "cupy", None)
    with pytest.raises(DeviceError, match=r"device='cuda': the GPU frame path cannot run here: .*'cupy'.*"
                                          r"pip install 'dhsdk\[gpu\]'"):
        LipSync(avatar, mouth="warp", device="cuda")


def test_auto_without_cupy_stays_on_the_cpu_and_says_why(avatar, monkeypatch, caplog):
    import dhsdk.device
    from dhsdk.pipeline.lipsync import LipSync

    monkeypatch.setattr(dhsdk.device, "cuda_problem", lambda: None)
    monkeypatch.setitem(sys.modules, "cupy", None)
    with caplog.at_level(logging.WARNING, logger="dhsdk.render.path"):
        sync = LipSync(avatar, mouth="warp", device="auto")
    assert sync.device == "cpu"
    assert "rendering frames on the CPU" in caplog.text and "cupy" in caplog.text


def test_cuda_without_a_driver_says_so(avatar):
    from dhsdk.device import cuda_problem
    from dhsdk.pipeline.lipsync import LipSync

    if cuda_problem() is None:
        pytest.skip("a GPU is present")
    with pytest.raises(DeviceError, match="device='cuda' requested but .*driver"):
        LipSync(avatar, mouth="warp", device="cuda")


@needs_launchers
def test_unet_mouth_without_tensorrt_or_torch_names_them(avatar, gpu, monkeypatch):
    from dhsdk.render.device_path import DeviceFramePath
    from dhsdk.render.geometry import MouthGeometry
    from dhsdk.render.unet import UNetRenderer

    monkeypatch.setitem(sys.modules, "tensorrt", None)
    monkeypatch.setitem(sys.modules, "torch", None)
    renderer = UNetRenderer.__new__(UNetRenderer)  # a UNet mouth (never called: refused first)
    with pytest.raises(DeviceError, match=r"TensorRT or PyTorch.*tensorrt .*pypi.nvidia.com.*torch \(torch\)"):
        DeviceFramePath(avatar, MouthGeometry.of(avatar, 256), renderer)


def test_unknown_renderer_has_no_device_stage(avatar, gpu):
    from dhsdk.errors import InputError
    from dhsdk.render.device_path import DeviceFramePath
    from dhsdk.render.geometry import MouthGeometry

    with pytest.raises(InputError, match="no device stage for SimpleNamespace"):
        DeviceFramePath(avatar, MouthGeometry.of(avatar, 256), types.SimpleNamespace(crop_size=256))


# ---- the UNet stage's device pre/post-processing is UNetRenderer's ----------------------------
def test_unet_inputs_and_blend_equal_the_renderer(tmp_path):
    torch = pytest.importorskip("torch")
    from dhsdk.models.condition import render_condition
    from dhsdk.models.inpaint import InpaintUNet, export_onnx
    from dhsdk.render.unet import UNetRenderer, unet_blend, unet_feeds

    torch.manual_seed(0)
    path = tmp_path / "lite.onnx"
    export_onnx(InpaintUNet("lite").eval(), path)
    s, rng = 128, np.random.default_rng(1)
    crops = rng.integers(0, 256, (2, s, s, 3), dtype=np.uint8)
    ref = rng.integers(0, 256, (s, s, 3), dtype=np.uint8)
    mask = np.zeros((s, s), np.float32)
    mask[50:110, 20:108] = 1.0
    mask[45:50, 20:108] = 0.3  # a feather band for the colour match
    t = np.linspace(0, 2 * np.pi, 20, endpoint=False)
    lips = np.vstack([np.c_[64 + 30 * np.cos(t), 80 + 12 * np.sin(t)],
                      np.c_[64 + 20 * np.cos(t), 80 + 6 * np.sin(t)]]).astype(np.float32)
    r = UNetRenderer(path, ref, mask)
    seen = {}
    infer = r.runner.infer
    r.runner.infer = lambda feeds: seen.update(feeds) or infer(feeds)
    want = r.render_batch(crops, np.stack([lips] * 2), np.stack([lips] * 2))
    cond = np.stack([render_condition(lips, s)] * 2)[:, None]
    feeds = unet_feeds(np, crops, mask, ref.astype(np.float32).transpose(2, 0, 1)[None] / 255.0, cond)
    for name in ("masked", "reference", "condition"):
        np.testing.assert_array_equal(feeds[name], seen[name])
    got = unet_blend(np, crops, infer(feeds)["rgb"], mask, np.flatnonzero(r.band))
    np.testing.assert_array_equal(got, want)


# ---- on a real GPU ------------------------------------------------------------------------
@pytest.mark.gpu
def test_real_gpu_frames_match_cpu():
    pytest.importorskip("cupy")
    from dhsdk.bench.synthetic import SyntheticAvatar
    from dhsdk.pipeline.lipsync import LipSync

    avatar = SyntheticAvatar(720, 1280, frames=6)  # no face tracker (mediapipe) needed to reach the GPU

    cpu, dev = LipSync(avatar, mouth="warp", device="cpu"), LipSync(avatar, mouth="warp", device="cuda")
    for k in range(6):
        base, lips = avatar.idle_index(k), speech_lips(cpu, k)
        diff = np.abs(dev.frame(base, lips).astype(int) - cpu.frame(base, lips))
        # crop, warp and composite are the CPU kernels' bodies in float32; each may differ by one
        # grey level where the GPU contracts a*b+c into an FMA. The crop's level feeds the warp
        # and the warp's the blend, so a pixel can drift by 2; anything more is a bug.
        assert diff.max() <= 2 and (diff > 0).mean() < 0.01


@pytest.mark.gpu
def test_real_gpu_batch_equals_frames_alone_and_stays_on_the_device():
    cp = pytest.importorskip("cupy")
    from dhsdk.bench.synthetic import SyntheticAvatar
    from dhsdk.frames import VideoFrame
    from dhsdk.pipeline.lipsync import LipSync

    avatar = SyntheticAvatar(720, 1280, frames=6)
    cpu, dev = LipSync(avatar, mouth="warp", device="cpu"), LipSync(avatar, mouth="warp", device="cuda")
    bases = [avatar.idle_index(k) for k in (0, 3, 1, 5, 3, 2)]
    lips = np.stack([speech_lips(cpu, k) for k in range(6)])
    batch = dev.path.render(bases, lips)
    for b, lp, got in zip(bases, lips, batch):  # same GPU, same kernels: a batch changes no bit
        np.testing.assert_array_equal(got, dev.frame(b, lp))
    kept = dev.path.render_frames(bases, lips)
    for k, (f, want) in enumerate(zip(kept, cpu.path.render(bases, lips))):
        assert isinstance(f.rgb, cp.ndarray) and f.nv12.shape == (1920, 720)
        host = VideoFrame(None, np.zeros(640, np.float32), 16000, k / 25, k, device=f).image
        np.testing.assert_array_equal(host, batch[k])
        diff = np.abs(host.astype(int) - want)
        assert diff.max() <= 2 and (diff > 0).mean() < 0.01  # FMA contraction on the GPU, as above
        np.testing.assert_array_equal(cp.asnumpy(f.nv12), kernels.rgb_to_nv12(host))  # 16.16 fixed point both sides
