"""FileSink: a real mp4 through PyAV's libx264/aac, decoded back and checked."""
from __future__ import annotations

import numpy as np
import pytest

from sink_helpers import burst_onsets, clip, decode
from dhsdk.errors import InputError, OutputError, write_failure
from dhsdk.sinks.file import FileSink, estimate_bytes


def test_round_trip_keeps_pictures_sound_and_sync(tmp_path):
    out = tmp_path / "clip.mp4"
    with FileSink(out) as sink:
        for f in clip(50, marks=(10, 30)):
            sink.write(f)
    assert sink.metrics.written == 50 and sink.fps == 25.0
    vts, images, audio, rate, ats = decode(str(out))
    assert len(images) == 50 and images.shape[1:] == (240, 320, 3)
    assert np.allclose(np.diff(vts), 0.04)
    assert rate == 48000
    # Durations agree within one frame (AAC pads its last packet).
    assert abs(len(audio) / rate - 2.0) <= 0.04
    # The flashes and the bursts happen at the same time, to within one audio window.
    flashes = [vts[i] for i in range(len(images)) if images[i].mean() > 250]
    assert flashes == pytest.approx([0.4, 1.2])
    assert burst_onsets(audio, rate, ats[0]) == pytest.approx([0.4, 1.2], abs=0.006)
    # CRF 18: pictures are close to the input.
    ref = next(clip(1))
    assert np.abs(images[0].astype(np.float32) - ref.image).mean() < 2.0


def test_container_is_what_players_expect(tmp_path):
    import av

    out = tmp_path / "p.mp4"
    with FileSink(out) as sink:
        for f in clip(30, fps=30.0):   # 533/534 samples per frame: fps inferred as 30, not 30.02
            sink.write(f)
    with av.open(str(out)) as c:
        v, a = c.streams.video[0], c.streams.audio[0]
        assert v.codec_context.name == "h264" and v.codec_context.pix_fmt == "yuv420p"
        assert v.average_rate == 30
        assert a.codec_context.name == "aac" and a.rate == 48000 and a.channels == 2
        assert c.format.name.startswith("mov,mp4")
    # +faststart: the index (moov) comes before the media data (mdat).
    head = out.read_bytes()[:4096]
    assert 0 <= head.find(b"moov") < head.find(b"mdat") or b"mdat" not in head


def test_a_live_file_sink_is_fragmented_and_plays_the_same(tmp_path):
    """``--sink file:`` (open_sink) writes a fragmented mp4: a fragment per keyframe (every 2 s)
    with its own index, nothing held for the end; decoded, it is the same clip as the
    ``+faststart`` one (timestamps, pictures, sound)."""
    from dhsdk.sinks.group import open_sink

    outs = {"faststart": tmp_path / "a.mp4", "fragmented": tmp_path / "b.mp4"}
    with FileSink(outs["faststart"]) as a, open_sink(f"file:{outs['fragmented']}") as b:
        for f in clip(150, marks=(40, 110)):   # 6 s: three keyframes
            a.write(f)
            b.write(f)
    data = {k: v.read_bytes() for k, v in outs.items()}
    assert data["fragmented"].count(b"moof") == 3 and b"moof" not in data["faststart"]
    (vts_a, img_a, aud_a, _, _), (vts_b, img_b, aud_b, _, _) = (decode(str(outs[k])) for k in outs)
    assert np.allclose(vts_a, vts_b)     # the same timeline: the edit list survives fragmenting
    # The same pictures (x264's threads may round a macroblock differently run to run).
    assert np.abs(img_a.astype(np.int16) - img_b).mean() < 1.0
    assert len(aud_a) == len(aud_b) and np.allclose(aud_a, aud_b, atol=1e-4)


def test_odd_sizes_are_padded_by_one_edge_pixel(tmp_path):
    out = tmp_path / "odd.mp4"
    frames = list(clip(5, size=(321, 241)))
    with FileSink(out) as sink:
        for f in frames:
            sink.write(f)
    _, images, _, _, _ = decode(str(out))
    assert images.shape[1:] == (242, 322, 3)
    src = frames[0].image.astype(np.float32)
    assert np.abs(images[0][:241, :321] - src).mean() < 2.0
    assert np.abs(images[0][:241, 321].astype(np.float32) - src[:, 320]).mean() < 3.0


def test_dropped_frames_keep_sync_with_silence(tmp_path):
    """Frames missing upstream (a queue dropped 10..19) leave silence, not shifted sound."""
    out = tmp_path / "gap.mp4"
    frames = [f for f in clip(50, marks=(30,)) if not 10 <= f.index < 20]
    with FileSink(out) as sink:
        for f in frames:
            sink.write(f)
    vts, images, audio, rate, ats = decode(str(out))
    assert len(images) == 40
    assert abs(len(audio) / rate - 2.0) <= 0.04
    flash = [vts[i] for i in range(len(images)) if images[i].mean() > 250]
    assert flash == pytest.approx([1.2])
    assert burst_onsets(audio, rate, ats[0]) == pytest.approx([1.2], abs=0.006)
    quiet = audio[int(0.45 * rate):int(0.75 * rate)]
    assert np.abs(quiet).max() < 1e-3


def test_a_stream_may_start_at_any_index(tmp_path):
    out = tmp_path / "late.mp4"
    with FileSink(out) as sink:
        for f in clip(20, start=500, marks=(510,)):
            sink.write(f)
    vts, images, audio, rate, ats = decode(str(out))
    assert vts[0] == 0.0 and len(images) == 20
    assert burst_onsets(audio, rate, ats[0]) == pytest.approx([0.4], abs=0.006)


