"""The weights-free warp renderer: the SDK's default mouth stage (DESIGN.md, "mouth").

Per frame: the target lips pass through the user controls (openness gain, temporal
smoothing, :mod:`dhsdk.render.smoothing`), the lower-face mesh (:mod:`dhsdk.render.mesh`) is
placed on the crop's own lips (source) and on the target lips (destination), and one native
pass (``dhsdk._C.warp``, csrc/kernels/warp.h) warps the crop piecewise-affinely and fills the
inner mouth from the crop itself, the avatar's teeth bank or a shaded cavity
(:mod:`dhsdk.render.mouth_fill`), colour-matched to the frame. Pixels outside the mesh's
fixed contour (inside the mask support) are returned unchanged; the compositor blends the
result with the mask.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from dhsdk.errors import InputError
from dhsdk.models.condition import check_lips
from dhsdk.render.base import MouthRenderer
from dhsdk.render.mesh import LowerFaceMesh, inner_lut, mouth_span
from dhsdk.render.mouth_fill import MouthBank
from dhsdk.render.smoothing import LipControls

SOFT_PX = 1.0  # width of the lip-edge -> teeth/cavity hand-over, crop pixels at S = 256


class WarpRenderer(MouthRenderer):
    """Piecewise-affine mouth renderer with a synthesised inner mouth.

    Args:
        mask: (S, S) float32 lower-face mask in [0, 1] (1 = re-rendered); fixes S and the
            mesh's outer contour.
        neutral_lips: (40, 2) crop-pixel lips of the avatar's resting mouth (mesh rays).
        reference: (S, S, 3) uint8 RGB reference crop for the teeth bank and the synthetic
            colours, ideally the avatar's most open mouth (any frame of it works).
        reference_lips: (40, 2) crop-pixel lips of ``reference``.
        smoothing: temporal smoothing strength of the target lips in [0, 1] (0 = off).
        openness_gain: scales the target mouth opening (1 = as given).
        color_match: match the teeth bank and synthetic colours to each crop.
        fps: frame rate of the render calls (for the smoothing's time constants).
    """

    def __init__(self, mask: np.ndarray, neutral_lips: np.ndarray, reference: np.ndarray,
                 reference_lips: np.ndarray, *, smoothing: float = 0.0,
                 openness_gain: float = 1.0, color_match: bool = True, fps: float = 25.0):
        mask = np.asarray(mask, np.float32)
        if mask.ndim != 2 or mask.shape[0] != mask.shape[1] or mask.shape[0] < 16:
            raise InputError(f"mask must be a square (S, S) float32 array with S >= 16, got shape {mask.shape}")
        self.crop_size = size = mask.shape[0]
        self.mask = np.clip(mask, 0.0, 1.0)
        neutral = check_lips(neutral_lips, size, "neutral_lips")
        self.mesh = LowerFaceMesh(self.mask, neutral)
        self.bank = MouthBank(self._check_crop(np.asarray(reference), "reference"),
                              check_lips(reference_lips, size, "reference_lips"), self.mask)
        self.controls = LipControls(smoothing, openness_gain, fps)
        self.color_match = bool(color_match)
        self.soft = SOFT_PX * size / 256.0
        self._native = _native_warp()

    @classmethod
    def from_avatar(cls, avatar: Any, size: int = 256, **kwargs: Any) -> "WarpRenderer":
        """Build from an avatar: its mouth mask, neutral lips, and its reference crop (its most
        open mouth) as the teeth bank.

        Args:
            avatar: has ``neutral_lips`` (40, 2) canonical, ``canonical_to_crop(size)``,
                ``mouth_mask(size)``, ``reference_crop(size)`` -> (crop, lips) and ``fps``.
            size: crop side S.
            **kwargs: renderer options (``smoothing``, ``openness_gain``, ``color_match``, ``fps``).
        """
        from dhsdk.geometry import apply_affine

        crop, ref_lips = avatar.reference_crop(size)
        neutral = apply_affine(avatar.canonical_to_crop(size), avatar.neutral_lips)
        kwargs.setdefault("fps", float(getattr(avatar, "fps", 25.0)))
        return cls(avatar.mouth_mask(size), neutral, crop, ref_lips, **kwargs)

    def reset(self) -> None:
        """Forget the smoothing state (call at a cut or a new utterance)."""
        self.controls.reset()

    def _check_crop(self, crop: np.ndarray, what: str) -> np.ndarray:
        s = self.crop_size
        if crop.shape != (s, s, 3) or crop.dtype != np.uint8:
            raise InputError(f"{what}: expected a uint8 ({s}, {s}, 3) RGB crop for this renderer, got "
                             f"{crop.dtype} {crop.shape}; crop the frame at size {s}")
        return np.ascontiguousarray(crop)

    def render(self, crop: np.ndarray, src_lips: np.ndarray, dst_lips: np.ndarray) -> np.ndarray:
        """Warp the crop's lips (``src_lips``) to the target (``dst_lips``); see the base class.

        The target first goes through the openness gain and the temporal smoothing, so calls
        must come in frame order (``reset()`` at a cut).

        Raises:
            InputError: wrong crop shape/dtype, or lips that are not (40, 2), contain NaN/inf or
                lie far outside the crop.
        """
        return self._native(*self.kernel_args(crop, src_lips, dst_lips))

    def kernel_args(self, crop: np.ndarray, src_lips: np.ndarray, dst_lips: np.ndarray) -> tuple:
        """The positional arguments of ``dhsdk._C.warp`` for one frame (advances the smoothing).

        Exposed so tests can run the same call through ``dhsdk._C.emulated.warp``.
        """
        crop = self._check_crop(np.asarray(crop), "crop")
        s = self.crop_size
        src = check_lips(src_lips, s, "src_lips")
        dst = self.mesh.limit(self.controls(check_lips(dst_lips, s, "dst_lips")))
        bank, mesh = self.bank, self.mesh
        cx, half_w = mouth_span(dst)
        src_cx, _ = mouth_span(src)
        c = bank.colours(crop, self.color_match)
        return (crop, bank.image, mesh.vertices(src), mesh.vertices(dst), mesh.triangles, mesh.n_mouth,
                inner_lut(dst, s), inner_lut(src, s), bank.lut, src_cx - cx, bank.centre - cx, cx, half_w,
                c.gain, c.offset, c.cavity, c.teeth, bank.teeth_h, self.soft)


def _native_warp() -> Any:
    try:
        from dhsdk import _C
    except ImportError as e:  # pragma: no cover - the extension is part of the install
        raise ImportError("dhsdk._C (the native kernels) is not built: run 'make build' or "
                          "'pip install .' in the dhsdk checkout") from e
    return _C.warp
