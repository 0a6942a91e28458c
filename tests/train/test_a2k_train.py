"""a2k training: targets follow the viseme rules; a tiny run on generated data lowers the loss."""
import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("espeakng_loader")

from dhsdk.train.a2k import train  # noqa: E402
from dhsdk.train.a2k_data import TRAIN_VOICES, VAL_VOICES, make_utterance, targets  # noqa: E402


def test_targets_silence_zero_and_pbm_closed():
    tgt = targets([(0.5, "m"), (0.6, "a"), (0.8, "p"), (0.9, "i"), (1.0, "_")], 1.5)
    assert tgt.shape == (150, 6)
    assert np.all(tgt[:40] == 0) and np.all(tgt[115:] == 0)  # silence exactly neutral
    assert tgt[54, 0] == 0 and tgt[54, 5] == 1                 # m closes
    assert tgt[84, 0] == 0 and tgt[84, 5] == 1                 # p closes
    assert tgt[70, 0] > 0.5                                    # a opens


def test_voice_split_disjoint_and_data_shapes():
    assert not set(TRAIN_VOICES) & set(VAL_VOICES)
    u = make_utterance(3, TRAIN_VOICES)
    assert u.mel.shape[0] == u.target.shape[0] > 50


def test_tiny_training_lowers_loss():
    _, losses = train(steps=60, minutes=1.0, utterances=4, seed=1)
    assert np.mean(losses[-10:]) < 0.7 * np.mean(losses[:10])
