"""The PyTorch runner of the UNet (dhsdk.runtime.torch_cuda / dhsdk.runtime.unet): rebuilt from
the exported ONNX alone and compared with ONNX Runtime on the same file (CPU here: float32, same
math; on a GPU, gpu-marked: fp16 + channels_last + CUDA-graph replay per batch bucket)."""
from __future__ import annotations

import numpy as np
import pytest

from dhsdk.errors import BundleError
from dhsdk.runtime.base import TensorSpec
from dhsdk.runtime.torch_cuda import BUCKETS, TorchCudaRunner, bucket_for

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def lite_onnx(tmp_path_factory):
    """An exported 'lite' inpainting UNet with seeded random weights (biases too, so every weight matters)."""
    from dhsdk.models.inpaint import InpaintUNet, export_onnx

    torch.manual_seed(3)
    net = InpaintUNet("lite")
    with torch.no_grad():
        for p in net.parameters():
            p.normal_(0.0, 0.15)
    path = tmp_path_factory.mktemp("unet") / "mouth_lite.onnx"
    export_onnx(net, path, atol=1e-3)
    return path


def _feeds(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"masked": rng.random((n, 4, 128, 128), np.float32), "reference": rng.random((n, 3, 128, 128), np.float32),
            "condition": rng.random((n, 1, 128, 128), np.float32)}


def _ort(path, feeds):
    from dhsdk.runtime.ort import OnnxrtRunner

    with OnnxrtRunner(path) as ref:
        return ref.infer(feeds)["rgb"]


def test_buckets():
    assert [bucket_for(n) for n in (1, 2, 3, 5, 33, 64, 65)] == [1, 2, 4, 8, 64, 64, 65]
    assert bucket_for(3, (8, 2)) == 8 and BUCKETS[0] == 1


def test_rebuilt_from_onnx_matches_onnx_runtime_on_cpu(lite_onnx):
    from dhsdk.runtime.unet import inpaint_module_from_onnx, inpaint_specs

    inputs, outputs = inpaint_specs(lite_onnx)
    assert inputs["masked"] == TensorSpec(("batch", 4, 128, 128), np.dtype(np.float32)) and list(outputs) == ["rgb"]
    feeds = _feeds(3)
    with TorchCudaRunner(inpaint_module_from_onnx(lite_onnx), inputs, outputs, device="cpu") as runner:
        got = runner.infer(feeds)["rgb"]
    want = _ort(lite_onnx, feeds)
    assert got.shape == want.shape == (3, 3, 128, 128) and got.dtype == np.float32
    # float32 on both sides, different conv algorithms and summation orders; the errors grow
    # through the layers with these large random weights (what export_onnx itself accepts).
    np.testing.assert_allclose(got, want, atol=1e-3)
    assert np.abs(want - 0.5).max() > 0.1  # the weights are not a no-op


def test_auto_runner_without_tensorrt_is_torch(lite_onnx, monkeypatch):
    import dhsdk.cuda.requirements as req
    from dhsdk.runtime.unet import gpu_inpaint_runner

    monkeypatch.setattr(req, "missing_gpu_pieces", lambda need: ["tensorrt (tensorrt): not importable"])
    runner = gpu_inpaint_runner(lite_onnx, device="cpu")
    try:
        assert isinstance(runner, TorchCudaRunner) and runner.is_active
        np.testing.assert_allclose(runner.infer(_feeds(1))["rgb"], _ort(lite_onnx, _feeds(1)), atol=1e-3)
    finally:
        runner.close()
    with pytest.raises(ValueError, match="backend must be"):
        gpu_inpaint_runner(lite_onnx, backend="onnx")


def test_an_onnx_of_another_network_says_so(tmp_path):
    from dhsdk.models.a2k import A2KNet, export_onnx
    from dhsdk.runtime.unet import inpaint_module_from_onnx

    path = tmp_path / "other.onnx"
    export_onnx(A2KNet(), str(path))
    with pytest.raises(BundleError, match="not an export of dhsdk's inpainting UNet"):
        inpaint_module_from_onnx(path)
    (tmp_path / "junk.onnx").write_bytes(b"not onnx")
    with pytest.raises(BundleError, match="not a readable ONNX model"):
        inpaint_module_from_onnx(tmp_path / "junk.onnx")


def test_cuda_without_a_cuda_torch_says_so(lite_onnx):
    from dhsdk.errors import DeviceError
    from dhsdk.runtime.unet import inpaint_module_from_onnx, inpaint_specs

    if torch.cuda.is_available():
        pytest.skip("torch sees a GPU")
    runner = TorchCudaRunner(inpaint_module_from_onnx(lite_onnx), *inpaint_specs(lite_onnx), device="cuda")
    with pytest.raises(DeviceError, match="torch sees no CUDA device"):
        runner.activate()


@pytest.mark.gpu
def test_cuda_fp16_graphs_match_onnx_runtime(lite_onnx):
    """fp16 + channels_last + graph replay vs ORT fp32: batch 3 runs in bucket 4 (eager the first
    time, captured the second, replayed the third), batch 1 in its own; on the caller's stream."""
    if not torch.cuda.is_available():
        pytest.skip("torch has no CUDA (a CPU build)")
    from dhsdk.runtime.unet import gpu_inpaint_runner

    runner = gpu_inpaint_runner(lite_onnx, backend="torch")
    try:
        for n, seed in ((3, 0), (3, 1), (3, 2), (1, 3), (1, 4), (1, 5)):
            feeds = _feeds(n, seed)
            got = runner.infer(feeds)["rgb"]
            # fp16 activations through 4 levels, outputs in [0, 1] after a sigmoid: ~1e-3 typical.
            np.testing.assert_allclose(got, _ort(lite_onnx, feeds), atol=1e-2)
        stream = torch.cuda.Stream()
        dev = {k: torch.from_numpy(v).cuda() for k, v in _feeds(2, 9).items()}
        stream.wait_stream(torch.cuda.current_stream())
        out = runner.infer_async(dev, stream=stream)["rgb"]
        stream.synchronize()
        np.testing.assert_allclose(out.cpu().numpy(), _ort(lite_onnx, _feeds(2, 9)), atol=1e-2)
    finally:
        runner.close()
