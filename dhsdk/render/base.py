"""The mouth-stage contract shared by every renderer.

All coordinates are pixels of the S x S mouth crop (pixel centres at integers). A renderer
is built once per avatar (it may cache reference crops, a teeth bank, colour statistics)
and then called once per output frame, or once per batch of frames.
"""
from __future__ import annotations

import abc

import numpy as np


class MouthRenderer(abc.ABC):
    """Crop in, crop out.

    Attributes:
        crop_size: S, the side of the square crops this renderer takes and returns.
    """

    crop_size: int

    @abc.abstractmethod
    def render(self, crop: np.ndarray, src_lips: np.ndarray, dst_lips: np.ndarray) -> np.ndarray:
        """Re-render the lower face of one crop so its lips take the target shape.

        Args:
            crop: (S, S, 3) uint8 RGB avatar frame crop.
            src_lips: (40, 2) float32 lip keypoints as they are in ``crop``.
            dst_lips: (40, 2) float32 target lip keypoints.

        Returns:
            (S, S, 3) uint8 RGB crop. Pixels outside the lower-face region equal ``crop``'s.
        """

    def render_batch(self, crops: np.ndarray, src_lips: np.ndarray, dst_lips: np.ndarray) -> np.ndarray:
        """Batched :meth:`render`: (B, S, S, 3), (B, 40, 2), (B, 40, 2) -> (B, S, S, 3).

        The default loops; backends with a batched model override it.
        """
        return np.stack([self.render(c, s, d) for c, s, d in zip(crops, src_lips, dst_lips)])
