"""a2k network: size and FLOP bounds, ONNX export matches eager torch, runner stream == batch."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from dhsdk.models import a2k_runner  # noqa: E402
from dhsdk.models.a2k import LOOKAHEAD_S, WINDOW, A2KNet, export_onnx  # noqa: E402
from dhsdk.models.a2k_runner import A2K  # noqa: E402


def test_params_flops_lookahead():
    from torch.utils.flop_counter import FlopCounterMode

    model = A2KNet()
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
