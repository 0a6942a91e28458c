"""a2k training: the keypoint-space and sequence losses, a short fit on generated data lowers
the loss, and the recipe refuses a folder that is not the GRID corpus."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("espeakng_loader")

from dhsdk.errors import InputError  # noqa: E402
from dhsdk.models.a2k import FUTURE, PAST, A2KNet  # noqa: E402
from dhsdk.train import a2k  # noqa: E402
from dhsdk.train.a2k_data import TRAIN_VOICES, VAL_VOICES, Pool, make_utterance  # noqa: E402


def test_voice_split_disjoint():
    assert not set(TRAIN_VOICES) & set(VAL_VOICES)


def test_loss_weights_the_opening():
    """Moving the jaw (which opens the mouth) costs more than an equal coefficient change of spread."""
    zero = torch.zeros(1, 6)
    jaw, spread = zero.clone(), zero.clone()
    jaw[0, 0], spread[0, 1] = 0.3, 0.3
    assert a2k.loss_fn(zero, zero) == 0
    assert a2k.loss_fn(jaw, zero) > a2k.loss_fn(spread, zero) > 0


def _opening_coeffs(opening: np.ndarray) -> torch.Tensor:
    """(N, 6) coefficients whose inner-lip gap is ``opening`` scaled (the jaw coefficient)."""
    c = torch.zeros(len(opening), 6)
    c[:, 0] = torch.from_numpy(opening.astype(np.float32))
    return c


def test_corr_loss_rewards_following_the_rises_and_falls():
    """Per run, 1 - r of the opening: 0 for any positive rescaling of the target, 2 for its
    mirror image, and runs whose target stays still are left out."""
    t = np.sin(np.linspace(0, 3 * np.pi, 24)) ** 2
    target = _opening_coeffs(np.concatenate([t, np.full(24, 0.2)]))
    scaled = _opening_coeffs(np.concatenate([0.5 * t + 0.1, np.random.default_rng(0).random(24)]))
    mirror = _opening_coeffs(np.concatenate([-t, np.zeros(24)]))
    assert float(a2k.corr_loss(scaled, target, 24)) == pytest.approx(0.0, abs=1e-4)
    assert float(a2k.corr_loss(mirror, target, 24)) == pytest.approx(2.0, abs=1e-4)
    still = _opening_coeffs(np.full(24, 0.2))
    assert float(a2k.corr_loss(_opening_coeffs(t), still, 24)) == 0.0


def test_short_fit_lowers_the_loss():
    torch.manual_seed(0)
    utts = [u for i in range(6) for u in make_utterance(i, TRAIN_VOICES)]
    pool = Pool(utts, PAST, FUTURE)
    rng = np.random.default_rng(0)
    model, state = a2k.fit(A2KNet(), a2k.batches(pool, 32, 2, rng, {"generated": 1.0}),
                           a2k.Schedule(steps=150, minutes=30.0, warmup=10, every=1000))
    assert np.mean(state.losses[-15:]) < 0.7 * np.mean(state.losses[:15])


def test_recipe_needs_the_grid_corpus(tmp_path):
    (tmp_path / "clip.mp4").write_bytes(b"")
    with pytest.raises(InputError, match="grid_s1"):
        a2k.build_data(a2k.Recipe(), tmp_path, None, show_progress=False)


def test_an_ensemble_of_no_nets_is_refused_before_any_work(tmp_path):
    with pytest.raises(InputError, match="members must be at least 1"):
        a2k.train(a2k.Recipe(members=0), tmp_path, None, tmp_path / "work", show_progress=False)
    assert not (tmp_path / "work").exists()


def test_split_is_fixed_and_disjoint():
    split = a2k.grid_split()
    assert len(split["test"]) == 50 and len(split["val"]) == 25
    assert not set(split["test"]) & set(split["val"]) and split["avatar"] not in set(split["test"]) | set(split["val"])
