"""The :class:`Avatar` facade: a loaded bundle, its geometry, and the main job on it.

>>> avatar = Avatar.load("avatars/anna")          # or Avatar.default()
>>> for frame in avatar.speak("speech.wav"): ...  # VideoFrame: image, audio, pts
>>> avatar.render("speech.wav", "out.mp4")

The runners (a2k, mouth renderer) are created once per (mouth, device) and reused by every
call, in the spirit of faster-whisper's ``WhisperModel``.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from dhsdk.avatar import bundle, mouth_region, mouth_state
from dhsdk.avatar.framestore import DEFAULT_CACHE_MB, FrameStore
from dhsdk.avatar.idle import IdleLoop
from dhsdk.geometry import apply_affine, invert_affine


class Avatar:
    """An avatar bundle, ready to be driven by speech.

    Use :meth:`load`, :meth:`default` or :func:`dhsdk.avatar.create_avatar`; the constructor
    takes already validated parts.

    Attributes:
        path: the bundle directory.
        manifest: the parsed ``manifest.json``.
        fps: frame rate of the base frames.
        num_frames: N base frames.
        width, height: frame size in pixels.
        landmarks: (N, 478, 2) float32 smoothed face mesh per frame, pixels.
        to_canonical: (N, 2, 3) float64 image -> canonical similarity per frame.
        lips: (N, 40, 2) float32 lip keypoints per frame, pixels.
        neutral_lips: (40, 2) float32 resting closed mouth, canonical units.
        lip_gap: (N,) float32 inner-lip gap of every base frame in the canonical frame (eye
            distances; about 0 when the lips touch), from the smoothed track.
        closed_threshold: the avatar's closed-mouth threshold in eye distances: a mouth whose
            inner-lip gap is below it is closed, in a base frame (:attr:`closed_mouth`) or in
            rendered output measured with the same face mesh
            (:func:`dhsdk.avatar.mouth_state.closed_threshold`).
        idle_loop: the :class:`~dhsdk.avatar.idle.IdleLoop` silent output plays.
        device: ``"auto" | "cpu" | "cuda"``, used for the runners.
    """

    def __init__(self, path: str | os.PathLike, manifest: dict[str, Any], arrays: dict[str, np.ndarray],
                 frames: FrameStore, device: str = "auto"):
        self.path = Path(path)
        self.manifest = manifest
        self.fps = float(manifest["fps"])
        self.num_frames = int(manifest["num_frames"])
        self.width, self.height = int(manifest["width"]), int(manifest["height"])
        self.landmarks = arrays["landmarks"]
        self.to_canonical = arrays["to_canonical"].astype(np.float64)
        self.lips = arrays["lips"].astype(np.float32)
        self.neutral_lips = arrays["neutral_lips"].astype(np.float32)
        # Bundles made before the mouth state was stored get it derived exactly as creation does.
        self.lip_gap = (arrays["lip_gap"].astype(np.float32) if "lip_gap" in arrays
                        else mouth_state.lip_gap(self.to_canonical, self.lips))
        mouth = manifest.get("mouth")
        self.closed_threshold = (float(mouth["closed_threshold"]) if mouth is not None
                                 else mouth_state.closed_threshold(self.lip_gap))
        self.lower_face = arrays["lower_face"].astype(np.float64)
        self.idle_loop = IdleLoop.from_json(manifest["idle_loop"])
        self._reference = (arrays["reference_lips"].astype(np.float64), arrays["reference_to_canonical"].astype(np.float64))
        self._crop_centre = np.asarray(manifest["crop"]["centre"], np.float64)
        self._crop_extent = float(manifest["crop"]["extent"])
        self._frames = frames
        self.device = device
        self._lipsyncs: dict[tuple, Any] = {}
        self._geometry: dict[tuple, np.ndarray] = {}

    # ---- loading ----------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | os.PathLike, device: str = "auto", cache_mb: float = DEFAULT_CACHE_MB) -> "Avatar":
        """Open a bundle made by ``dhsdk avatar create``.

        Args:
            path: the bundle directory.
            device: where the runners run (``"auto"`` picks CUDA when usable).
            cache_mb: memory bound on decoded base frames (the idle loop's frames stay cached).

        Raises:
            BundleError: missing, damaged, or of a newer schema (the message says what to do).
        """
        manifest = bundle.read_manifest(path)
        arrays = bundle.read_arrays(path, manifest)
        frames = FrameStore(Path(path) / manifest["files"].get("frames", bundle.FRAMES), arrays["offsets"],
                            (int(manifest["height"]), int(manifest["width"])), cache_mb)
        return cls(path, manifest, arrays, frames, device)

    @classmethod
    def default(cls, device: str = "auto") -> "Avatar":
        """The bundled default avatar (built from ``skimage.data.astronaut()`` on first use and
        cached under ``~/.cache/dhsdk/avatars``; ``DHSDK_CACHE`` moves the cache)."""
        from dhsdk.avatar.default import default_avatar_dir

        return cls.load(default_avatar_dir(), device=device)

    # ---- frames and geometry ----------------------------------------------------------
    @property
    def mouth_model(self) -> str:
        """``"warp"`` (weights-free renderer) or the bundle-relative path of a trained mouth model."""
        return str(self.manifest["mouth_model"])

    @property
    def mouth_model_int8(self) -> str | None:
        """Bundle-relative path of the trained mouth model's int8 twin, which the CPU path runs
        (``dhsdk train mouth`` writes one when it keeps the quality), or None."""
        return self.manifest.get("mouth_model_int8") or None

    @property
    def closed_mouth(self) -> np.ndarray:
        """(N,) bool: base frames whose mouth is closed (``lip_gap < closed_threshold``); the
        footage's own neutral mouth, for showing silence."""
        return self.lip_gap < self.closed_threshold

    def frame(self, index: int) -> np.ndarray:
        """(H, W, 3) uint8 RGB base frame ``index`` (read-only: copy it to draw on it)."""
        return self._frames[index]

    def idle_index(self, k: int) -> int:
        """Base frame shown at output frame ``k`` of the idle loop."""
        return self.idle_loop.index(k)

    def preload(self, wait: bool = False) -> None:
        """Decode the idle loop's frames into the cache in a background thread (``LipSync`` starts
        it; a live ``Stream`` waits for it before its clock starts, so no frame is late on a
        cold cache); ``wait`` returns once they are decoded."""
        self._frames.preload(self.idle_loop.frames(), wait=wait)

    def canonical_to_crop(self, size: int) -> np.ndarray:
        """(2, 3) float64 canonical frame -> S x S mouth-crop pixels (fixed per avatar)."""
        return mouth_region.canonical_to_crop(self._crop_centre, size, self._crop_extent)

    def crop_affine(self, size: int) -> np.ndarray:
        """(N, 2, 3) float32 crop -> frame affine of every base frame (the mouth ROI), read-only."""
        def build() -> np.ndarray:
            to_crop = self.canonical_to_crop(size)
            return np.stack([mouth_region.crop_to_frame(to_crop, m) for m in self.to_canonical]).astype(np.float32)

        return self._cached(("crop_affine", int(size)), build)

    def mouth_mask(self, size: int) -> np.ndarray:
        """(S, S) float32 feathered lower-face mask in [0, 1] (1 = re-rendered), read-only."""
        return self._cached(("mouth_mask", int(size)), lambda: mouth_region.mouth_mask(
            self.lower_face, self.canonical_to_crop(size), size, self._crop_extent))

    def reference_crop(self, size: int) -> tuple[np.ndarray, np.ndarray]:
        """The reference for the mouth renderers: the material's most open mouth (teeth, inner
        mouth, lip colour), cropped like the base frames.

        Returns:
            (S, S, 3) uint8 RGB crop, (40, 2) float32 its lips in crop pixels.
        """
        import cv2

        from dhsdk import kernels
        from dhsdk.errors import BundleError

        file = self.path / self.manifest["files"].get("reference", bundle.REFERENCE)
        bgr = cv2.imread(str(file), cv2.IMREAD_COLOR)
        if bgr is None:
            raise BundleError(f"{file} is missing or damaged: create the avatar again")
        lips, to_canonical = self._reference
        affine = mouth_region.crop_to_frame(self.canonical_to_crop(size), to_canonical)
        image = np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        crop = kernels.crop(image, affine[None].astype(np.float32), size, border="replicate")[0]
        return crop, apply_affine(invert_affine(affine), lips).astype(np.float32)

    def _cached(self, key: tuple, build: Any) -> np.ndarray:
        if key not in self._geometry:
            value = build()
            value.flags.writeable = False
            self._geometry[key] = value
        return self._geometry[key]

    # ---- the main job -----------------------------------------------------------------
    def lipsync(self, mouth: str = "auto", openness_gain: float = 1.0, crop_size: int = 256) -> Any:
        """The :class:`~dhsdk.pipeline.lipsync.LipSync` for these settings (built once, reused)."""
        key = (mouth, float(openness_gain), int(crop_size))
        if key not in self._lipsyncs:
            from dhsdk.pipeline.lipsync import LipSync

            self._lipsyncs[key] = LipSync(self, mouth=mouth, device=self.device, crop_size=crop_size,
                                          openness_gain=openness_gain)
        return self._lipsyncs[key]

    def speak(self, audio: Any = None, *, text: str | None = None, voice: str | None = None,
              fps: float | None = None, size: tuple[int, int] | None = None, mouth: str = "auto",
              openness_gain: float = 1.0) -> Iterator[Any]:
        """Lip-synced frames for one utterance (see :meth:`dhsdk.pipeline.lipsync.LipSync.speak`).

        Args:
            audio: a path, 16 kHz float32 PCM, ``(pcm, rate)``, or an iterable of chunks.
            text: say this through the embedded TTS instead (``voice`` e.g. ``"en-us"``, ``"cmn"``).
        """
        return self.lipsync(mouth, openness_gain).speak(audio, text=text, voice=voice, fps=fps, size=size)

    def render(self, audio: Any = None, out: str | os.PathLike = "out.mp4", *, text: str | None = None,
               voice: str | None = None, fps: float | None = None, size: tuple[int, int] | None = None,
               mouth: str = "auto", openness_gain: float = 1.0, contact: str | os.PathLike | None = None,
               show_progress: bool = True) -> Any:
        """Render speech to an H.264 + AAC mp4, atomically; returns a
        :class:`~dhsdk.pipeline.lipsync.RenderSummary`."""
        return self.lipsync(mouth, openness_gain).render(audio, out, text=text, voice=voice, fps=fps, size=size,
                                                         contact=contact, show_progress=show_progress)

    def __repr__(self) -> str:
        return (f"Avatar({str(self.path)!r}, {self.width}x{self.height}, {self.num_frames} frames at "
                f"{self.fps:g} fps, mouth={self.mouth_model!r})")
