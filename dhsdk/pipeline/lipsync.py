"""Offline lip-sync: speech in, lip-synced frames out (the SDK's main job).

Per output frame k (DESIGN.md stages):

1. idle loop: base frame ``i = avatar.idle_index(k)``;
2. a2k: canonical lip deltas for frame k from the mel window around it;
3. target lips = blend(base frame's own lips, avatar neutral + gain * delta; activity w_k),
   mapped into the S x S mouth crop (the canonical -> crop map is fixed per avatar);
4. crop kernel: the base frame's mouth crop through the crop -> frame affine;
5. mouth stage: warp renderer or inpainting UNet re-renders the lower face;
6. composite kernel: the crop is blended back into a copy of the base frame.

Frames with no speech activity (w = 0) skip 4-6: the idle loop plays the footage untouched.
Runners are created once per :class:`LipSync` and reused for every call; ``stage_ms`` keeps the
recent per-frame times of each stage (``copy`` = reading and copying the base frame).
"""
from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import numpy as np

from dhsdk.errors import InputError
from dhsdk.frames import VideoFrame
from dhsdk.geometry import apply_affine, invert_affine
from dhsdk.pipeline.activity import frame_energy_db, speech_activity

if TYPE_CHECKING:
    from dhsdk.pipeline.fit import CoverFit

SAMPLE_RATE = 16000
STAGES = ("copy", "crop", "mouth", "composite")   # per-frame stages timed in LipSync.stage_ms
STAGE_WINDOW = 4096                                # recent samples kept per stage


@dataclass
class RenderSummary:
    """What an offline render produced.

    Attributes:
        path: the written file.
        frames: number of video frames.
        duration: seconds of audio (and video, within one frame).
        wall_time: seconds spent rendering and encoding.
        speech_frames: frames driven by speech (the rest played the idle loop).
    """

    path: Path
    frames: int
    duration: float
    wall_time: float
    speech_frames: int

    @property
    def fps(self) -> float:
        """Frames rendered per wall-clock second."""
        return self.frames / max(self.wall_time, 1e-9)

    @property
    def realtime_factor(self) -> float:
        """Seconds of output per second of wall time (> 1 is faster than real time)."""
        return self.duration / max(self.wall_time, 1e-9)

    def __str__(self) -> str:
        silent = "" if self.speech_frames else " (no speech found: rendered the idle loop)"
        return (f"{self.path}: {self.frames} frames, {self.duration:.2f} s, {self.fps:.1f} fps, "
                f"{self.realtime_factor:.2f}x real time{silent}")


def make_renderer(avatar: Any, mouth: str = "auto", crop_size: int = 256) -> Any:
    """The mouth renderer for ``avatar``.

    Args:
        mouth: ``"warp"`` (weights-free), ``"unet"`` (the avatar's trained model), or
            ``"auto"`` (the model the avatar's manifest names).
        crop_size: S for the warp renderer (the UNet's size is fixed by its model).
    """
    choice = avatar.mouth_model if mouth == "auto" else mouth
    if choice == "warp":
        from dhsdk.render.warp import WarpRenderer

        return WarpRenderer.from_avatar(avatar, size=crop_size)
    if choice == "unet":
        if avatar.mouth_model == "warp":
            raise InputError(f"avatar {avatar.path} has no trained mouth model: train one with "
                             f"'dhsdk train mouth --avatar {avatar.path}' or use --mouth warp")
        choice = avatar.mouth_model
    from dhsdk.render.unet import UNetRenderer

    return UNetRenderer.from_avatar(avatar, mouth_model_path(avatar, choice))


def mouth_model_path(avatar: Any, model: str) -> Path:
    """A mouth model's path (a manifest's ``mouth_model``: relative to the avatar's bundle)."""
    path = Path(model)
    return path if path.is_absolute() else Path(avatar.path) / path


