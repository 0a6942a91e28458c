"""Reading material: every container/codec this FFmpeg encodes, images in every mode, display
rotation, downscaling for analysis, and the bad files of issue 3 (empty, not a video,
truncated), each a clear InputError or a decode that says it stopped early."""
from __future__ import annotations

import numpy as np
import pytest

import avatar_material as gen
from dhsdk.avatar.material import ANALYSIS_MAX_SIDE, IMAGE_BACKGROUND, fit_long_side, open_material
from dhsdk.errors import InputError

SIZE = (192, 144)  # width, height of the small format clips
N = 12
# Mean absolute error (0..255) of a decoded frame against the RGB it was made from: yuv420p
# halves the chroma resolution (~3-4 levels on this textured photo) and each codec's default
# rate control adds its own loss (x264 crf 18 ~1, VP9/AV1 defaults ~3-5 on 12 tiny frames);
# 10 is well above those and far below a wrong frame (a shift of 8 px gives ~25).
FRAME_MAE = 10.0


def _frames(n: int = N, size: tuple[int, int] = SIZE) -> list[np.ndarray]:
    """n frames of the astronaut panning right by 2 px per frame."""
    import cv2

    small = cv2.resize(np.asarray(gen.astronaut()), (2 * size[0], 2 * size[1]), interpolation=cv2.INTER_AREA)
    return [np.ascontiguousarray(small[: size[1], 2 * k: 2 * k + size[0]]) for k in range(n)]


def _mae(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.float64) - b.astype(np.float64)).mean())


FORMATS = [("mp4", "libx264", "h264"), ("mov", "libx264", "h264"), ("mkv", "libx264", "h264"),
           ("mp4", "libx265", "hevc"), ("mkv", "libx265", "hevc"), ("webm", "libvpx-vp9", "vp9"),
           ("mkv", "libvpx-vp9", "vp9"), ("webm", "libsvtav1", "av1"), ("mp4", "libsvtav1", "av1"),
           ("webm", "libaom-av1", "av1")]


@pytest.mark.parametrize("container,encoder,family", FORMATS, ids=[f"{c}-{e}" for c, e, _ in FORMATS])
def test_video_formats_decode_every_frame(tmp_path, container, encoder, family):
    if not gen.encoder_available(encoder):
        pytest.skip(f"this FFmpeg build has no {encoder} encoder")
    src = _frames()
    path = gen.write_video(tmp_path / f"clip.{container}", src, codec=encoder)
    m = open_material(path)
    assert m.info.kind == "video"
    assert (m.info.width, m.info.height) == SIZE
    assert m.info.fps == pytest.approx(25.0)
    assert family in m.info.codec or (family == "av1" and "dav1d" in m.info.codec), m.info.codec
    frames = list(m.frames())
    assert len(frames) == N
    assert not m.stats.truncated(m.info), m.stats
    for k, (got, want) in enumerate(zip(frames, src)):
        assert got.shape == (SIZE[1], SIZE[0], 3) and got.dtype == np.uint8 and got.flags.c_contiguous
        assert _mae(got, want) < FRAME_MAE, f"frame {k}"


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_display_rotation_gives_upright_frames(tmp_path, rotation):
    """A phone stores the sensor's frames and a display matrix; the frames must come out upright
    and the reported size must be the upright one."""
    upright = _frames(6, (144, 192))                      # portrait, as the viewer sees it
    k = rotation // 90
    stored = [np.ascontiguousarray(np.rot90(f, -k)) for f in upright]  # what the sensor recorded
    path = gen.write_video(tmp_path / "phone.mp4", stored, rotation=rotation)
    m = open_material(path)
    assert m.info.rotation == rotation
    assert (m.info.width, m.info.height) == (144, 192)
    frames = list(m.frames())
    assert len(frames) == 6
    for got, want in zip(frames, upright):
        assert got.shape == want.shape and got.flags.c_contiguous
        assert _mae(got, want) < FRAME_MAE
        # and not merely the right shape: the un-rotated stored frame is far off
        assert _mae(got, np.rot90(np.rot90(want))) > 2 * FRAME_MAE


def test_unrotated_video_reports_zero_rotation(tmp_path):
    m = open_material(gen.write_video(tmp_path / "plain.mp4", _frames(3)))
    assert m.info.rotation == 0 and (m.info.width, m.info.height) == SIZE


