"""The one H.264 + AAC encoder of the SDK (PyAV), shared by the file and RTMP sinks.

Timestamps come from the stream's sample clock, never from the wall clock: video frame ``k``
(counted from the first frame this encoder saw) has pts ``k`` in a ``1/fps`` time base, and
its audio is placed at input sample ``round(k * sr / fps)``. Frames missing upstream (dropped
by a queue) leave a gap in video and are filled with silence in audio, so sound and lips stay
in sync after any drop. Video is always yuv420p (players reject the 4:4:4 x264 picks from RGB)
tagged BT.601 limited range, which is what the RGB -> YUV conversion uses; odd frame sides are
padded by one edge pixel (4:2:0 needs even sides). Audio is resampled to 48 kHz stereo AAC,
what streaming ingests and players expect.

The video encoder is chosen per sink (:func:`encoder_class`): libx264 here, or NVENC on the GPU
(:class:`dhsdk.sinks.nvenc.NvencEncoder`, same interface).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from dhsdk.errors import DeviceError, InputError
from dhsdk.frames import VideoFrame

log = logging.getLogger(__name__)
ENCODERS = ("auto", "x264", "nvenc")

# Non-integer rates recognised when inferring fps from one frame's audio length.
_NTSC_RATES = (Fraction(24000, 1001), Fraction(30000, 1001), Fraction(60000, 1001))


@dataclass(frozen=True)
class H264Settings:
    """How to encode.

    Attributes:
        preset: x264 preset (``ultrafast`` ... ``veryslow``).
        tune: x264 tune (``zerolatency`` for live: no B-frames, no look-ahead) or None.
        crf: constant-quality factor (lower is better; 18 is visually lossless), or None to
            use a bitrate.
        bits_per_pixel: with ``crf=None``, the video bitrate as bits per pixel per frame
            (0.1 at 720x1280, 25 fps = 2.3 Mb/s), capped by a one-second VBV buffer.
        gop_s: seconds between keyframes (a viewer joining a live stream waits up to this).
        audio_rate: AAC sample rate in Hz.
        audio_bitrate: AAC bitrate in bits/s.
    """

    preset: str
    tune: str | None
    crf: int | None
    bits_per_pixel: float | None
    gop_s: float
    audio_rate: int = 48000
    audio_bitrate: int = 128000


FILE = H264Settings(preset="veryfast", tune=None, crf=18, bits_per_pixel=None, gop_s=2.0)
LIVE = H264Settings(preset="ultrafast", tune="zerolatency", crf=None, bits_per_pixel=0.1, gop_s=1.0)


def infer_frame_rate(samples: int, sample_rate: int) -> Fraction:
    """The frame rate of a stream whose frame 0 carries ``samples`` audio samples.

    Frame 0 plays samples ``[0, round(sample_rate / fps))`` (the stream clock of
    :mod:`dhsdk.pipeline.stream`), so the integer rate that explains the count is chosen,
    else an NTSC rate, else the exact ratio. One frame cannot tell 24 from 23.976 or 60 from
    59.94 at 16 kHz (both give the same count): pass ``fps=`` to the sink for those.

    Args:
        samples: audio samples in the first frame (> 0).
        sample_rate: Hz.
    """
    exact = Fraction(sample_rate, samples)
    for candidates in ((Fraction(n) for n in range(1, 241)), _NTSC_RATES):
        fits = [r for r in candidates if round(sample_rate / r) == samples]
        if fits:
            return min(fits, key=lambda r: abs(r - exact))
    return exact.limit_denominator(1001)


def even_image(image: np.ndarray) -> np.ndarray:
    """``image`` with odd sides padded by one edge-replicated row/column (H.264 4:2:0 needs even).

    Args:
        image: (H, W, C) array.

    Returns:
        (H + H % 2, W + W % 2, C), the input itself when both sides are even.
    """
    h, w = image.shape[:2]
    if h % 2 == 0 and w % 2 == 0:
        return image
    return np.pad(image, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")


class FixedFormat:
    """The frame format an encoded stream is fixed to by its first frame.

    Checks each frame against the first (same size and audio rate, advancing index) and knows
    the frame rate, given or inferred from the first frame (:func:`infer_frame_rate`). Sinks
    that encode on another thread call :meth:`check` on the caller's thread, so a bad frame
    raises where it was written.

    Args:
        fps: frame rate; inferred from the first frame when None.
    """

    def __init__(self, fps: float | None = None):
        self.fps: Fraction | None = Fraction(fps).limit_denominator(1001) if fps else None
        self.size: tuple[int, int] | None = None   # (width, height)
        self.sample_rate: int | None = None          # Hz
        self.first_index: int | None = None
        self.last_index: int | None = None

    def check(self, frame: VideoFrame) -> None:
        """Accept ``frame`` into the stream or raise.

        Raises:
            InputError: the frame's size or audio rate differs from the first frame's, its
                index does not advance, or the rate cannot be inferred (no audio).
        """
        h, w = frame.shape[:2]   # a GPU frame stays there
        if self.size is None:
            if self.fps is None:
                if len(frame.audio) == 0:
                    raise InputError("cannot tell the frame rate: the first frame carries no audio "
                                     "(pass fps= to the sink)")
                self.fps = infer_frame_rate(len(frame.audio), frame.sample_rate)
            self.size, self.sample_rate, self.first_index = (w, h), int(frame.sample_rate), frame.index
        elif (w, h) != self.size:
            raise InputError(f"frame {frame.index} is {w}x{h} but the stream is {self.size[0]}x{self.size[1]}: "
                             f"an encoded stream cannot change size (resize frames, or open a new sink)")
        elif frame.sample_rate != self.sample_rate:
            raise InputError(f"frame {frame.index} has audio at {frame.sample_rate} Hz but the stream is at "
                             f"{self.sample_rate} Hz: resample it first")
        elif frame.index <= self.last_index:
            raise InputError(f"frame index {frame.index} does not advance (the last was {self.last_index}): "
                             f"frames must come in order")
        self.last_index = frame.index


class AvEncoder:
    """H.264 + AAC into a container PyAV writes: an mp4 path, or an ``rtmp://`` URL as FLV.

    The container opens at the first frame (its size, audio rate and, unless given, fps fix
    the streams: see :class:`FixedFormat`). Not thread-safe: one thread calls :meth:`encode`
    and :meth:`close`.

    Args:
        target: file path or URL.
        container_format: ``"mp4"``, ``"flv"``, ...
        settings: :data:`FILE`, :data:`LIVE` or your own :class:`H264Settings`.
        fps: frame rate; inferred from the first frame's audio length when None.
        container_options: muxer options (e.g. ``{"movflags": "+faststart"}``).

    A URL target connects at the first frame (FFmpeg opens the output when writing its header),
    so connection errors surface from :meth:`encode` as ``OSError`` subclasses.
    """

    def __init__(self, target: str, container_format: str, settings: H264Settings, fps: float | None = None,
                 container_options: dict[str, str] | None = None):
        self.target = target
        self.container_format = container_format
        self.settings = settings
        self.format = FixedFormat(fps)
        self.container_options = dict(container_options or {})
        self._container: Any = None
        self._frames = 0          # video frames encoded
        self._audio_in = 0        # input audio samples consumed (incl. gap silence)
        self._audio_out = 0       # output audio samples sent to the AAC encoder

    @property
    def frames(self) -> int:
        """Video frames encoded so far."""
        return self._frames

    @property
    def fps(self) -> Fraction | None:
        """The frame rate (known once the first frame is encoded, or when given)."""
        return self.format.fps

    # ---- opening ----------------------------------------------------------------------
    def _open(self) -> None:
        from dhsdk._optional import require

        av = require("av", "H.264/AAC encoding")
        w, h = self.format.size
        self._av = av
        container = av.open(self.target, "w", format=self.container_format, container_options=self.container_options)
        try:
            self._video = self._add_video(container, w + w % 2, h + h % 2)
            self._audio = container.add_stream("aac", rate=self.settings.audio_rate, layout="stereo")
            self._audio.bit_rate = self.settings.audio_bitrate
            self._audio.codec_context.open()  # fixes frame_size (1024 for AAC)
            self._resampler = av.AudioResampler(format="fltp", layout="stereo", rate=self.settings.audio_rate)
            self._fifo = av.AudioFifo()
        except BaseException:
            container.close()
            raise
        self._container = container

    def _add_video(self, container: Any, width: int, height: int) -> Any:
        s = self.settings
        stream = container.add_stream("libx264", rate=self.fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        cc = stream.codec_context
        cc.time_base = 1 / self.fps
        cc.colorspace = int(self._av.video.reformatter.Colorspace.ITU601)  # what swscale's RGB -> YUV uses
        cc.color_range = int(self._av.video.reformatter.ColorRange.MPEG)
        gop = max(1, round(s.gop_s * self.fps))
        options = {"preset": s.preset, "x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0"}
        if s.tune:
            options["tune"] = s.tune
        if s.crf is not None:
            options["crf"] = str(s.crf)
        else:
            rate = int(s.bits_per_pixel * width * height * self.fps)
            options.update(b=str(rate), maxrate=str(rate), bufsize=str(rate))
        stream.options = options
        return stream

    # ---- encoding ---------------------------------------------------------------------
    def encode(self, frame: VideoFrame) -> None:
        """Encode and mux one checked frame (see :func:`dhsdk.sinks.base.check_frame`).

        Raises:
            InputError: see :meth:`FixedFormat.check`.
        """
        self.format.check(frame)
        if self._container is None:
            self._open()
        k = frame.index - self.format.first_index
        self._encode_video(frame, k)
        self._encode_audio(frame.audio, k)
        self._frames = k + 1

    def _encode_video(self, frame: VideoFrame, k: int) -> None:
        av = self._av
        vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(even_image(frame.image)), format="rgb24")
        vf = vf.reformat(format="yuv420p")
        vf.pts, vf.time_base = k, self._video.codec_context.time_base
        for packet in self._video.encode(vf):
            self._container.mux(packet)

    def _encode_audio(self, pcm: np.ndarray, k: int) -> None:
        sr = self.format.sample_rate
        spf = sr / self.fps
        gap = int(round(k * sr / self.fps)) - self._audio_in
        if gap > spf / 2:          # frames went missing upstream: keep sync with silence
            pcm = np.concatenate([np.zeros(gap, np.float32), pcm])
        elif gap < -spf / 2:       # overlapping audio: drop what was already played
            pcm = pcm[-gap:]
        self._audio_in += len(pcm)
        if len(pcm):
            af = self._av.AudioFrame.from_ndarray(np.ascontiguousarray(pcm, np.float32)[None], format="flt",
                                                  layout="mono")
            af.sample_rate = sr
            self._push_audio(self._resampler.resample(af))
        self._drain_audio(final=False)

    def _push_audio(self, frames: list) -> None:
        for f in frames:
            f.pts = None
            self._fifo.write(f)

    def _drain_audio(self, final: bool) -> None:
        size = self._audio.codec_context.frame_size
        while self._fifo.samples >= size or (final and self._fifo.samples):
            f = self._fifo.read(size) if self._fifo.samples >= size else self._fifo.read()
            f.pts, f.time_base = self._audio_out, Fraction(1, self.settings.audio_rate)
            self._audio_out += f.samples
            for packet in self._audio.encode(f):
                self._container.mux(packet)

    # ---- closing ----------------------------------------------------------------------
    def close(self) -> None:
        """Flush both encoders and finish the container (an mp4's index is written here)."""
        if self._container is None:
            return
        try:
            self._push_audio(self._resampler.resample(None))
            self._drain_audio(final=True)
            self._flush_video()
            for packet in self._audio.encode(None):
                self._container.mux(packet)
        finally:
            container, self._container = self._container, None
            container.close()

    def _flush_video(self) -> None:
        for packet in self._video.encode(None):
            self._container.mux(packet)

    def abort(self) -> None:
        """Close the container without flushing (after a failure; errors are ignored)."""
        container, self._container = self._container, None
        if container is not None:
            try:
                container.close()
            except Exception:  # noqa: BLE001  (the endpoint is already broken; nothing to report)
                pass


def encoder_class(kind: str = "auto") -> type[AvEncoder]:
    """The H.264 encoder a sink opens for ``kind`` (both take :class:`AvEncoder`'s arguments).

    Args:
        kind: ``"x264"`` (libx264 on the CPU), ``"nvenc"`` (the GPU's encoder,
            :class:`~dhsdk.sinks.nvenc.NvencEncoder`) or ``"auto"`` (NVENC where it can run).

    Raises:
        InputError: an unknown ``kind``.
        DeviceError: ``"nvenc"`` where NVENC cannot run (says which piece is missing and how
            to install it). Past the NVENC session limit an NVENC encoder falls back to libx264.
    """
    if kind not in ENCODERS:
        raise InputError(f"encoder must be one of {ENCODERS}, got {kind!r}")
    if kind == "x264":
        return AvEncoder
    from dhsdk.sinks.nvenc import NvencEncoder, nvenc_problem

    problem = nvenc_problem()
    if problem is None:
        return NvencEncoder
    if kind == "nvenc":
        raise DeviceError(f"encoder='nvenc' cannot run here: {problem}")
    log.debug("encoder='auto': libx264, NVENC cannot run here (%s)", problem)
    return AvEncoder
