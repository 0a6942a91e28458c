"""Phones -> lip-shape targets: the espeak mapping, the co-articulated curve and its contracts,
and the least-squares table fit recovering a known table."""
import numpy as np
import pytest

from dhsdk.audio.phones import ARPABET
from dhsdk.models.lipshape import K
from dhsdk.train import visemes


@pytest.mark.parametrize("mnemonic, label", [("'aI", "AY"), ("h", "HH"), ("@", "AH"), ("_:", "SIL"), ("_", "SIL"),
                                             ("tS;", "CH"), ("ts.", "S"), ("s.", "SH"), ("'y&", "UW"), ("m", "M"),
                                             ("'A:", "AA"), ("dZ", "JH"), ("~", "AH")])
def test_espeak_mnemonics_map_to_arpabet(mnemonic, label):
    assert visemes.from_espeak(mnemonic) == label


def test_every_arpabet_phone_has_a_viseme():
    table = visemes.table()
    assert set(ARPABET) <= set(table)
    assert all(v.shape == (K,) and np.all(np.isfinite(v)) for v in table.values())
    assert np.all(table["SIL"] == 0)


def test_targets_contracts():
    phones = [(0.5, 0.6, "M"), (0.6, 0.8, "AA"), (0.8, 0.9, "P"), (0.9, 1.0, "IY")]
    tgt = visemes.targets(phones, 1.5)
    assert tgt.shape == (150, K)
    assert np.all(tgt[:40] == 0) and np.all(tgt[110:] == 0)         # silence away from speech: neutral
    closed = visemes.table()["P"]
    np.testing.assert_array_equal(tgt[55], [0, 0, 0, 0, 0, 1])        # middle of m: closed
    np.testing.assert_array_equal(tgt[85], [0, 0, 0, 0, 0, 1])        # middle of p: closed
    assert closed.shape == (K,)
    from dhsdk.geometry import mouth_opening
    from dhsdk.models.lipshape import coeffs_to_deltas, template

    opening = mouth_opening(template() + coeffs_to_deltas(tgt))
    assert opening[70] > opening[55] + 0.05                           # aa is open
    assert abs(opening[55]) < 1e-6 and abs(opening[20]) < 1e-6


def test_indicators_cover_each_frame_once():
    ind = visemes.indicators([(0.0, 0.125, "AA"), (0.125, 0.3, "B")], 30, ("AA", "B"))
    np.testing.assert_allclose(ind.sum(1), 1.0, atol=1e-6)
    assert ind[12, 0] == pytest.approx(0.5) and ind[12, 1] == pytest.approx(0.5)


def test_fit_recovers_a_known_table():
    """Curves made by the linear model from a known table are fitted back to that table."""
    rng = np.random.default_rng(0)
    labels = ["AA", "IY", "UW", "EH", "S", "B"]
    # Shapes near the hand-made ones (lips apart: the fit leaves those as fitted), scaled at random.
    truth = {lab: (np.asarray(visemes.FALLBACK[lab]) * rng.uniform(0.6, 1.4, K)).astype(np.float32) for lab in labels}
    examples = []
    for _ in range(40):
        t, phones = 0.2, []
        while t < 2.5:
            d = rng.uniform(0.05, 0.2)
            phones.append((t, t + d, labels[rng.integers(len(labels))]))
            t += d
        blur = visemes._smooth(visemes.indicators(phones, 300, tuple(labels)) @ np.stack([truth[x] for x in labels]),
                               visemes.COARTICULATION_S)
        times = np.arange(75) / 25.0
        examples.append((phones, times, blur[np.round(times * 100).astype(int)]))
    fitted = visemes.fit_table(examples, ridge=1e-6)
    for lab in labels:
        np.testing.assert_allclose(fitted[lab], truth[lab], atol=2e-3)


def test_fit_never_overlaps_the_lips():
    """A fitted vowel whose data say 'lips overlap' is pulled back to a zero gap."""
    from dhsdk.geometry import mouth_opening
    from dhsdk.models.lipshape import coeffs_to_deltas, template

    phones = [(0.2, 0.5, "AA"), (0.5, 0.8, "IY")]
    times = np.arange(30) / 25.0
    coeffs = np.zeros((30, K), np.float32)
    coeffs[:, 0] = -0.5                       # measured: the jaw "above" closed
    fitted = visemes.fit_table([(phones, times, coeffs)], ridge=1e-6)
    for lab in ("AA", "IY"):
        assert float(mouth_opening(template() + coeffs_to_deltas(fitted[lab]))) == pytest.approx(0.0, abs=1e-4)