def test_missing_directory_is_a_clear_error(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        FileSink(tmp_path / "missing" / "a.mp4")


def test_a_directory_as_the_path_is_refused_at_once(tmp_path):
    with pytest.raises(InputError, match="is a directory"):
        FileSink(tmp_path)
    assert list(tmp_path.iterdir()) == []


# The child writes frames until its file size limit (RLIMIT_FSIZE, what ``ulimit -f`` sets) is
# hit: the kernel then fails the write with EFBIG, exactly as a full disk fails it with ENOSPC,
# without root or a small file system. SIGXFSZ is ignored, as the dhsdk CLI does.
_FILL = """
import resource, signal, sys
sys.path.insert(0, sys.argv[2])
from sink_helpers import clip
from dhsdk.errors import OutputError
from dhsdk.sinks.file import FileSink
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (60000, 60000))
sink = FileSink(sys.argv[1])
try:
    for f in clip(200, size=(640, 480)):
        sink.write(f)
    sink.close()
except OutputError as e:
    print(e)
"""


def test_a_full_disk_is_one_clear_error_and_leaves_nothing(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    out = tmp_path / "full.mp4"
    res = subprocess.run([sys.executable, "-c", _FILL, str(out), str(Path(__file__).parent)],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == (f"writing {out} failed: the file size limit was reached (see ulimit -f); "
                                  "nothing was kept (free some space or write elsewhere)")
    assert "Traceback" not in res.stderr and list(tmp_path.iterdir()) == []


def test_no_space_left_on_the_device_names_it():
    from dhsdk.sinks.encoder import FILE, AvEncoder

    encoder = AvEncoder("/dev/full", "mp4", FILE)   # every write: ENOSPC, as on a full disk
    with pytest.raises(OSError) as e:
        for f in clip(50, size=(640, 480)):
            encoder.encode(f)
        encoder.close()
    encoder.abort()
    assert isinstance(write_failure("out.mp4", e.value), OutputError)
    assert "writing out.mp4 failed: the disk is full" in str(write_failure("out.mp4", e.value))


def test_the_size_estimate_is_above_what_the_encoder_writes(tmp_path):
    out = tmp_path / "a.mp4"
    with FileSink(out) as sink:
        for f in clip(50, size=(640, 480), marks=(10, 30)):
            sink.write(f)
    assert out.stat().st_size < estimate_bytes(640, 480, 25.0, 2.0) < 20 * out.stat().st_size


def test_failure_inside_the_block_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError, match="boom"):
        with FileSink(tmp_path / "a.mp4") as sink:
            for f in clip(5):
                sink.write(f)
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_bad_frames_are_refused_with_the_fix(tmp_path):
    good = next(clip(1))
    with FileSink(tmp_path / "a.mp4") as sink:
        sink.write(good)
        bad = [
            (dict(image=good.image.astype(np.float32)), "uint8"),
            (dict(image=good.image[..., 0]), "uint8 RGB"),
            (dict(audio=np.stack([good.audio, good.audio], 1)), "mono"),
            (dict(image=good.image[:100]), "cannot change size"),
            (dict(sample_rate=8000), "resample"),
            (dict(index=0), "in order"),
        ]
        for change, message in bad:
            frame = type(good)(**{**good.__dict__, "index": 1, **change})
            with pytest.raises(InputError, match=message):
                sink.write(frame)
    assert (tmp_path / "a.mp4").exists()
    with pytest.raises(InputError, match="closed"):
        sink.write(good)


def test_no_frames_saves_nothing(tmp_path):
    sink = FileSink(tmp_path / "empty.mp4")
    with pytest.raises(InputError, match="no frames"):
        sink.close()
    assert list(tmp_path.iterdir()) == []


def test_lipsync_render_writes_through_the_file_sink(tmp_path):
    from dhsdk.bench.synthetic import SyntheticAvatar
    from dhsdk.pipeline.lipsync import LipSync

    sync = LipSync(SyntheticAvatar(180, 320), mouth="warp", device="cpu")
    pcm = (0.3 * np.sin(2 * np.pi * 200 * np.arange(16000) / 16000)).astype(np.float32)
    summary = sync.render(pcm, tmp_path / "r.mp4", fps=25, show_progress=False)
    vts, images, audio, rate, _ = decode(str(tmp_path / "r.mp4"))
    assert summary.frames == len(images) == 25 and images.shape[1:] == (320, 180, 3)
    assert abs(len(audio) / rate - 1.0) <= 0.04


def test_a_live_stream_records_in_sync(tmp_path):
    """A real Stream (synthetic avatar, warp mouth) recorded through its on_frame hook."""
    from dhsdk.bench.synthetic import SyntheticAvatar
    from dhsdk.pipeline.lipsync import LipSync
    from dhsdk.pipeline.stream import Stream

    sync = LipSync(SyntheticAvatar(180, 320), mouth="warp", device="cpu")
    out = tmp_path / "live.mp4"
    with FileSink(out) as sink:
        stream = Stream(sync, realtime=False, on_frame=sink.write, pull=False, start=False)
        t = np.arange(16000) / 16000
        stream.push_audio((0.8 * np.sin(2 * np.pi * 1000 * t) * (t > 0.6)).astype(np.float32))
        stream.end_speech()
        for _ in range(50):
            stream.tick()
        stream.close()
    vts, images, audio, rate, ats = decode(str(out))
    assert len(images) == sink.metrics.written == 50
    assert abs(len(audio) / rate - 2.0) <= 0.04
    # The tone starts 0.6 s into the pushed audio; the stream plays it after its one-frame prebuffer.
    onset = burst_onsets(audio, rate, ats[0])[0]
    assert 0.6 <= onset <= 0.6 + 0.12, onset
