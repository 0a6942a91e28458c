"""The a2k network (PyTorch, for training and export): a log-mel window -> lip-shape coefficients
-> canonical lip deltas.

Input ``mel``: (B, 80, W) float32 log-mel frames ``c - PAST .. c + FUTURE`` around the mel frame
``c`` nearest the video frame's time; W = PAST + 1 + FUTURE. Look-ahead is FUTURE mel hops plus
half a window (see :data:`LOOKAHEAD_S`). Outputs ``deltas`` (B, 40, 2) (linear in the
coefficients, basis from :mod:`dhsdk.models.lipshape`) and ``coeffs`` (B, K).

The network sees each window twice: as it is (normalised by fixed corpus statistics) and with
each mel band's mean over the window removed, which takes out what a microphone, a room's
colouring or a voice adds to every frame alike, so the shape of the speech stands out.

The shipped model is an :class:`A2KEnsemble`: a few such nets trained from different seeds, their
coefficients averaged in one graph (:func:`from_onnx` reads either kind back).
"""
from __future__ import annotations

import torch
from torch import nn

from dhsdk.models import lipshape

PAST = 20
FUTURE = 8
WINDOW = PAST + 1 + FUTURE
# FUTURE hops + the frame's right half-window (17.5 ms) + up to half a hop of frame rounding.
LOOKAHEAD_S = FUTURE * 0.010 + 0.0175 + 0.010
MEL_MEAN = -6.0
MEL_STD = 5.0


class LipNet(nn.Module):
    """What every a2k network shares: ``coeffs`` (B, 80, W) log-mel -> (B, K), and the fixed
    basis that turns coefficients into canonical lip deltas."""

    def __init__(self):
        super().__init__()
        self.register_buffer("basis", torch.from_numpy(lipshape.basis()).reshape(lipshape.K, -1))

    def coeffs(self, mel: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        """(B, 80, W) log-mel -> (B, 40, 2) canonical lip deltas."""
        return (self.coeffs(mel) @ self.basis).reshape(-1, 40, 2)


class A2KNet(LipNet):
    """Temporal conv stack over a bounded mel window; ~0.3 M params, ~7 MFLOPs per frame.

    Args:
        width: channels of the conv stack.
        hidden: units of the head's hidden layer.
        dropout: dropout before the head's output layer while training.
    """

    def __init__(self, width: int = 128, hidden: int = 192, dropout: float = 0.1):
        super().__init__()
        self.convs = nn.Sequential(
            nn.Conv1d(2 * 80, width, 3, padding=1), nn.GELU(),
            nn.Conv1d(width, width, 3, padding=1, stride=2), nn.GELU(),
            nn.Conv1d(width, width, 3, padding=1, stride=2), nn.GELU(),
            nn.Conv1d(width, width, 3, padding=1, stride=2), nn.GELU(),
        )
        steps = WINDOW
        for _ in range(3):
            steps = (steps + 1) // 2
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(width * steps, hidden), nn.GELU(), nn.Dropout(dropout),
                                  nn.Linear(hidden, lipshape.K))

    def coeffs(self, mel: torch.Tensor) -> torch.Tensor:
        """(B, 80, W) log-mel -> (B, K) coefficients."""
        x = (mel - MEL_MEAN) / MEL_STD
        return self.head(self.convs(torch.cat([x, x - x.mean(dim=2, keepdim=True)], dim=1)))


class A2KEnsemble(LipNet):
    """The mean of ``members`` nets' coefficients: one graph, one input and output like a single
    :class:`A2KNet` (three default members: ~0.93 M params, ~19 MFLOPs per frame).

    Nets trained alike from different seeds err differently on voices none of them heard; their
    mean follows an unseen speaker more closely than any one of them (see PROVENANCE.md).
    """

    def __init__(self, members: list[A2KNet]):
        super().__init__()
        self.members = nn.ModuleList(members)

    def coeffs(self, mel: torch.Tensor) -> torch.Tensor:
        """(B, 80, W) log-mel -> (B, K) coefficients, the members' mean."""
        return torch.stack([m.coeffs(mel) for m in self.members]).mean(dim=0)


def from_onnx(path: str) -> LipNet:
    """The torch twin, in eval mode, of an a2k ONNX export (:class:`A2KNet` or
    :class:`A2KEnsemble`: its initializers keep the state-dict names).

    Raises:
        BundleError: the file is not an export of either.
    """
    import numpy as np

    from dhsdk._optional import require
    from dhsdk.errors import BundleError

    onnx = require("onnx")
    weights = {t.name: onnx.numpy_helper.to_array(t) for t in onnx.load(str(path)).graph.initializer}
    members = {int(k.split(".")[1]) for k in weights if k.startswith("members.")}
    model: LipNet = A2KEnsemble([A2KNet() for _ in members]) if members else A2KNet()
    state = model.state_dict()   # the lip basis is fixed (lipshape), not a weight: kept as built
    try:
        state.update({k: torch.from_numpy(np.array(weights[k])) for k in state if not k.endswith("basis")})
        model.load_state_dict(state)
    except (KeyError, RuntimeError) as e:
        raise BundleError(f"{path} is not an a2k model exported by dhsdk ({e}); give the shipped one or one "
                          f"written by 'dhsdk train a2k'") from None
    return model.eval()


def export_onnx(model: LipNet, out: str, opset: int = 17) -> None:
    """Write ``model`` as ONNX (input ``mel`` (B, 80, W), output ``deltas`` (B, 40, 2), dynamic batch)."""
    from dhsdk.atomic import atomic_file

    model = model.eval()
    with atomic_file(out) as tmp, torch.no_grad():
        torch.onnx.export(model, (torch.zeros(1, 80, WINDOW),), str(tmp), input_names=["mel"],
                          output_names=["deltas"], dynamic_axes={"mel": {0: "batch"}, "deltas": {0: "batch"}},
                          opset_version=opset, dynamo=False)
