"""The DALI video reader against the PyAV reader: same frames, same order, every frame once
(the last partial DALI sequence's padding dropped), display rotation applied.

DALI's CPU decoder runs here (VP9/AV1 only); NVDEC on a GPU is covered by the ``gpu`` test.
"""
from __future__ import annotations

import numpy as np
import pytest
from avatar_material import astronaut, write_video

from dhsdk.avatar.dali_reader import SEQUENCE
from dhsdk.avatar.material import open_material
from dhsdk.errors import InputError

pytest.importorskip("nvidia.dali", reason="DALI is not installed (pip install nvidia-dali-cuda130)")

N = SEQUENCE + 5   # a full sequence and a padded partial one


def _frames(n: int) -> list[np.ndarray]:
    """The astronaut (downscaled) with frame i's number as a white bar 4(i+1) px long on black."""
    import cv2

    base = cv2.resize(astronaut(), (128, 96), interpolation=cv2.INTER_AREA)
    out = []
    for i in range(n):
        f = base.copy()
        f[:8] = 0
        f[:8, : 4 * (i + 1)] = 255
        out.append(f)
    return out


@pytest.fixture(scope="module")
def vp9(tmp_path_factory):
    return write_video(tmp_path_factory.mktemp("dali") / "clip.webm", _frames(N), codec="libvpx-vp9", crf=None)


def test_cpu_pipeline_matches_pyav_frame_for_frame(vp9):
    ref = list(open_material(vp9).frames())
    m = open_material(vp9, reader="dali", dali_device="cpu")
    got = list(m.frames())
    assert m.stats.decoded == len(got) == len(ref) == N
    assert not m.stats.truncated(m.info)
    for a, b in zip(got, ref):
        assert a.shape == b.shape and a.dtype == np.uint8 and a.flags.c_contiguous
        # Both decode the same VP9 stream with FFmpeg; only the YUV -> RGB conversion may differ.
        assert np.abs(a.astype(int) - b).mean() < 2.0
    bars = [int(round((f[4, :, 0] > 128).sum() / 4)) for f in got]
    assert bars == list(range(1, N + 1))   # in order, none repeated or lost


def test_rotation_is_applied_like_pyav(tmp_path):
    path = write_video(tmp_path / "rot.webm", _frames(3), codec="libvpx-vp9", crf=None, rotation=90)
    m = open_material(path, reader="dali", dali_device="cpu")
    ref = list(open_material(path).frames())
    got = list(m.frames())
    assert m.info.rotation == 90 and got[0].shape == ref[0].shape == (128, 96, 3)
    assert np.abs(got[0].astype(int) - ref[0]).mean() < 2.0


def test_cpu_decoder_refuses_h264_with_the_alternative(tmp_path):
    path = write_video(tmp_path / "clip.mp4", _frames(3))
    with pytest.raises(InputError, match="VP9 and AV1 only.*reader='pyav'"):
        next(open_material(path, reader="dali", dali_device="cpu").frames())


def test_unknown_reader_is_refused(vp9):
    with pytest.raises(InputError, match="reader must be"):
        open_material(vp9, reader="ffmpeg")


@pytest.mark.gpu
def test_nvdec_device_frames_match_pyav(tmp_path):
    cupy = pytest.importorskip("cupy")
    from dhsdk.avatar.dali_reader import DaliVideo

    path = write_video(tmp_path / "clip.mp4", _frames(N))
    ref = list(open_material(path).frames())
    got = [cupy.asnumpy(f) for f in DaliVideo(open_material(path).info, "gpu").device_frames()]
    assert len(got) == N
    # NVDEC and FFmpeg decode H.264 bit-exactly; the YUV -> RGB conversions differ by rounding.
    assert max(np.abs(a.astype(int) - b).mean() for a, b in zip(got, ref)) < 2.0