@pytest.mark.parametrize("suffix,kwargs", [(".jpg", {"quality": 95}), (".png", {}), (".webp", {"quality": 95})])
def test_images_read_as_rgb(tmp_path, suffix, kwargs):
    src = _frames(1)[0]
    m = open_material(gen.save_image(tmp_path / f"photo{suffix}", src, **kwargs))
    assert m.info.kind == "image" and (m.info.width, m.info.height) == SIZE and m.info.declared_frames == 1
    frames = list(m.frames())
    assert len(frames) == 1 and frames[0].shape == (SIZE[1], SIZE[0], 3) and frames[0].dtype == np.uint8
    assert _mae(frames[0], src) < 4.0  # JPEG/WebP q95 on this photo: ~1-2


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".webp"])
def test_grey_image_becomes_three_equal_channels(tmp_path, suffix):
    src = _frames(1)[0]
    lossless = {"lossless": True} if suffix == ".webp" else {}  # lossy WebP has no grey mode: YUV noise per channel
    m = open_material(gen.save_image(tmp_path / f"grey{suffix}", src, mode="L", **lossless))
    (frame,) = m.frames()
    assert frame.shape == (SIZE[1], SIZE[0], 3)
    assert np.array_equal(frame[..., 0], frame[..., 1]) and np.array_equal(frame[..., 1], frame[..., 2])
    luma = src.astype(np.float64) @ [0.299, 0.587, 0.114]
    assert np.abs(frame[..., 0] - luma).mean() < 4.0


@pytest.mark.parametrize("suffix", [".png", ".webp"])
def test_alpha_image_is_composited_over_white(tmp_path, suffix):
    src = _frames(1)[0]
    path = gen.save_image(tmp_path / f"alpha{suffix}", src, mode="RGBA", **({"lossless": True} if suffix == ".webp" else {}))
    m = open_material(path)
    assert m.info.has_alpha
    (frame,) = m.frames()
    quarter = SIZE[0] // 4
    assert np.all(frame[:, :quarter] == IMAGE_BACKGROUND)          # transparent: the background
    assert _mae(frame[:, quarter:], src[:, quarter:]) < 1.0         # opaque: the photo itself


def test_exif_orientation_is_applied(tmp_path):
    """A phone photo stored sideways with EXIF orientation 6 (rotate 90 cw to view)."""
    from PIL import Image

    upright = _frames(1, (144, 192))[0]
    stored = np.ascontiguousarray(np.rot90(upright, 1))  # what the sensor wrote
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "phone.jpg"
    Image.fromarray(stored).save(path, quality=95, exif=exif)
    m = open_material(path)
    assert (m.info.width, m.info.height) == (144, 192)
    (frame,) = m.frames()
    assert frame.shape == upright.shape
    assert _mae(frame, upright) < 4.0


def test_large_material_is_downscaled_for_analysis(tmp_path):
    """An 8K photo: frames(max_side) gives the 1920 analysis size and analysis_scale says so."""
    import cv2

    big = cv2.resize(np.asarray(gen.astronaut()), (7680, 4320), interpolation=cv2.INTER_LINEAR)
    m = open_material(gen.save_image(tmp_path / "8k.jpg", big, quality=90))
    assert (m.info.width, m.info.height) == (7680, 4320) and m.info.long_side == 7680
    assert m.analysis_scale() == pytest.approx(ANALYSIS_MAX_SIDE / 7680)
    (small,) = m.frames(ANALYSIS_MAX_SIDE)
    assert small.shape == (1080, 1920, 3)
    (full,) = m.frames()
    assert full.shape == (4320, 7680, 3)


def test_fit_long_side():
    frame = np.zeros((1000, 3000, 3), np.uint8)
    assert fit_long_side(frame, None) is frame
    assert fit_long_side(frame, 3000) is frame
    assert fit_long_side(frame, 1500).shape == (500, 1500, 3)
    assert fit_long_side(np.zeros((7, 4000, 3), np.uint8), 100).shape == (1, 100, 3)  # never 0 px


# ---- bad files -----------------------------------------------------------------------------

def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="not found"):
        open_material(tmp_path / "nothing.mp4")


@pytest.mark.parametrize("name", ["empty.mp4", "empty.jpg"])
def test_zero_byte_file(tmp_path, name):
    (tmp_path / name).write_bytes(b"")
    with pytest.raises(InputError, match=r"empty \(0 bytes\)"):
        open_material(tmp_path / name)


