"""a2k network: size and FLOP bounds, ONNX export matches eager torch, runner stream == batch, the
ensemble averages its members and reads back from its export."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from dhsdk.models import a2k_runner  # noqa: E402
from dhsdk.models.a2k import LOOKAHEAD_S, WINDOW, A2KEnsemble, A2KNet, export_onnx, from_onnx  # noqa: E402
from dhsdk.models.a2k_runner import A2K  # noqa: E402


@pytest.mark.parametrize("members", [1, 3])
def test_params_flops_lookahead(members):
    from torch.utils.flop_counter import FlopCounterMode

    model = A2KNet() if members == 1 else A2KEnsemble([A2KNet() for _ in range(members)])
    assert sum(p.numel() for p in model.parameters()) < 1_000_000
    with FlopCounterMode(display=False) as counter:
        model(torch.zeros(1, 80, WINDOW))
    assert 0 < counter.get_total_flops() < 50e6
    assert LOOKAHEAD_S <= 0.12 and A2K.lookahead_s == pytest.approx(LOOKAHEAD_S)
    assert (a2k_runner.PAST, a2k_runner.WINDOW) == (20, WINDOW)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    torch.manual_seed(0)
    model = A2KNet().eval()
    path = tmp_path_factory.mktemp("a2k") / "a2k.onnx"
    export_onnx(model, str(path))
    return model, path


def test_onnx_matches_torch(exported):
    from dhsdk.runtime.base import TensorSpec
    from dhsdk.runtime.ort import OnnxrtRunner
    from dhsdk.runtime.torch import TorchRunner

    model, path = exported
    x = np.random.default_rng(0).normal(-6, 4, (5, 80, WINDOW)).astype(np.float32)
    ort_runner, torch_runner = OnnxrtRunner(str(path)), TorchRunner(
        model, {"mel": TensorSpec(("batch", 80, WINDOW), np.dtype(np.float32))},
        {"deltas": TensorSpec(("batch", 40, 2), np.dtype(np.float32))})
    with ort_runner, torch_runner:
        a = ort_runner.infer({"mel": x})["deltas"]
        b = torch_runner.infer({"mel": x})["deltas"]
    np.testing.assert_allclose(a, np.asarray(b), atol=1e-4)


@pytest.mark.parametrize("fps", [25, 30, 60])
def test_stream_equals_predict(exported, fps):
    a2k = A2K.load(exported[1])
    rng = np.random.default_rng(fps)
    pcm = rng.normal(0, 0.1, 16000 * 2 + 123).astype(np.float32)
    ref = a2k.predict(pcm, fps)
    assert ref.shape == (round(len(pcm) / 16000 * fps), 40, 2)
    s, parts, i = a2k.stream(fps), [], 0
    while i < len(pcm):
        n = int(rng.integers(1, 3000))
        parts.append(s.push(pcm[i:i + n]))
        i += n
    parts.append(s.flush())
    np.testing.assert_allclose(np.concatenate(parts), ref, atol=1e-4)


def test_ensemble_is_the_mean_of_its_members_and_reads_back(tmp_path):
    torch.manual_seed(1)
    members = [A2KNet().eval() for _ in range(3)]
    model = A2KEnsemble(members).eval()
    x = torch.from_numpy(np.random.default_rng(2).normal(-6, 4, (4, 80, WINDOW)).astype(np.float32))
    with torch.no_grad():
        mean = torch.stack([m(x) for m in members]).mean(0)   # deltas are linear in the coefficients
        np.testing.assert_allclose(model(x).numpy(), mean.numpy(), atol=1e-5)
        path = tmp_path / "ens.onnx"
        export_onnx(model, str(path))
        back = from_onnx(str(path))
        assert isinstance(back, A2KEnsemble) and len(back.members) == 3
        np.testing.assert_allclose(back(x).numpy(), model(x).numpy(), atol=1e-6)
    np.testing.assert_allclose(A2K.load(path).infer(x.numpy()), model(x).detach().numpy(), atol=1e-4)


def test_from_onnx_reads_a_single_net_and_refuses_other_models(exported, tmp_path):
    from dhsdk.errors import BundleError

    model, path = exported
    back = from_onnx(str(path))
    assert type(back) is A2KNet
    x = torch.zeros(2, 80, WINDOW)
    with torch.no_grad():
        np.testing.assert_allclose(back(x).numpy(), model(x).numpy(), atol=1e-6)
    other = tmp_path / "other.onnx"
    torch.onnx.export(torch.nn.Linear(3, 2), (torch.zeros(1, 3),), str(other), dynamo=False)
    with pytest.raises(BundleError, match="not an a2k model"):
        from_onnx(str(other))
