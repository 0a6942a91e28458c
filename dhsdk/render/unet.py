"""Mouth renderer running the exported inpainting UNet with ONNX Runtime (no torch).

Per call: blank the lower face of the crop with the avatar's mouth mask, add the reference
crop and the condition map of the (temporally smoothed) target lips, run the network, match
the prediction's colour to the crop in the mask's feather band, and blend it in with the
mask so pixels outside the mask are unchanged.
"""
from __future__ import annotations

import os
from types import ModuleType
from typing import Any

import numpy as np

from dhsdk.errors import InputError
from dhsdk.models.condition import check_lips, render_condition
from dhsdk.render.base import MouthRenderer
from dhsdk.runtime.ort import OnnxrtRunner, session_from_onnx


class UNetRenderer(MouthRenderer):
    """Inpainting-UNet mouth renderer.

    Args:
        model: path to the exported ``.onnx`` (inputs masked/reference/condition, output rgb,
            dynamic batch), or an already built :class:`OnnxrtRunner`.
        reference: (S, S, 3) uint8 RGB reference crop of the same person.
        mask: (S, S) float32 lower-face mask in [0, 1] (1 = re-rendered).
        smoothing: 0..1 exponential smoothing of the target lips across calls (0 = off); a still
            input gives a still mouth.
        color_match: shift the prediction's per-channel mean to the crop's in the feather band.
    """

    def __init__(self, model: str | os.PathLike | OnnxrtRunner, reference: np.ndarray, mask: np.ndarray,
                 smoothing: float = 0.0, color_match: bool = True):
        self.runner = model if isinstance(model, OnnxrtRunner) else OnnxrtRunner(model, name="inpaint-unet")
        if not self.runner.is_active:
            self.runner.activate()
        size = self.runner.inputs["masked"].shape[-1]
        if not isinstance(size, int):
            raise InputError(f"{model}: the model's crop size must be static, got {size}")
        self.crop_size = size
        self.reference = self._check_crops(np.asarray(reference)[None], "reference")[0]
        mask = np.asarray(mask, np.float32)
        if mask.shape != (size, size):
            raise InputError(f"mask: expected ({size}, {size}) for this model, got {mask.shape}")
        self.mask = np.clip(mask, 0.0, 1.0)
        self.band = (self.mask > 0.05) & (self.mask < 0.6)
        if not 0.0 <= smoothing < 1.0:
            raise InputError(f"smoothing must be in [0, 1), got {smoothing}")
        self.smoothing = smoothing
        self.color_match = color_match
        self._prev: np.ndarray | None = None

    @classmethod
    def from_avatar(cls, avatar: Any, model_path: str | os.PathLike, threads: int | None = None,
                    **kwargs: Any) -> "UNetRenderer":
        """Build from an avatar: its mouth mask and its reference crop (its most open mouth, so
        the network sees teeth) at the model's crop size. ``threads``: ONNX Runtime threads per
        inference (all cores when None)."""
        runner = OnnxrtRunner(session_from_onnx(model_path, intra_op_threads=threads), name="inpaint-unet").activate()
        size = runner.inputs["masked"].shape[-1]
        ref, _ = avatar.reference_crop(size)
        return cls(runner, ref, avatar.mouth_mask(size), **kwargs)

    def _check_crops(self, crops: np.ndarray, what: str) -> np.ndarray:
        s = self.crop_size
        if crops.ndim != 4 or crops.shape[1:] != (s, s, 3) or crops.dtype != np.uint8:
            raise InputError(f"{what}: expected uint8 crops of shape ({s}, {s}, 3) for this model, got "
                             f"{crops.dtype} {crops.shape[1:]}; re-crop at the model's size")
        return crops

    def render(self, crop: np.ndarray, src_lips: np.ndarray, dst_lips: np.ndarray) -> np.ndarray:
        return self.render_batch(np.asarray(crop)[None], np.asarray(src_lips)[None], np.asarray(dst_lips)[None])[0]

    def render_batch(self, crops: np.ndarray, src_lips: np.ndarray, dst_lips: np.ndarray) -> np.ndarray:
        """One batched ORT call: (B, S, S, 3) uint8, (B, 40, 2), (B, 40, 2) -> (B, S, S, 3) uint8."""
        crops = self._check_crops(np.asarray(crops), "crop")
        s = self.crop_size
        lips = [self._smooth(check_lips(d, s, "dst_lips")) for d in dst_lips]
        for src in src_lips:
            check_lips(src, s, "src_lips")
        ref = self.reference.astype(np.float32).transpose(2, 0, 1)[None] / 255.0
        cond = np.stack([render_condition(lp, s) for lp in lips])[:, None]
        rgb = self.runner.infer(unet_feeds(np, crops, self.mask, ref, cond))["rgb"]
        band = np.flatnonzero(self.band) if self.color_match and self.band.any() else None
        return unet_blend(np, crops, rgb, self.mask, band)

    def _smooth(self, lips: np.ndarray) -> np.ndarray:
        if not self.smoothing:
            return lips   # stateless: parts of a batch may render side by side
        if self._prev is not None:
            lips = self.smoothing * self._prev + (1.0 - self.smoothing) * lips
        self._prev = lips
        return lips


def unet_feeds(xp: ModuleType, crops: Any, mask: Any, reference: Any, condition: Any) -> dict[str, Any]:
    """The inpainting UNet's feeds from uint8 crops, on ``xp``'s side (numpy or CuPy).

    The crop with its lower face blanked by the mask plus the mask as a fourth channel, the
    reference crop, and the condition map of the target lips, NCHW float32 in [0, 1]. Shared by
    :meth:`UNetRenderer.render_batch` (numpy) and the GPU path (CuPy).

    Args:
        crops: (B, S, S, 3) uint8.
        mask: (S, S) float32 in [0, 1] (1 = re-rendered).
        reference: (1, 3, S, S) float32 reference crop in [0, 1].
        condition: (B, 1, S, S) float32 condition maps.
    """
    x = crops.astype(xp.float32).transpose(0, 3, 1, 2) / 255.0
    m = xp.broadcast_to(mask, (x.shape[0], 1) + mask.shape).astype(xp.float32)
    return {"masked": xp.ascontiguousarray(xp.concatenate([x * (1.0 - m), m], 1)),
            "reference": xp.ascontiguousarray(xp.broadcast_to(reference, x.shape)),
            "condition": xp.ascontiguousarray(condition, xp.float32)}


def unet_blend(xp: ModuleType, crops: Any, rgb: Any, mask: Any, band: Any | None) -> Any:
    """The UNet's (B, 3, S, S) ``rgb`` blended into (B, S, S, 3) uint8 ``crops`` through the
    (S, S) mask, its per-channel mean first shifted to the crop's over the flat pixel indices
    ``band`` (the mask's feather band; None: no colour match). Shared like :func:`unet_feeds`."""
    x = crops.astype(xp.float32) / 255.0
    out = rgb.astype(xp.float32).transpose(0, 2, 3, 1)
    if band is not None:
        flat = (x.reshape(x.shape[0], -1, 3), out.reshape(out.shape[0], -1, 3))
        out = out + (flat[0][:, band].mean(1) - flat[1][:, band].mean(1))[:, None, None, :]
    m = mask[None, :, :, None]
    blended = x * (1.0 - m) + xp.clip(out, 0.0, 1.0) * m
    return xp.clip(xp.rint(blended * 255.0), 0, 255).astype(xp.uint8)
