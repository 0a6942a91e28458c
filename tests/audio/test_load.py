"""Audio loading: formats, rates, layouts and sample types written by PyAV; bad inputs rejected."""
import numpy as np
import pytest

from dhsdk.audio import SAMPLE_RATE, audio_seconds, load_audio
from dhsdk.errors import InputError

av = pytest.importorskip("av")

CASES = [("wav", "pcm_s16le", "s16", 8000, "mono"), ("wav", "pcm_f32le", "flt", 48000, "stereo"),
         ("flac", "flac", "s16", 22050, "stereo"), ("mp3", "libmp3lame", "fltp", 44100, "mono"),
         ("m4a", "aac", "fltp", 32000, "stereo"), ("ogg", "libopus", "flt", 48000, "mono"), ("wav", "pcm_s32le", "s32", 24000, "mono")]


def _write(path, codec, fmt, rate, layout, seconds=1.0):
    t = np.arange(int(rate * seconds)) / rate
    tone = 0.5 * np.sin(2 * np.pi * 440 * t)
    ch = 2 if layout == "stereo" else 1
    with av.open(str(path), "w") as out:
        st = out.add_stream(codec, rate=rate, layout=layout)
        data = np.tile(tone, (ch, 1))
        if fmt in ("s16", "s32"):
            data = (data * 32767).astype(np.int16) if fmt == "s16" else (data * 2**31 * 0.999).astype(np.int32)
        else:
            data = data.astype(np.float32)
        packed = not fmt.endswith("p")
        arr = data.T.reshape(1, -1) if packed else data
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(arr), format=fmt, layout=layout)
        frame.sample_rate = rate
        for p in st.encode(frame):
            out.mux(p)
        for p in st.encode(None):
            out.mux(p)


@pytest.mark.parametrize("ext,codec,fmt,rate,layout", CASES)
def test_formats_decode_to_16k_mono(tmp_path, ext, codec, fmt, rate, layout):
    path = tmp_path / f"tone.{ext}"
    _write(path, codec, fmt, rate, layout)
    pcm = load_audio(path)
    assert pcm.dtype == np.float32 and pcm.ndim == 1
    assert abs(len(pcm) - SAMPLE_RATE) < 0.1 * SAMPLE_RATE  # codecs add priming/padding
    mid = pcm[len(pcm) // 4: 3 * len(pcm) // 4]
    spec = np.abs(np.fft.rfft(mid))
    assert abs(np.argmax(spec) * SAMPLE_RATE / len(mid) - 440) < 5
    assert 0.3 < np.abs(mid).max() < 0.6


def test_array_inputs():
    x = (np.sin(np.arange(48000) / 10) * 20000).astype(np.int16)
    a = load_audio((x, 48000))
    assert a.dtype == np.float32 and abs(len(a) - 16000) <= 32
    assert np.abs(a).max() < 1
    stereo = np.stack([x, x], 1)
    np.testing.assert_allclose(load_audio(stereo), x / 32768.0, atol=1e-6)


@pytest.mark.parametrize("bad", [np.zeros(0, np.float32), np.array([0.0, np.nan], np.float32),
                                 np.array([np.inf], np.float32), "no/such/file.wav"])
def test_rejects(bad):
    with pytest.raises(InputError):
        load_audio(bad)


def test_rejects_too_long_and_undecodable(tmp_path):
    with pytest.raises(InputError, match="limit"):
        load_audio(np.zeros(16000 * 3, np.float32), max_seconds=2)
    junk = tmp_path / "junk.mp3"
    junk.write_bytes(b"not audio at all" * 100)
    with pytest.raises(InputError):
        load_audio(junk)


@pytest.mark.parametrize("ext,codec,fmt,rate,layout", CASES)
def test_audio_seconds_reads_the_duration_without_decoding(tmp_path, ext, codec, fmt, rate, layout):
    path = tmp_path / f"tone.{ext}"
    _write(path, codec, fmt, rate, layout, seconds=1.5)
    assert audio_seconds(path) == pytest.approx(len(load_audio(path)) / SAMPLE_RATE, abs=0.06)  # codec padding


def test_audio_seconds_refuses_what_load_audio_refuses(tmp_path):
    junk = tmp_path / "junk.mp3"
    junk.write_bytes(b"not audio at all" * 100)
    with pytest.raises(InputError, match="cannot decode audio from"):
        audio_seconds(junk)
    with pytest.raises(InputError, match="not found"):
        audio_seconds(tmp_path / "missing.wav")
