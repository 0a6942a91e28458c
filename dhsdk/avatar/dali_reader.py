"""A DALI video reader behind the :class:`~dhsdk.avatar.material.Material` interface.

``open_material(path, reader="dali")`` decodes with NVIDIA DALI's FFmpeg-based video reader
(``fn.experimental.readers.video``) in sequences of :data:`SEQUENCE` frames:

* ``dali_device="gpu"``: NVDEC decodes H.264/H.265/VP9/AV1 straight into GPU memory;
  :meth:`DaliVideo.device_frames` yields the frames as device arrays (DALI tensors with
  ``__cuda_array_interface__`` and DLPack, zero-copy into CuPy or torch), and
  :meth:`DaliVideo.frames` copies each to the host for analysis.
* ``dali_device="cpu"``: DALI's CPU decoder (VP9 and AV1 only: DALI's CPU build has no
  H.264/H.265), host frames. It runs on machines without a GPU, which is how the tests
  check this module's frame order, padding and rotation handling against PyAV.

The last, partial sequence is padded by DALI and its padding dropped here (frame numbers of
padded frames are -1), so every frame comes out exactly once, in order. The display rotation
is applied like the PyAV reader does. Install: ``pip install nvidia-dali-cuda130``.
"""
from __future__ import annotations

from typing import Any, Iterator

import numpy as np

from dhsdk.avatar.material import DecodeStats, MaterialInfo
from dhsdk.errors import DeviceError, InputError

SEQUENCE = 16          # frames per DALI sequence (one pipeline run)
CPU_CODECS = ("vp9", "av1", "libdav1d", "libaom-av1")


def _dali() -> tuple[Any, Any]:
    from dhsdk._optional import require

    dali = require("nvidia.dali", "the DALI video reader")
    return dali.pipeline_def, dali.fn


def _pipeline(info: MaterialInfo, device: str) -> Any:
    pipeline_def, fn = _dali()
    if device == "cpu" and info.codec not in CPU_CODECS:
        raise InputError(f"{info.path}: DALI's CPU decoder reads VP9 and AV1 only, this video is {info.codec}: "
                         f"use the default reader (reader='pyav') or dali_device='gpu'")
    if device == "gpu":
        from dhsdk.device import cuda_problem

        problem = cuda_problem()
        if problem:
            raise DeviceError(f"DALI GPU decoding needs a CUDA GPU: {problem}")

    @pipeline_def(batch_size=1, num_threads=2, device_id=0 if device == "gpu" else None, prefetch_queue_depth=1)
    def video():
        frames, numbers = fn.experimental.readers.video(
            filenames=[str(info.path)], sequence_length=SEQUENCE, step=SEQUENCE, pad_mode="constant",
            enable_frame_num="sequence", device=device, name="reader")
        return frames, numbers

    pipe = video()
    try:
        pipe.build()
    except RuntimeError as e:
        raise InputError(f"{info.path}: DALI cannot read this video ({str(e).splitlines()[0]})") from None
    return pipe


class DaliVideo:
    """Decodes one video with DALI (see the module docstring).

    Args:
        info: the probe of the video (from :func:`~dhsdk.avatar.material.open_material`).
        device: ``"gpu"`` (NVDEC, device memory) or ``"cpu"``.
    """

    def __init__(self, info: MaterialInfo, device: str = "gpu"):
        if device not in ("gpu", "cpu"):
            raise InputError(f"dali_device must be 'gpu' or 'cpu', got {device!r}")
        self.info = info
        self.device = device

    def device_frames(self) -> Iterator[Any]:
        """Frames as decoded ((H, W, 3) uint8 RGB, before the display rotation): CuPy arrays on
        the GPU with ``device="gpu"`` (zero-copy views of DALI's buffers), numpy with ``"cpu"``.

        A frame is valid until the next one is requested (DALI reuses its buffers).
        """
        pipe = _pipeline(self.info, self.device)
        for _ in range(pipe.epoch_size("reader")):
            frames, numbers = pipe.run()
            seq = frames.as_tensor()
            index = np.asarray((numbers.as_cpu() if self.device == "gpu" else numbers).as_tensor()).reshape(-1)
            for j in np.flatnonzero(index >= 0):
                yield _item(seq, int(j))

    def frames(self, stats: DecodeStats) -> Iterator[np.ndarray]:
        """Upright host frames ((H, W, 3) uint8 RGB, C-contiguous), like the PyAV reader; a
        decoder error ends the iteration and is recorded in ``stats``."""
        k = self.info.rotation // 90
        source = self.device_frames()
        while True:
            try:
                frame = next(source)
            except StopIteration:
                return
            except RuntimeError as e:  # DALI reports decoder errors as RuntimeError
                stats.error = f"DALI: {str(e).splitlines()[0]}"
                return
            host = _to_host(frame)
            yield np.ascontiguousarray(np.rot90(host, k)) if k else host


def _item(seq: Any, j: int) -> Any:
    """Frame j of a (1, F, H, W, 3) DALI sequence tensor, as a view."""
    if not hasattr(seq, "__cuda_array_interface__"):
        arr = np.asarray(seq)
        return arr.reshape((-1,) + arr.shape[-3:])[j]
    from dhsdk._optional import require

    cupy = require("cupy", "DALI frames on the GPU")  # reads DALI's device buffer without a copy
    arr = cupy.asarray(seq)
    return arr.reshape((-1,) + arr.shape[-3:])[j]


def _to_host(frame: Any) -> np.ndarray:
    if isinstance(frame, np.ndarray):
        return np.ascontiguousarray(frame)
    return np.ascontiguousarray(frame.get())
