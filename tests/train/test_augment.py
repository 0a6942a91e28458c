"""Speech augmentation: reproducible, bounded, the speed factor is honest, codecs come back aligned,
and the VTLP warp moves formants the right way."""
import numpy as np
import pytest

pytest.importorskip("av")

from dhsdk.audio import log_mel  # noqa: E402
from dhsdk.train import augment as aug  # noqa: E402


def _speechy(seconds: float = 1.5) -> np.ndarray:
    """A buzzy vowel-like tone with an amplitude envelope (harmonics of 120 Hz, two formants)."""
    t = np.arange(int(seconds * 16000)) / 16000
    src = sum(np.sin(2 * np.pi * 120 * k * t) * (np.exp(-((120 * k - 700) / 150) ** 2) +
                                                   0.5 * np.exp(-((120 * k - 1200) / 200) ** 2)) for k in range(1, 40))
    return (0.3 * src * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t) ** 2)).astype(np.float32)


def test_reproducible_and_bounded():
    x = _speechy()
    a = aug.augment(x, np.random.default_rng(3))
    b = aug.augment(x, np.random.default_rng(3))
    np.testing.assert_array_equal(a.pcm, b.pcm)
    assert a.speed == b.speed and a.warp == b.warp
    assert np.all(np.isfinite(a.pcm)) and np.abs(a.pcm).max() <= 1.0


def test_speed_changes_length_by_the_factor():
    x = _speechy()
    for seed in range(4):
        a = aug.augment(x, np.random.default_rng(seed))
        assert 0.9 <= a.speed <= 1.1
        assert abs(len(a.pcm) - len(x) / a.speed) <= 2
    light = aug.augment(x, np.random.default_rng(0), speed=False, strong=False)
    assert len(light.pcm) == len(x) and light.speed == 1.0 and light.warp == 1.0


@pytest.mark.parametrize("name, rate", [("aac", 48000), ("libopus", 24000), ("libmp3lame", 48000),
                                        ("pcm_mulaw", 64000)])
def test_codec_round_trip_is_aligned(name, rate):
    x = _speechy()
    y = aug.codec(x, name, rate)
    assert len(y) == len(x)
    assert np.corrcoef(x, y)[0, 1] > 0.9


def test_reverb_keeps_length_and_adds_a_tail():
    x = np.zeros(16000, np.float32)
    x[1000] = 1.0
    y = aug.reverberate(x, np.random.default_rng(0))
    assert len(y) == len(x) and y[1000] == pytest.approx(1.0, abs=1e-4)
    assert np.abs(y[1100:3000]).sum() > 0.01 and np.abs(y[:999]).max() < 1e-4


def test_warp_moves_a_formant():
    """A 1 kHz tone lands in a lower mel band when the filterbank is stretched (warp > 1)."""
    t = np.arange(16000) / 16000
    tone = (0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
    peak = [int(np.argmax(log_mel(tone, w).mean(0))) for w in (0.9, 1.0, 1.1)]
    assert peak[0] > peak[1] > peak[2]
    np.testing.assert_array_equal(log_mel(tone, 1.0), log_mel(tone))


def test_retime_is_linear_interpolation():
    from dhsdk.train.a2k_data import retime

    tgt = np.arange(20, dtype=np.float32)[:, None].repeat(6, 1)
    mask = np.ones(20, bool)
    mask[7] = False
    out, ok = retime(tgt, mask, 1.0, 20)
    np.testing.assert_array_equal(out, tgt)
    out, ok = retime(tgt, mask, 1.5, 10)
    np.testing.assert_allclose(out[:, 0], np.arange(10) * 1.5)
    assert not ok[4] and not ok[5] and ok[3]        # source times 6.0 -> 7.5 touch frame 7
