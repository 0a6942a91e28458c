"""Log-mel: streaming output independent of chunking and equal to the batch version."""
import numpy as np
from hypothesis import given, settings, strategies as st

from dhsdk.audio import N_MELS, LogMel, log_mel


@settings(max_examples=30, deadline=None)
@given(n=st.integers(0, 6000), sizes=st.lists(st.integers(1, 1500), min_size=1, max_size=20), seed=st.integers(0, 99))
def test_stream_equals_batch_any_chunking(n, sizes, seed):
    x = np.random.default_rng(seed).normal(0, 0.1, n).astype(np.float32)
    ref = log_mel(x)
    assert ref.shape == (-(-n // 160), N_MELS)
    s, parts, i, k = LogMel(), [], 0, 0
    while i < n:
        step = sizes[k % len(sizes)]
        parts.append(s.push(x[i:i + step]))
        i, k = i + step, k + 1
    parts.append(s.flush())
    np.testing.assert_allclose(np.concatenate(parts), ref, atol=1e-4)


def test_tone_peaks_in_right_bin_and_silence_is_floor():
    t = np.arange(16000) / 16000
    mel = log_mel(np.sin(2 * np.pi * 1000 * t).astype(np.float32))
    peak = mel[50].argmax()
    low = log_mel(np.sin(2 * np.pi * 300 * t).astype(np.float32))[50].argmax()
    assert low < peak
    silent = log_mel(np.zeros(1600, np.float32))
    assert np.all(silent == silent.min())
