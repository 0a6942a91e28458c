"""Training samples for the inpainting UNet, built from one person's footage (numpy + cv2).

A clip becomes (crops (N, S, S, 3) uint8, lips (N, 40, 2) float32 crop px, mask (S, S) float32).
A sample is: the crop with the lower face blanked, a reference crop from elsewhere in the clip
(at least ``min_gap`` frames away, so the network cannot copy the target), the condition map
of the frame's own lips, and the frame itself as the target.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from dhsdk.geometry import apply_affine, invert_affine
from dhsdk.models.condition import render_condition


def clip_from_avatar(avatar: Any, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Crop every avatar frame at ``size`` and map its lips into crop pixels.

    Returns:
        crops (N, S, S, 3) uint8, lips (N, 40, 2) float32 crop px, mask (S, S) float32.
    """
    import cv2

    affines = np.asarray(avatar.crop_affine(size), np.float64)
    crops = np.stack([cv2.warpAffine(avatar.frame(i), affines[i], (size, size),
                                     flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                                     borderMode=cv2.BORDER_REPLICATE) for i in range(avatar.num_frames)])
    lips = np.stack([apply_affine(invert_affine(a), p) for a, p in zip(affines, np.asarray(avatar.lips))])
    return crops, lips.astype(np.float32), np.asarray(avatar.mouth_mask(size), np.float32)


def pick_references(n: int, rng: np.random.Generator, min_gap: int) -> np.ndarray:
    """For each of ``n`` frames, a random other frame index at least ``min_gap`` away (if possible)."""
    gap = min(min_gap, max(n // 3, 1))
    offs = rng.integers(gap, max(n - gap, gap + 1), size=n)
    return (np.arange(n) + offs) % n


def make_batch(crops: np.ndarray, lips: np.ndarray, mask: np.ndarray, idx: np.ndarray,
               ref_idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Network inputs and target for frames ``idx`` with references ``ref_idx``.

    Returns:
        masked (B, 4, S, S), reference (B, 3, S, S), condition (B, 1, S, S), target (B, 3, S, S),
        float32 in [0, 1].
    """
    s = crops.shape[1]
    x = crops[idx].astype(np.float32).transpose(0, 3, 1, 2) / 255.0
    m = np.broadcast_to(mask[None, None], (len(idx), 1, s, s))
    masked = np.concatenate([x * (1.0 - m), m], 1)
    ref = crops[ref_idx].astype(np.float32).transpose(0, 3, 1, 2) / 255.0
    cond = np.stack([render_condition(lips[i], s) for i in idx])[:, None]
    return masked, np.ascontiguousarray(ref), cond, x
