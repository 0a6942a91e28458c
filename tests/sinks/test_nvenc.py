"""NVENC out: the encoder choice of the sinks, the NVENC session limit, the x264 -> NVENC option
mapping, and the whole NvencEncoder path (upload, NV12 on the "device", bitstream muxing with
the shared AAC audio) on the GPU stand-in of tests/cuda/fake_gpu.py with a PyNvVideoCodec
stand-in that encodes the NV12 planes it is handed with libx264, as Annex-B access units like
NVENC's: the mp4 it writes must decode to the frames that went in."""
from __future__ import annotations

import logging
import sys
import threading
import types
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

import dhsdk.sinks.nvenc as nvenc
from dhsdk.errors import DeviceError, InputError
from dhsdk.frames import VideoFrame
from dhsdk.sinks.encoder import FILE, LIVE, AvEncoder, encoder_class
from dhsdk.sinks.file import FileSink
from dhsdk.sinks.nvenc import NvencEncoder, nal_types, nvenc_options

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cuda"))
from fake_gpu import FakeArray, host, install  # noqa: E402

W, H, FPS, SR = 64, 48, 25, 16000


class FakeNvEncoder:
    """PyNvVideoCodec's encoder object: reads the NV12 planes through their CUDA array
    interfaces and encodes them with libx264 (no B-frames, SPS/PPS in band: NVENC's shape)."""

    def __init__(self, width, height, fmt, usecpu, cudacontext, cudastream, opts):
        import av

        assert (fmt, usecpu) == ("NV12", False)
        self.size, self.stream, self.opts = (width, height), cudastream, opts
        self.ctx = av.CodecContext.create("libx264", "w")
        self.ctx.width, self.ctx.height, self.ctx.pix_fmt = width, height, "yuv420p"
        self.ctx.time_base = Fraction(1, FPS)
        self.ctx.options = {"preset": "ultrafast", "tune": "zerolatency", "x264-params": f"keyint={opts['gop']}"}
        self.frames = 0

    def Encode(self, frame):  # noqa: N802 - PyNvVideoCodec's name
        import av

        y, uv = (p.__cuda_array_interface__ for p in frame.cuda())
        w, h = self.size
        assert y["shape"] == (h, w, 1) and uv["shape"] == (h // 2, w // 2, 2) and uv["data"][0] == y["data"][0] + w * h
        nv12 = host((y["data"][0], (h * 3 // 2, w), np.uint8, False))
        vf = av.VideoFrame.from_ndarray(nv12.copy(), format="nv12").reformat(format="yuv420p")
        vf.pts = self.frames
        self.frames += 1
        return [{"data": bytes(p)} for p in self.ctx.encode(vf)]

    def EndEncode(self):  # noqa: N802
        return [{"data": bytes(p)} for p in self.ctx.encode(None)]


@pytest.fixture
def nvc(monkeypatch):
    """(fake CuPy, the encoders made) with the GPU and PyNvVideoCodec stand-ins installed."""
    cp, _ = install(monkeypatch)
    made = []

    def create(width, height, fmt, usecpuinputbuffer, cudacontext=0, cudastream=0, **opts):
        made.append(FakeNvEncoder(width, height, fmt, usecpuinputbuffer, cudacontext, cudastream, opts))
        return made[-1]

    monkeypatch.setitem(sys.modules, "PyNvVideoCodec", types.SimpleNamespace(CreateEncoder=create))
    monkeypatch.setattr(nvenc, "_SESSIONS", threading.BoundedSemaphore(2))
    return cp, made


def frames(n: int = 12) -> list[VideoFrame]:
    """A moving gradient with a tone: frames that survive H.264 close to unchanged."""
    ys, xs = np.mgrid[0:H, 0:W]
    out = []
    for k in range(n):
        img = np.stack([(xs * 4 + 6 * k) % 256, ys * 5, np.full_like(xs, 128)], -1).astype(np.uint8)
        t = (np.arange(SR // FPS) + k * SR // FPS) / SR
        out.append(VideoFrame(img, (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), SR, k / FPS, k))
    return out


def decode(path: Path) -> tuple[np.ndarray, list, int]:
    """(RGB frames, each video packet's frame number from its pts, audio samples) of an mp4."""
    import av

    with av.open(str(path)) as c:
        video = np.stack([f.to_ndarray(format="rgb24") for f in c.decode(video=0)])
    with av.open(str(path)) as c:
        pts = [round(p.pts * p.time_base * FPS) for p in c.demux(video=0) if p.size]
    with av.open(str(path)) as c:
        audio = sum(f.samples for f in c.decode(audio=0))
    return video, pts, audio


# ---- the choice -------------------------------------------------------------------------
def test_encoder_kinds():
    assert encoder_class("x264") is AvEncoder
    with pytest.raises(InputError, match=r"encoder must be one of \('auto', 'x264', 'nvenc'\), got 'h265'"):
        encoder_class("h265")


def test_auto_without_a_gpu_is_x264_and_imports_no_gpu_package(monkeypatch):
    import dhsdk.cuda.requirements as req

    asked = []
    monkeypatch.setattr(req, "missing_gpu_pieces", lambda need: asked.append(tuple(need)) or ["CUDA: no driver"])
    assert encoder_class("auto") is AvEncoder
    assert asked == [("cuda",)]


def test_nvenc_where_it_cannot_run_names_the_missing_piece(monkeypatch):
    import dhsdk.device

    monkeypatch.setattr(dhsdk.device, "cuda_problem", lambda: None)
    monkeypatch.setitem(sys.modules, "cupy", types.ModuleType("cupy"))
    monkeypatch.setitem(sys.modules, "PyNvVideoCodec", None)
    with pytest.raises(DeviceError, match=r"encoder='nvenc' cannot run here: pynvvideocodec \(PyNvVideoCodec\): "
                                          r"not importable .*pip install 'dhsdk\[gpu\]'"):
        FileSink("/tmp/never.mp4", encoder="nvenc")
    from dhsdk.sinks.rtmp import RtmpSink

    with pytest.raises(DeviceError, match="PyNvVideoCodec"):
        RtmpSink("rtmp://127.0.0.1:1935/live/k", encoder="nvenc")


def test_nvenc_without_a_gpu_says_so():
    from dhsdk.device import cuda_problem

    if cuda_problem() is None:
        pytest.skip("a GPU is present")
    with pytest.raises(DeviceError, match="encoder='nvenc' cannot run here: CUDA: .*driver"):
        encoder_class("nvenc")


def test_options_follow_the_x264_settings():
    file = nvenc_options(FILE, 720, 1280, 25.0)
    assert file | {} == {**file, "codec": "h264", "preset": "P3", "bf": 0, "gop": 50, "idrperiod": 50, "fps": 25,
                         "tuning_info": "high_quality", "rc": "constqp", "constqp": 18, "colorspace": "bt601"}
    live = nvenc_options(LIVE, 720, 1280, 25.0)
    rate = int(0.1 * 720 * 1280 * 25)
    assert (live["preset"], live["tuning_info"], live["rc"], live["gop"]) == ("P1", "ultra_low_latency", "cbr", 25)
    assert live["bitrate"] == live["maxbitrate"] == live["vbvbufsize"] == rate


def test_nal_types():
    assert nal_types(b"\x00\x00\x00\x01\x67\x42\x00\x00\x01\x68\x00\x00\x01\x65\x88") == {7, 8, 5}
    assert nal_types(b"\x00\x00\x00\x01\x41\x9a") == {1} and nal_types(b"") == set()


# ---- the encoder, end to end on the stand-ins ----------------------------------------------
def test_file_sink_on_nvenc_writes_the_frames(nvc, tmp_path):
    cp, made = nvc
    assert encoder_class("auto") is NvencEncoder
    path = tmp_path / "out.mp4"
    sent = frames()
    with FileSink(path, encoder="auto") as sink:
        for f in sent[:5] + sent[7:]:  # two frames lost upstream: a gap in video, silence in audio
            sink.write(f)
        assert sink._encoder.backend == "nvenc"
    (enc,) = made
    assert enc.opts["rc"] == "constqp" and enc.stream != 0 and enc.frames == 10
    uploads = [e for e in cp.log if e[0] == "upload"]
    assert len(uploads) == 10 and {s for _, s in uploads} == {enc.stream}  # on the encoder's stream
    video, pts, samples = decode(path)
    assert pts == [0, 1, 2, 3, 4, 7, 8, 9, 10, 11]
    want = np.stack([f.image for f in sent[:5] + sent[7:]]).astype(float)
    assert np.abs(video.astype(float) - want).mean() < 3.0  # x264 + 4:2:0 round trip of a smooth image
    assert samples >= 11 * 48000 // FPS                      # 12 frames of audio incl. the gap's silence
    assert nvenc._SESSIONS.acquire(blocking=False) and nvenc._SESSIONS.acquire(blocking=False)  # released


def test_a_device_nv12_frame_is_encoded_without_an_upload(nvc, tmp_path):
    from dhsdk import kernels
    from dhsdk.cuda.streams import Event

    cp, made = nvc
    enc = NvencEncoder(str(tmp_path / "d.mp4"), "mp4", FILE, fps=FPS)
    f = frames(1)[0]
    ready = Event().record(777)
    enc.encode(f, nv12=FakeArray(kernels.rgb_to_nv12(f.image), cp=cp), ready=ready)
    enc.close()
    assert not [e for e in cp.log if e[0] == "upload"]
    assert ("wait", made[0].stream, 777) in cp.log           # NVENC's stream waited for the producer
    assert decode(tmp_path / "d.mp4")[1] == [0]


def gpu_frames(cp, n: int, nv12: bool) -> list[VideoFrame]:
    """frames(n) as a device frame path hands them out: the picture only on the "device" (RGB,
    and NV12 when asked), ready after an event on stream 777."""
    from dhsdk import kernels
    from dhsdk.cuda.streams import Event
    from dhsdk.render.device_path import DeviceFrame

    out = []
    for f in frames(n):
        device = DeviceFrame(FakeArray(f.image.copy(), cp=cp), FakeArray(kernels.rgb_to_nv12(f.image), cp=cp)
                             if nv12 else None, Event().record(777), 777)
        out.append(VideoFrame(None, f.audio, f.sample_rate, f.pts, f.index, device=device))
    return out


@pytest.mark.parametrize("nv12", [True, False])
def test_gpu_frames_reach_nvenc_without_a_host_copy(nvc, tmp_path, nv12):
    """A frame still on the GPU goes to NVENC as device NV12 (its own, or converted from its
    device RGB on NVENC's stream): nothing is uploaded or downloaded; a sink that needs host
    memory then makes the one host copy, shared by every later reader."""
    from dhsdk.sinks.callback import CallbackSink

    cp, made = nvc
    sent = gpu_frames(cp, 6, nv12)
    cp.log.clear()
    seen = []
    with FileSink(tmp_path / "g.mp4", encoder="nvenc") as sink:
        for f in sent:
            sink.write(f)
    assert all(f.on_device for f in sent)
    assert not [e for e in cp.log if e[0] in ("upload", "download")]
    assert ("wait", made[0].stream, 777) in cp.log                  # NVENC's stream waited for each frame
    video, pts, _ = decode(tmp_path / "g.mp4")
    assert pts == list(range(6))
    assert np.abs(video.astype(float) - np.stack([f.image for f in frames(6)])).mean() < 3.0
    with CallbackSink(seen.append) as host_sink:
        for f in sent:
            host_sink.write(f)
    images = [f.image for f in seen] + [f.image for f in seen]       # read twice: copied once
    downloads = [e for e in cp.log if e[0] == "download"]
    assert len(downloads) == 6 and all(not blocking for *_, blocking in downloads)  # async, into pinned memory
    for got, want in zip(images, frames(6) * 2):
        np.testing.assert_array_equal(got, want.image)
    assert not any(f.on_device for f in sent)


def test_parameter_sets_sent_apart_go_with_the_next_frame(nvc, tmp_path, monkeypatch):
    encode = FakeNvEncoder.Encode

    def split(self, frame):  # SPS/PPS as a packet of their own, then the slices
        out = []
        for p in encode(self, frame):
            cut = p["data"].find(b"\x00\x00\x01\x65")
            out += [{"data": p["data"][:cut]}, {"data": p["data"][cut:]}] if cut > 0 else [p]
        return out

    monkeypatch.setattr(FakeNvEncoder, "Encode", split)
    path = tmp_path / "split.mp4"
    with FileSink(path, encoder="nvenc") as sink:
        for f in frames(4):
            sink.write(f)
    assert decode(path)[1] == [0, 1, 2, 3]


def test_past_the_session_limit_x264_takes_over(nvc, tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="dhsdk.sinks.nvenc"):
        encoders = [NvencEncoder(str(tmp_path / f"{i}.mp4"), "mp4", FILE, fps=FPS) for i in range(3)]
    assert [e.backend for e in encoders] == ["nvenc", "nvenc", "x264"]
    assert "no NVENC session is free" in caplog.text and "encoding with libx264" in caplog.text
    for e in encoders:
        e.encode(frames(1)[0])
    encoders[0].close()
    assert NvencEncoder(str(tmp_path / "again.mp4"), "mp4", FILE, fps=FPS).backend == "nvenc"
    for e in encoders[1:]:
        e.close()
    assert decode(tmp_path / "2.mp4")[1] == [0]               # the x264 one is a valid file too


def test_nvenc_failing_to_start_falls_back_to_x264(nvc, tmp_path, caplog, monkeypatch):
    def refuse(*a, **k):
        raise RuntimeError("NV_ENC_ERR_OUT_OF_MEMORY")  # what the driver says past its session limit

    monkeypatch.setitem(sys.modules, "PyNvVideoCodec", types.SimpleNamespace(CreateEncoder=refuse))
    path = tmp_path / "x.mp4"
    with caplog.at_level(logging.WARNING, logger="dhsdk.sinks.nvenc"), FileSink(path, encoder="nvenc") as sink:
        for f in frames(3):
            sink.write(f)
        assert sink._encoder.backend == "x264"
    assert "NVENC could not start (RuntimeError: NV_ENC_ERR_OUT_OF_MEMORY)" in caplog.text
    assert decode(path)[1] == [0, 1, 2]
    assert nvenc._SESSIONS.acquire(blocking=False) and nvenc._SESSIONS.acquire(blocking=False)  # released


@pytest.mark.gpu
def test_real_nvenc_round_trip(tmp_path):
    from dhsdk.gpu_selftest import nvenc_session_problem

    problem = nvenc_session_problem()  # H100/H200 have no NVENC: their frames go to x264
    if problem:
        pytest.skip(problem)
    path = tmp_path / "gpu.mp4"
    sent = frames(25)
    with FileSink(path, encoder="nvenc") as sink:
        for f in sent:
            sink.write(f)
        assert sink._encoder.backend == "nvenc"
    video, pts, _ = decode(path)
    assert pts == list(range(25))
    # NVENC at constant QP 18 on a smooth gradient, through 4:2:0: a few grey levels on average.
    assert np.abs(video.astype(float) - np.stack([f.image for f in sent])).mean() < 4.0


def test_doctor_nvenc_check(nvc):
    from dhsdk.gpu_selftest import NVENC_TOLERANCE, check_nvenc

    (o,) = check_nvenc(frames=5)
    assert o.passed, o.line()
    assert f"tolerance {NVENC_TOLERANCE:g}), 5 frames" in o.detail


def test_nvenc_probe_tells_a_gpu_without_an_encoder(nvc, monkeypatch):
    from dhsdk.gpu_selftest import check_nvenc, nvenc_session_problem

    assert nvenc_session_problem() is None  # the stand-in opens sessions

    def no_encoder(*args, **kwargs):
        raise RuntimeError("nvEncOpenEncodeSessionEx returned 2 (NV_ENC_ERR_NO_ENCODE_DEVICE)")

    monkeypatch.setitem(sys.modules, "PyNvVideoCodec", types.SimpleNamespace(CreateEncoder=no_encoder))
    assert "no NVENC" in nvenc_session_problem() and "NO_ENCODE_DEVICE" in nvenc_session_problem()
    (o,) = check_nvenc(frames=2)
    assert o.passed is None and "H100/H200" in o.detail


def test_doctor_nvenc_check_says_what_is_missing(monkeypatch):
    import dhsdk.cuda.requirements as req
    from dhsdk.gpu_selftest import check_nvenc

    monkeypatch.setattr(req, "missing_gpu_pieces", lambda need: ["CUDA: no NVIDIA driver was found"])
    (o,) = check_nvenc()
    assert o.passed is None and "SKIP  nvenc  CUDA: no NVIDIA driver" in o.line()
