"""``FileSink``: frames to an H.264 + AAC mp4, written atomically.

The mp4 is encoded into a temporary file beside the target and renamed into place by
:meth:`close`; a failure (an exception inside the ``with`` block, a full disk, Ctrl-C) or
:meth:`abort` leaves nothing at the target and removes the temporary file. A write that fails
(disk full, file size limit) raises :class:`~dhsdk.errors.OutputError` saying why, after
removing the temporary file.
"""
from __future__ import annotations

import contextlib
import os
import sys

from dhsdk.atomic import atomic_file
from dhsdk.errors import InputError, write_failure
from dhsdk.frames import VideoFrame
from dhsdk.sinks.base import Sink
from dhsdk.sinks.encoder import FILE, H264Settings, encoder_class

# Bits per pixel per frame assumed for a CRF-encoded presenter: twice the 0.05 measured on
# the default avatar (768x1024, 25 fps, CRF 18: 1.0 Mb/s), so free-space checks err safe.
_CRF_BITS_PER_PIXEL = 0.1


# Muxer flags of the two mp4 layouts (see FileSink).
_FASTSTART = {"movflags": "+faststart"}
_FRAGMENTED = {"movflags": "+frag_keyframe+empty_moov+delay_moov+default_base_moof"}


class FileSink(Sink):
    """Write frames to an mp4 (H.264 yuv420p + 48 kHz stereo AAC).

    Two layouts. The default (a finished render) puts the index first (``+faststart``): players
    and browsers start it at once, but the muxer holds the index of every packet until the end
    (about 18 MB an hour at 25 fps with 48 kHz audio) and rewrites the file once when closing.
    ``fragmented=True`` (live recordings, ``--sink file:``: no known end) writes a fragment at
    every keyframe with its own index, so memory stays flat however long it runs and no
    rewrite happens at the end; every player that reads mp4 plays it.

    Args:
        path: the mp4 to write; its directory must exist and be writable.
        fps: frame rate; inferred from the first frame's audio length when None.
        settings: encoder settings (default :data:`dhsdk.sinks.encoder.FILE`: x264 veryfast,
            CRF 18, a keyframe every 2 s).
        encoder: ``"auto"`` (NVENC where it can run, else libx264), ``"x264"`` or ``"nvenc"``
            (see :func:`dhsdk.sinks.encoder.encoder_class`).
        fragmented: fragmented mp4 (above) instead of ``+faststart``.

    Raises:
        InputError: ``path`` is a directory, its directory does not exist or is not writable;
            an unknown ``encoder``.
        DeviceError: ``encoder="nvenc"`` where NVENC cannot run (says what is missing).
    """

    def __init__(self, path: str | os.PathLike, fps: float | None = None, settings: H264Settings = FILE,
                 encoder: str = "auto", fragmented: bool = False):
        super().__init__()
        self.path = os.fspath(path)
        make = encoder_class(encoder)
        self._files = contextlib.ExitStack()
        tmp = self._files.enter_context(atomic_file(self.path, suffix=".mp4"))
        self._encoder = make(str(tmp), "mp4", settings, fps=fps, container_options=_FRAGMENTED if fragmented else _FASTSTART)

    def __str__(self) -> str:
        return f"file:{self.path}"

    @property
    def fps(self) -> float | None:
        """The frame rate (known once the first frame is written, or when given)."""
        return float(self._encoder.fps) if self._encoder.fps else None

    def _write(self, frame: VideoFrame) -> None:
        try:
            self._encoder.encode(frame)
        except OSError as e:
            self.abort()
            raise write_failure(self.path, e) from None
        self.metrics.count("written")

    def _close(self) -> None:
        try:
            if self._encoder.frames == 0:
                raise InputError(f"no frames were written to {self.path}: nothing to save")
            try:
                self._encoder.close()
            except OSError as e:
                raise write_failure(self.path, e) from None
        except BaseException:
            self._encoder.abort()
            self._files.__exit__(*sys.exc_info())  # removes the temporary file
            raise
        try:
            self._files.close()  # renames the finished mp4 into place
        except OSError as e:
            raise write_failure(self.path, e) from None

    def _abort(self) -> None:
        self._encoder.abort()
        reason = InputError(f"writing {self.path} was aborted")
        self._files.__exit__(type(reason), reason, None)  # removes the temporary file, never renames


def estimate_bytes(width: int, height: int, fps: float, seconds: float, settings: H264Settings = FILE) -> float:
    """About how large an mp4 of ``seconds`` at ``width`` x ``height`` and ``fps`` will be, in bytes
    (video at :data:`_CRF_BITS_PER_PIXEL` for CRF settings, plus the AAC track).

    Args:
        width, height: output frame size in pixels.
        fps: frames per second.
        seconds: duration.
        settings: the encoder settings (a bitrate-driven one uses its own bits per pixel).
    """
    bits_per_pixel = settings.bits_per_pixel or _CRF_BITS_PER_PIXEL
    video = bits_per_pixel * width * height * fps
    return seconds * (video + settings.audio_bitrate) / 8
