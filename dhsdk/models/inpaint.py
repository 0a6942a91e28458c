"""The mouth-inpainting UNet with a reference input (PyTorch definition).

Inputs (all float32 NCHW in [0, 1], S = ``config.size``):
    masked:    (B, 4, S, S) the crop with the lower face blanked (RGB * (1 - mask)) plus the mask.
    reference: (B, 3, S, S) a crop of the same person from elsewhere in the clip (identity,
               teeth, lip colour).
    condition: (B, 1, S, S) the keypoint condition map of the target lips
               (:func:`dhsdk.models.condition.render_condition`).
Output:
    rgb:       (B, 3, S, S) the crop's RGB in [0, 1]; callers blend it in with the mask.

Plain 3x3 convolutions: on 2 CPU cores a plain 3x3 UNet of 2.2 GFLOPs runs in 11.5 ms under
ONNX Runtime while a depthwise-heavy one of 1.65 GFLOPs takes 15.7 ms, so the lite model
saves compute with fewer channels and a smaller crop rather than depthwise blocks.
Configurations (FLOPs counted by ``torch.utils.flop_counter`` in tests/models):
    full: 256 x 256, widths 16-24-48-96-128  (3.61 GFLOPs, budget 4)
    lite: 128 x 128, widths 8-16-32-64        (0.30 GFLOPs = 8.3 % of full, budget 10 %)
"""
from __future__ import annotations

import dataclasses
import os

import torch
from torch import nn

from dhsdk.errors import BundleError

IN_NAMES = ("masked", "reference", "condition")
OUT_NAME = "rgb"


@dataclasses.dataclass(frozen=True)
class InpaintConfig:
    """Architecture of one configuration.

    Attributes:
        name: "full" or "lite".
        size: crop side S in pixels.
        widths: channels per level, full resolution first; each further level halves S.
    """

    name: str
    size: int
    widths: tuple[int, ...]


CONFIGS = {
    "full": InpaintConfig("full", 256, (16, 24, 48, 96, 128)),
    "lite": InpaintConfig("lite", 128, (8, 16, 32, 64)),
}


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1), nn.LeakyReLU(0.1, inplace=True))


class InpaintUNet(nn.Module):
    """UNet: stem, strided-conv encoder, nearest-upsample decoder with skips, sigmoid head.

    Args:
        config: an :class:`InpaintConfig` (or a key of :data:`CONFIGS`).
    """

    def __init__(self, config: InpaintConfig | str = "lite"):
        super().__init__()
        self.config = CONFIGS[config] if isinstance(config, str) else config
        w = self.config.widths
        if self.config.size % (2 ** (len(w) - 1)):
            raise ValueError(f"size {self.config.size} must be divisible by 2**{len(w) - 1}")
        self.stem = nn.Sequential(_conv(8, w[0]), _conv(w[0], w[0]))
        self.down = nn.ModuleList(nn.Sequential(_conv(a, b, 2), _conv(b, b)) for a, b in zip(w, w[1:]))
        self.up = nn.ModuleList(_conv(b + a, a) for a, b in zip(w, w[1:]))
        self.head = nn.Conv2d(w[0], 3, 3, 1, 1)

    def forward(self, masked: torch.Tensor, reference: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        x = self.stem(torch.cat([masked, reference, condition], 1))
        skips = [x]
        for block in self.down:
            x = block(x)
            skips.append(x)
        skips.pop()
        for block in reversed(self.up):
            x = nn.functional.interpolate(x, scale_factor=2.0, mode="nearest")
            x = block(torch.cat([x, skips.pop()], 1))
        return torch.sigmoid(self.head(x))


def example_inputs(config: InpaintConfig, batch: int = 1) -> tuple[torch.Tensor, ...]:
    """Random inputs of the right shapes for tracing and FLOP counting."""
    s = config.size
    g = torch.Generator().manual_seed(0)
    return (torch.rand(batch, 4, s, s, generator=g), torch.rand(batch, 3, s, s, generator=g),
            torch.rand(batch, 1, s, s, generator=g))


def save_checkpoint(path: str | os.PathLike, model: InpaintUNet, **extra: object) -> None:
    """Write ``{"config", "state_dict", **extra}`` atomically."""
    from dhsdk.atomic import atomic_file

    with atomic_file(path) as tmp:
        torch.save({"config": dataclasses.asdict(model.config), "state_dict": model.state_dict(), **extra}, tmp)


def load_checkpoint(path: str | os.PathLike, config: str | None = None) -> tuple[InpaintUNet, dict]:
    """Load a checkpoint written by :func:`save_checkpoint`.

    Args:
        path: checkpoint file.
        config: expected configuration name; a checkpoint of another one raises.

    Returns:
        (model in eval mode, the whole checkpoint dict).

    Raises:
        BundleError: unreadable file, or a checkpoint for another configuration.
    """
    try:
        ckpt = torch.load(os.fspath(path), map_location="cpu", weights_only=False)
        cfg = InpaintConfig(**{**ckpt["config"], "widths": tuple(ckpt["config"]["widths"])})
    except (OSError, KeyError, TypeError, RuntimeError) as exc:
        raise BundleError(f"{path}: not an inpainting checkpoint ({exc}); retrain with 'dhsdk train mouth'") from exc
    if config is not None and cfg != CONFIGS[config]:
        raise BundleError(f"{path}: checkpoint is for configuration '{cfg.name}' (size {cfg.size}, widths "
                          f"{cfg.widths}), expected '{config}'; pass --config {cfg.name} or retrain")
    model = InpaintUNet(cfg)
    model.load_state_dict(ckpt["state_dict"])
    return model.eval(), ckpt


def export_onnx(model: InpaintUNet, path: str | os.PathLike, atol: float = 1e-4) -> float:
    """Export to ONNX (opset 17, dynamic batch axis) and check it against eager torch with ORT.

    Args:
        model: the network (put in eval mode here).
        path: destination ``.onnx`` (written atomically).
        atol: largest accepted |ORT - torch| on a batch of 2 random inputs.

    Returns:
        the measured max abs difference.

    Raises:
        RuntimeError: ORT disagrees with torch by more than ``atol``.
    """
    import io

    import numpy as np

    from dhsdk.atomic import atomic_file
    from dhsdk.runtime.ort import OnnxrtRunner

    model = model.eval()
    inputs = example_inputs(model.config, batch=2)
    buf = io.BytesIO()
    axes = {n: {0: "batch"} for n in (*IN_NAMES, OUT_NAME)}
    with torch.no_grad():
        torch.onnx.export(model, inputs, buf, input_names=list(IN_NAMES), output_names=[OUT_NAME],
                          dynamic_axes=axes, opset_version=17, dynamo=False)
        ref = model(*inputs).numpy()
    data = buf.getvalue()
    with OnnxrtRunner(data, name="inpaint-export") as runner:
        got = runner.infer({n: t.numpy() for n, t in zip(IN_NAMES, inputs)})[OUT_NAME]
    err = float(np.abs(got - ref).max())
    if err > atol:
        raise RuntimeError(f"ONNX export disagrees with torch: max |diff| {err:.2e} > {atol:.0e}")
    with atomic_file(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
    return err
