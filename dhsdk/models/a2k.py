"""The a2k network (PyTorch, for training and export): a log-mel window -> lip-shape coefficients
-> canonical lip deltas.

Input ``mel``: (B, 80, W) float32 log-mel frames ``c - PAST .. c + FUTURE`` around the mel frame
``c`` nearest the video frame's time; W = PAST + 1 + FUTURE. Look-ahead is FUTURE mel hops plus
half a window (see :data:`LOOKAHEAD_S`). Outputs ``deltas`` (B, 40, 2) (linear in the
coefficients, basis from :mod:`dhsdk.models.lipshape`) and ``coeffs`` (B, K).

The network sees each window twice: as it is (normalised by fixed corpus statistics) and with
each mel band's mean over the window removed, which takes out what a microphone, a room's
colouring or a voice adds to every frame alike, so the shape of the speech stands out.
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


class A2KNet(nn.Module):
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
        self.register_buffer("basis", torch.from_numpy(lipshape.basis()).reshape(lipshape.K, -1))

    def coeffs(self, mel: torch.Tensor) -> torch.Tensor:
        """(B, 80, W) log-mel -> (B, K) coefficients."""
        x = (mel - MEL_MEAN) / MEL_STD
        return self.head(self.convs(torch.cat([x, x - x.mean(dim=2, keepdim=True)], dim=1)))

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        """(B, 80, W) log-mel -> (B, 40, 2) canonical lip deltas."""
        return (self.coeffs(mel) @ self.basis).reshape(-1, 40, 2)


def export_onnx(model: A2KNet, out: str, opset: int = 17) -> None:
    """Write ``model`` as ONNX (input ``mel`` (B, 80, W), output ``deltas`` (B, 40, 2), dynamic batch)."""
    from dhsdk.atomic import atomic_file

    model = model.eval()
    with atomic_file(out) as tmp, torch.no_grad():
        torch.onnx.export(model, (torch.zeros(1, 80, WINDOW),), str(tmp), input_names=["mel"],
                          output_names=["deltas"], dynamic_axes={"mel": {0: "batch"}, "deltas": {0: "batch"}},
                          opset_version=opset, dynamo=False)