class LipSync:
    """One avatar with its runners, ready to turn speech into frames.

    Args:
        avatar: a loaded :class:`dhsdk.avatar.Avatar`.
        mouth: ``"auto" | "warp" | "unet"`` (see :func:`make_renderer`).
        device: ``"auto" | "cpu" | "cuda"``; chosen once, with the frame path: on ``"cuda"``
            frames render on the GPU (:mod:`dhsdk.pipeline.device_path`); ``"auto"`` stays on
            the CPU where a piece of the GPU path is missing.
        crop_size: mouth crop side in pixels for the warp renderer.
        openness_gain: scales the predicted lip motion (1 = as predicted).
        a2k_path: an a2k ONNX model; when None, the one the avatar's manifest names as
            ``a2k_model`` (``dhsdk train a2k-adapt --avatar``), else the shipped default.
    """

    def __init__(self, avatar: Any, mouth: str = "auto", device: str = "auto", crop_size: int = 256,
                 openness_gain: float = 1.0, a2k_path: str | None = None):
        from dhsdk.device import resolve_device
        from dhsdk.models.a2k_runner import A2K

        self.avatar = avatar
        self.device = resolve_device(device)
        self.openness_gain = float(openness_gain)
        adapted = getattr(avatar, "manifest", {}).get("a2k_model")  # bundle-relative (synthetic avatars: none)
        self.a2k = A2K.load(a2k_path or (Path(avatar.path) / adapted if adapted else None), device=self.device)
        self.renderer = make_renderer(avatar, mouth, crop_size)
        size = self.renderer.crop_size
        self.crop_size = size
        self._crop_affine = np.asarray(avatar.crop_affine(size), np.float32)
        self._mask = np.ascontiguousarray(avatar.mouth_mask(size), np.float32)
        self._to_crop = np.asarray(avatar.canonical_to_crop(size), np.float64)
        # Each base frame's own lips, in the canonical frame (the idle mouth).
        self._idle_canonical = np.stack([apply_affine(m, lips) for m, lips in
                                         zip(avatar.to_canonical, avatar.lips)]).astype(np.float32)
        self.stage_ms: dict[str, deque] = {name: deque(maxlen=STAGE_WINDOW) for name in STAGES}
        if hasattr(avatar, "preload"):
            avatar.preload()  # decode the idle loop's base frames in the background meanwhile
        from dhsdk.pipeline.device_path import frame_path  # the per-frame path, chosen once

        self.device, self._frame = frame_path(self, device)

    # ---- audio ----------------------------------------------------------------------
    @staticmethod
    def _speech(audio: Any, text: str | None, voice: str | None) -> np.ndarray:
        """(n,) float32 16 kHz PCM from a path, an array, ``(array, rate)``, chunks, or text."""
        from dhsdk.audio import load_audio

        if text is not None:
            if audio is not None:
                raise InputError("give either audio or text, not both")
            if not text.strip():
                raise InputError("the text is empty: give something to say")
            from dhsdk.adapters.tts.espeak import EspeakTTS

            chunk = EspeakTTS(voice=voice or "en-us").synthesize(text)
            return load_audio((chunk.pcm, chunk.sample_rate))
        if audio is None:
            raise InputError("nothing to say: give an audio file, a PCM array or text")
        if isinstance(audio, (str, Path, np.ndarray, tuple)):
            return load_audio(audio)
        # An iterable of AudioChunk (any one rate) or of 16 kHz arrays.
        chunks = list(audio)
        rates = {c.sample_rate for c in chunks if hasattr(c, "sample_rate")}
        if len(rates) > 1:
            raise InputError(f"audio chunks mix sample rates {sorted(rates)}: resample them to one rate")
        pcm = np.concatenate([np.asarray(getattr(c, "pcm", c), np.float32) for c in chunks]) if chunks \
            else np.zeros(0, np.float32)
        return load_audio((pcm, rates.pop()) if rates else pcm)

    def _plan(self, audio: Any, text: str | None, voice: str | None, fps: float | None) -> "_Plan":
        pcm = self._speech(audio, text, voice)
        fps = float(fps or self.avatar.fps)
        total = max(1, int(round(len(pcm) / SAMPLE_RATE * fps)))
        deltas = self.a2k.predict(pcm, fps)[:total]
        if len(deltas) < total:
            deltas = np.concatenate([deltas, np.zeros((total - len(deltas), *deltas.shape[1:]), np.float32)])
        weights = speech_activity(frame_energy_db(pcm, SAMPLE_RATE, fps, total), fps)
        return _Plan(pcm, fps, total, deltas, weights)

    # ---- frames ---------------------------------------------------------------------
    def speak(self, audio: Any = None, *, text: str | None = None, voice: str | None = None,
              fps: float | None = None, size: tuple[int, int] | None = None) -> Iterator[VideoFrame]:
        """Lip-synced frames for one utterance.

        Args:
            audio: a path (any format PyAV reads), a 16 kHz float32 array, an
                ``(array, sample_rate)`` tuple, or an iterable of PCM chunks.
            text: say this through the embedded TTS instead (``voice``: an espeak voice,
                e.g. ``"en-us"`` or ``"cmn"``).
            fps: output frame rate; the avatar's when None.
            size: (width, height) to resize output frames to; the avatar's when None.

        Yields:
            :class:`VideoFrame` with RGB image, its 16 kHz audio slice and pts, in order.
        """
        return self._frames(self._plan(audio, text, voice, fps), size)

    def lips(self, base_index: int, delta: np.ndarray, weight: float) -> np.ndarray | None:
        """Target lips for one frame, in the canonical frame.

        Args:
            base_index: the avatar base frame the output frame starts from.
            delta: (40, 2) a2k lip deltas from the neutral mouth.
            weight: speech activity in [0, 1]: the lips blend from the base frame's own
                (0) to the speech-driven ``neutral + gain * delta`` (1).

        Returns:
            (40, 2) float32, or None when weight is 0 (the base frame plays untouched).
        """
        if weight <= 0.0:
            return None
        idle = self._idle_canonical[base_index]
        driven = np.asarray(self.avatar.neutral_lips, np.float32) + self.openness_gain * np.asarray(delta, np.float32)
        return idle + float(min(weight, 1.0)) * (driven - idle)

    def _opening(self, plan: "_Plan", k: int) -> float:
        """Rendered mouth opening of output frame k (canonical units)."""
        from dhsdk.geometry import mouth_opening

        base = self.avatar.idle_index(k)
        lips = self.lips(base, plan.deltas[k], float(plan.weights[k]))
        return float(mouth_opening(self._idle_canonical[base] if lips is None else lips))

    def fit(self, size: tuple[int, int] | None) -> "CoverFit | None":
        """The output resizer for ``size`` (width, height): scale to cover, crop around the face;
        None when ``size`` is None or the avatar's own."""
        from dhsdk.pipeline.fit import CoverFit

        if size is None or tuple(size) == (self.avatar.width, self.avatar.height):
            return None
        face = np.asarray(self.avatar.lips, np.float64)[:, :20].reshape(-1, 2).mean(0)
        eyes = apply_affine(invert_affine(self.avatar.to_canonical[0]), [0.0, 0.0])
        return CoverFit((self.avatar.width, self.avatar.height), size, tuple((face + eyes) / 2))

    def _frames(self, plan: "_Plan", size: tuple[int, int] | None) -> Iterator[VideoFrame]:
        edges = np.round(np.arange(plan.total + 1) * SAMPLE_RATE / plan.fps).astype(np.int64)
        fit = self.fit(size)
        for k in range(plan.total):
            base = self.avatar.idle_index(k)
            w = float(plan.weights[k])
            image = self.frame(base, self.lips(base, plan.deltas[k], w))
            if fit is not None:
                image = fit(image)
            seg = plan.pcm[edges[k]:edges[k + 1]]
            seg = np.pad(seg, (0, edges[k + 1] - edges[k] - len(seg)))
            yield VideoFrame(image=image, audio=seg, sample_rate=SAMPLE_RATE, pts=k / plan.fps, index=k,
                             speaking=w > 0)

    def frame(self, base_index: int, lips: np.ndarray | None) -> np.ndarray:
        """Render one output frame.

        Args:
            base_index: avatar base frame to start from.
            lips: (40, 2) target lips in the canonical frame; None returns the base frame
                untouched (idle).

        Returns:
            (H, W, 3) uint8 RGB (a new array).
        """
        return self._frame(base_index, lips)

    def _crop_lips(self, base_index: int, lips: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(40, 2) float32 crop-pixel lips of base frame ``base_index`` and of the target ``lips``."""
        src = apply_affine(self._to_crop, self._idle_canonical[base_index]).astype(np.float32)
        return src, apply_affine(self._to_crop, lips).astype(np.float32)

    def _host_frame(self, base_index: int, lips: np.ndarray | None) -> np.ndarray:
        """:meth:`frame` on the CPU (the host :data:`~dhsdk.pipeline.device_path.FramePath`)."""
        from dhsdk import kernels

        t0 = time.perf_counter()
        image = np.array(self.avatar.frame(base_index), copy=True)
        t1 = time.perf_counter()
        self.stage_ms["copy"].append((t1 - t0) * 1e3)
        if lips is None:
            return image
        affine = self._crop_affine[base_index]
        crop = kernels.crop(image, affine[None], self.crop_size)[0]
        src, dst = self._crop_lips(base_index, lips)
        t2 = time.perf_counter()
        mouth = self.renderer.render(crop, src, dst)
        t3 = time.perf_counter()
        kernels.composite(image, mouth, affine, mask=self._mask)
        t4 = time.perf_counter()
        for name, dt in (("crop", t2 - t1), ("mouth", t3 - t2), ("composite", t4 - t3)):
            self.stage_ms[name].append(dt * 1e3)
        return image

    # ---- files ----------------------------------------------------------------------
    def render(self, audio: Any = None, out: str | Path = "out.mp4", *, text: str | None = None,
               voice: str | None = None, fps: float | None = None, size: tuple[int, int] | None = None,
               contact: str | Path | None = None, show_progress: bool = True) -> RenderSummary:
        """Render speech to an H.264 + AAC mp4, written atomically (nothing left on failure).

        Args:
            contact: also write a contact-sheet PNG here (close-ups + mouth vs audio plot).

        Returns:
            a :class:`RenderSummary` (frames, duration, fps achieved, real-time factor).
        """
        from dhsdk.progress import progress
        from dhsdk.sinks.file import FileSink

        start = time.perf_counter()
        out = Path(out)
        plan = self._plan(audio, text, voice, fps)
        picks = set(_sheet_indices(plan.weights)) if contact else set()
        thumbs: list[tuple[np.ndarray, str]] = []
        count = speech = 0
        with FileSink(out) as sink:
            for f in progress(self._frames(plan, size), total=plan.total, desc="render", unit="frame",
                              enabled=show_progress):
                sink.write(f)
                count += 1
                speech += f.speaking
                if f.index in picks:
                    thumbs.append((f.image, f.index))
        summary = RenderSummary(out, count, len(plan.pcm) / SAMPLE_RATE, time.perf_counter() - start, speech)
        if contact:
            self._contact_sheet(contact, plan, thumbs, size, title=str(summary))
        return summary

    def _contact_sheet(self, path: str | Path, plan: "_Plan", thumbs: list[tuple[np.ndarray, int]],
                       size: tuple[int, int] | None, title: str) -> None:
        from dhsdk.pipeline.contact import face_box, save_contact_sheet

        opening = np.array([self._opening(plan, k) for k in range(plan.total)])
        times = np.arange(plan.total) / plan.fps
        shown = []
        fit = self.fit(size)
        for image, k in thumbs:
            base = self.avatar.idle_index(k)
            affine = self._crop_affine[base].astype(np.float64)
            if fit is not None:
                s = fit.size[0] / fit.window[2]
                affine = np.hstack([s * affine[:, :2], fit.point(affine[:, 2])[:, None]])
            x0, y0, x1, y1 = face_box(affine, self.crop_size, image.shape)
            shown.append((image[y0:y1, x0:x1], f"{times[k]:.2f} s  open {opening[k]:.2f}"))
        save_contact_sheet(path, shown, times, frame_energy_db(plan.pcm, SAMPLE_RATE, plan.fps, plan.total),
                           opening, [times[k] for _, k in thumbs], title=title)


def _sheet_indices(weights: np.ndarray, count: int = 12) -> list[int]:
    """Frames for the contact sheet: one idle frame if any, then evenly spaced speech frames."""
    speaking = np.flatnonzero(weights >= 1.0)
    idle = np.flatnonzero(weights <= 0.0)
    picks = [int(idle[0])] if len(idle) else []
    if len(speaking):
        n = min(count - len(picks), len(speaking))
        picks += [int(speaking[j]) for j in np.linspace(0, len(speaking) - 1, n).round().astype(int)]
    return sorted(set(picks))


@dataclass
class _Plan:
    """An utterance prepared for rendering: PCM, frame count, a2k deltas, activity."""

    pcm: np.ndarray       # (n,) float32 16 kHz
    fps: float
    total: int            # T video frames
    deltas: np.ndarray    # (T, 40, 2) float32 canonical lip deltas
    weights: np.ndarray   # (T,) float32 speech activity