@pytest.mark.parametrize("name", ["notes.mp4", "notes.mov", "notes.webm", "notes.jpg", "notes.png"])
def test_text_file_with_a_media_suffix(tmp_path, name):
    (tmp_path / name).write_text("price list: silk dress 19 USD, scarf 9 USD\n" * 20)
    with pytest.raises(InputError, match="not a video or image dhsdk can read") as e:
        open_material(tmp_path / name)
    assert name in str(e.value)


def test_directory_is_not_material(tmp_path):
    with pytest.raises(InputError):
        open_material(tmp_path)


def test_audio_only_file(tmp_path):
    import av

    path = tmp_path / "voice.mp4"
    with av.open(str(path), "w") as c:
        s = c.add_stream("aac", rate=16000)
        s.layout = "mono"
        pcm = (0.1 * np.sin(np.linspace(0, 400 * np.pi, 16000))).astype(np.float32)[None]
        frame = av.AudioFrame.from_ndarray(pcm, format="fltp", layout="mono")
        frame.sample_rate = 16000
        for p in s.encode(frame):
            c.mux(p)
        for p in s.encode():
            c.mux(p)
    with pytest.raises(InputError, match="no video stream"):
        open_material(path)


def _truncate(path, share: float):
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * share)])
    return path


def test_truncated_mp4_without_its_index(tmp_path):
    """A camera or encoder that writes the index (moov) last: a cut file has no index at all."""
    clip = gen.write_video(tmp_path / "cut.mp4", _frames(40))
    with pytest.raises(InputError, match="truncated or damaged"):
        open_material(_truncate(clip, 0.6))


def test_truncated_faststart_mp4_stops_early_and_says_so(tmp_path):
    """Index first (phones, web exports): the probe succeeds, decoding ends early, the stats say so."""
    rng = np.random.default_rng(0)  # noisy frames: every packet is large, so a cut keeps ~half of them
    noisy = [np.clip(f + rng.normal(0, 12, f.shape), 0, 255).astype(np.uint8) for f in _frames(40)]
    clip = gen.write_video(tmp_path / "cut.mp4", noisy, faststart=True, crf=10)
    m = open_material(_truncate(clip, 0.5))
    assert m.info.declared_frames == 40
    frames = list(m.frames())
    assert 5 < len(frames) < 30
    assert m.stats.decoded == len(frames) and m.stats.truncated(m.info)


def test_complete_file_is_not_truncated(tmp_path):
    m = open_material(gen.write_video(tmp_path / "whole.mp4", _frames(40), faststart=True))
    assert len(list(m.frames())) == 40 and not m.stats.truncated(m.info)


def test_video_audio_track(tmp_path):
    """A video with a sound track: has_audio, and audio() gives 16 kHz mono float32."""
    import av

    path = tmp_path / "talk.mp4"
    src = _frames(25)
    with av.open(str(path), "w") as c:
        v = c.add_stream("libx264", rate=25)
        v.width, v.height, v.pix_fmt = SIZE[0], SIZE[1], "yuv420p"
        a = c.add_stream("aac", rate=48000)
        a.layout = "mono"
        for f in src:
            for p in v.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                c.mux(p)
        pcm = (0.2 * np.sin(2 * np.pi * 220 * np.arange(48000) / 48000)).astype(np.float32)
        for i in range(0, len(pcm), 1024):
            fr = av.AudioFrame.from_ndarray(pcm[None, i:i + 1024], format="fltp", layout="mono")
            fr.sample_rate, fr.pts = 48000, i
            for p in a.encode(fr):
                c.mux(p)
        for s in (v, a):
            for p in s.encode():
                c.mux(p)
    m = open_material(path)
    assert m.info.has_audio
    audio = m.audio()
    assert audio is not None and audio.dtype == np.float32 and audio.ndim == 1
    assert abs(len(audio) - 16000) < 1600
    rms = float(np.sqrt(np.mean(audio[1600:-1600] ** 2)))
    assert rms == pytest.approx(0.2 / np.sqrt(2), rel=0.15)  # a 0.2 sine through AAC and resampling


def test_silent_video_has_no_audio(tmp_path):
    m = open_material(gen.write_video(tmp_path / "mute.mp4", _frames(3)))
    assert not m.info.has_audio and m.audio() is None
