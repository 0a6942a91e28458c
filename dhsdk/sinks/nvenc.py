"""H.264 on the GPU's NVENC engine (PyNvVideoCodec), muxed with the shared AAC audio.

:class:`NvencEncoder` is a drop-in for :class:`~dhsdk.sinks.encoder.AvEncoder` (same
constructor, ``encode``/``close``/``abort``, timestamps from the stream's sample clock): it
only replaces the video encoder. Frames reach NVENC as NV12 in device memory: a frame rendered
on the GPU (``VideoFrame.device``, from :meth:`dhsdk.render.device_path.DeviceFramePath.render_device`
with ``nv12=True``, which a :class:`~dhsdk.pipeline.scheduler.Scheduler` uses) is encoded from its
device NV12 without a host copy (NVENC's stream waits for the frame's ``ready`` event); a host RGB
image is uploaded and converted on the GPU (:func:`dhsdk.kernels.rgb_to_nv12`, BT.601 limited
range, tagged so in the bitstream); any other device NV12 array can be passed as
``encode(frame, nv12=..., ready=...)``. The bitstream (Annex-B, no B-frames, SPS/PPS in band) is
muxed by PyAV into the mp4/FLV container the x264 encoder would write.

Consumer GeForce cards run at most :data:`MAX_SESSIONS` NVENC sessions at once (8 with current
drivers; professional cards have no limit: raise it with ``DHSDK_NVENC_SESSIONS``). A
process-wide semaphore holds one session per open encoder; an encoder that gets none, or whose
NVENC session fails to open, encodes with libx264 instead and logs why (:attr:`backend` says
which one runs).
"""
from __future__ import annotations

import logging
import os
import threading
from collections import deque
from typing import Any

import numpy as np

from dhsdk.frames import VideoFrame
from dhsdk.sinks.encoder import AvEncoder, H264Settings, even_image

log = logging.getLogger(__name__)

MAX_SESSIONS = int(os.environ.get("DHSDK_NVENC_SESSIONS", "8"))
_SESSIONS = threading.BoundedSemaphore(MAX_SESSIONS)
# x264 preset -> NVENC preset (P1 fastest ... P7 best).
_PRESETS = {"ultrafast": "P1", "superfast": "P2", "veryfast": "P3", "faster": "P4", "fast": "P4",
            "medium": "P5", "slow": "P6", "slower": "P7", "veryslow": "P7", "placebo": "P7"}


def nvenc_problem() -> str | None:
    """Why NVENC cannot be used here, with the fix; None when it can. Checks CUDA first, so a
    machine without a GPU never imports CuPy or PyNvVideoCodec."""
    from dhsdk.cuda.requirements import missing_gpu_pieces

    missing = missing_gpu_pieces(("cuda",)) or missing_gpu_pieces(("cupy", "pynvvideocodec"))
    return "; ".join(missing) or None


def nvenc_options(settings: H264Settings, width: int, height: int, fps: float) -> dict[str, Any]:
    """PyNvVideoCodec ``CreateEncoder`` options equivalent to x264 ``settings``.

    CRF maps to constant QP at the same value (NVENC has no CRF; QP 18 is visually lossless
    like CRF 18), a bitrate to CBR with a one-second VBV buffer; the GOP is ``gop_s`` seconds
    of IDR frames; no B-frames, so packets come out in presentation order; ``zerolatency``
    maps to NVENC's ultra-low-latency tuning.
    """
    gop = max(1, round(settings.gop_s * fps))
    opts: dict[str, Any] = {"codec": "h264", "preset": _PRESETS.get(settings.preset, "P4"), "bf": 0,
                            "gop": gop, "idrperiod": gop, "fps": max(1, round(fps)), "colorspace": "bt601",
                            "tuning_info": "ultra_low_latency" if settings.tune == "zerolatency" else "high_quality"}
    if settings.crf is not None:
        opts.update(rc="constqp", constqp=settings.crf)
    else:
        rate = int(settings.bits_per_pixel * width * height * fps)
        opts.update(rc="cbr", bitrate=rate, maxbitrate=rate, vbvbufsize=rate)
    return opts


def nal_types(annexb: bytes) -> set[int]:
    """The H.264 NAL unit types in an Annex-B byte string (1-5: slices, 5: IDR, 7/8: SPS/PPS)."""
    types, start = set(), annexb.find(b"\x00\x00\x01")
    while start >= 0 and start + 3 < len(annexb):
        types.add(annexb[start + 3] & 0x1F)
        start = annexb.find(b"\x00\x00\x01", start + 3)
    return types


class _NV12Planes:
    """An NV12 device buffer as PyNvVideoCodec's ``Encode`` takes it: an object whose ``cuda()``
    gives one ``__cuda_array_interface__`` per plane (Y, then interleaved UV)."""

    def __init__(self, ptr: int, width: int, height: int):
        def plane(addr: int, shape: tuple, strides: tuple) -> Any:
            return type("Plane", (), {"__cuda_array_interface__": {
                "shape": shape, "strides": strides, "typestr": "|u1", "data": (addr, False), "version": 3}})()

        self.planes = [plane(ptr, (height, width, 1), (width, 1, 1)),
                       plane(ptr + width * height, (height // 2, width // 2, 2), (width, 2, 1))]

    def cuda(self) -> list:
        return self.planes


class NvencEncoder(AvEncoder):
    """H.264 (NVENC) + AAC into a container PyAV writes; see :class:`AvEncoder` for the arguments
    and the lifecycle (opens at the first frame; one thread calls ``encode``/``close``).

    Holds an NVENC session from construction to :meth:`close`/:meth:`abort`. Pick it with
    :func:`dhsdk.sinks.encoder.encoder_class`, which checks first that NVENC can run here
    (an encoder made where it cannot falls back to libx264 at its first frame, logged).

    Attributes:
        backend: ``"nvenc"``, or ``"x264"`` after a fallback (no free session, NVENC failed).
    """

    def __init__(self, target: str, container_format: str, settings: H264Settings, fps: float | None = None,
                 container_options: dict[str, str] | None = None):
        super().__init__(target, container_format, settings, fps, container_options)
        self._session = _SESSIONS.acquire(blocking=False)
        self.backend = "nvenc" if self._session else "x264"
        if not self._session:
            log.warning("%s: no NVENC session is free (this process opens at most %d, DHSDK_NVENC_SESSIONS; "
                        "consumer GeForce cards allow 8): encoding with libx264", target, MAX_SESSIONS)
        self._nvenc: Any = None
        self._nv12: tuple[Any, Any] = (None, None)  # the device frame encode() was given, if any
        self._pending: deque[int] = deque()    # frame numbers queued in NVENC, oldest first
        self._header = b""                      # parameter sets NVENC sent apart from a frame
        self._inflight: deque[tuple] = deque()  # (event, NV12 buffer) until NVENC has read it

    # ---- video --------------------------------------------------------------------------
    def _add_video(self, container: Any, width: int, height: int) -> Any:
        if self.backend == "nvenc":
            try:
                return self._open_nvenc(container, width, height)
            except Exception as e:  # noqa: BLE001 - any NVENC failure (sessions taken by other processes, ...)
                log.warning("%s: NVENC could not start (%s: %s): encoding with libx264", self.target,
                            type(e).__name__, e)
                self._release()
                self.backend = "x264"
        return super()._add_video(container, width, height)

    def _open_nvenc(self, container: Any, width: int, height: int) -> Any:
        from dhsdk._optional import require
        from dhsdk.cuda.streams import Stream, cupy_for

        nvc = require("PyNvVideoCodec", "NVENC encoding")
        self._cp = cupy_for("NVENC encoding")
        self._stream = Stream()
        opts = nvenc_options(self.settings, width, height, float(self.fps))
        self._nvenc = nvc.CreateEncoder(width, height, "NV12", False, cudacontext=self._cp.cuda.driver.ctxGetCurrent(),
                                        cudastream=self._stream.ptr, **opts)
        return container.add_mux_stream("h264", rate=self.fps, width=width, height=height)

    def encode(self, frame: VideoFrame, nv12: Any = None, ready: Any = None) -> None:
        """Encode and mux one frame (see :meth:`AvEncoder.encode`).

        Args:
            frame: the frame. One rendered on the GPU (``frame.device``) is encoded from its
                device NV12, or converted from its device RGB, never copied to the host; a
                host frame's ``image`` is uploaded and converted. Unless ``nv12`` is given.
            nv12: optional (H * 3 / 2, W) uint8 NV12 CUDA array of the same (even-sided) image.
            ready: the :class:`dhsdk.cuda.Event` after which ``nv12`` is complete (NVENC's
                stream waits for it on the device).
        """
        if nv12 is None and frame.device is not None:
            nv12, ready = frame.device.nv12, frame.device.ready
        self._nv12 = (nv12, ready)
        try:
            super().encode(frame)
        finally:
            self._nv12 = (None, None)

    def _encode_video(self, frame: VideoFrame, k: int) -> None:
        if self._nvenc is None:
            return super()._encode_video(frame, k)
        from dhsdk import kernels
        from dhsdk.cuda.arrays import device_view
        from dhsdk.cuda.streams import Event

        while self._inflight and self._inflight[0][0].done():
            self._inflight.popleft()
        nv12, ready = self._nv12
        device = frame.device
        with self._stream:
            if ready is not None:
                self._stream.wait(ready)
            if nv12 is None:
                even = device is not None and device.shape[0] % 2 == 0 and device.shape[1] % 2 == 0
                rgb = device.rgb if even else self._cp.asarray(np.ascontiguousarray(even_image(frame.image)))
                nv12 = kernels.rgb_to_nv12(rgb, stream=self._stream)
        height, width = nv12.shape[0] * 2 // 3, nv12.shape[1]
        self._pending.append(k)
        self._mux_video(self._nvenc.Encode(_NV12Planes(device_view(nv12).ptr, width, height)))
        self._inflight.append((Event().record(self._stream), nv12))

    def _mux_video(self, packets: Any) -> None:
        """Mux NVENC's output: bytes (PyNvVideoCodec 1.x) or a list of packets / dicts with
        ``"data"`` (2.x), one access unit per frame, in the order frames went in."""
        if isinstance(packets, (bytes, bytearray, memoryview)):
            packets = [packets] if len(packets) else []
        for p in packets:
            data = self._header + bytes(p["data"] if isinstance(p, dict) else p)
            types = nal_types(data)
            if not types & {1, 2, 3, 4, 5}:  # parameter sets alone: they belong to the next frame
                self._header = data
                continue
            self._header = b""
            packet = self._av.Packet(data)
            packet.pts = packet.dts = self._pending.popleft()
            # Frame numbers are in 1/fps; the muxer may change the stream's time base (mp4: 1/12800).
            packet.time_base, packet.stream, packet.is_keyframe = 1 / self.fps, self._video, 5 in types
            self._container.mux(packet)

    # ---- closing ----------------------------------------------------------------------
    def _flush_video(self) -> None:
        if self._nvenc is None:
            return super()._flush_video()
        nvenc, self._nvenc = self._nvenc, None
        self._mux_video(nvenc.EndEncode())

    def close(self) -> None:
        """Flush NVENC and the audio, finish the container, give the session back."""
        try:
            super().close()
        finally:
            self._release()

    def abort(self) -> None:
        """Close without flushing (errors ignored) and give the session back."""
        self._nvenc = None
        try:
            super().abort()
        finally:
            self._release()

    def _release(self) -> None:
        self._inflight.clear()
        if self._session:
            self._session = False
            _SESSIONS.release()
