"""Offline lip-sync: speech in, lip-synced frames out (the SDK's main job).

:class:`LipSync` is three parts (DESIGN.md, "Real time"): the a2k runner (speech -> canonical
lip deltas), speech activity (when the mouth follows speech, with ramps in and out) and the
avatar's :class:`~dhsdk.render.path.FramePath` (the render stage). Per output frame k:

1. idle loop: base frame ``i = avatar.idle_index(k)``;
2. a2k: canonical lip deltas for frame k from the mel window around it;
3. target lips: the resting mouth (neutral lips with natural micro-motion) blended towards
   ``neutral + gain * delta`` by the activity weight w_k (:class:`~dhsdk.render.state.MouthState`);
4. the frame path re-renders base frame i's mouth to the target: crop, mouth stage, composite.

Every frame's mouth is rendered, in speech and in silence alike: the footage's own lip motion
never reaches the output. Audio goes through in chunks of :data:`CHUNK_S` seconds and frames
through the frame path in batches of :data:`BATCH`, so an hour of speech renders in bounded
memory. Runners are created once per :class:`LipSync` and reused for every call; ``stage_ms``
keeps the recent per-frame times of each render stage (``copy`` = copying the base frame).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import numpy as np

from dhsdk.errors import InputError
from dhsdk.frames import VideoFrame
from dhsdk.geometry import compose_affine, mouth_opening
from dhsdk.pipeline.activity import frame_energy_db, speech_activity

if TYPE_CHECKING:
    from dhsdk.pipeline.fit import CoverFit
    from dhsdk.render.state import MouthState

SAMPLE_RATE = 16000
CHUNK_S = 10.0   # seconds of speech through a2k at a time in an offline render
BATCH = 8        # frames per frame-path call in an offline render (spread over the CPU cores)


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


class LipSync:
    """One avatar with its runners, ready to turn speech into frames.

    Args:
        avatar: a loaded :class:`dhsdk.avatar.Avatar`.
        mouth: ``"auto" | "warp" | "unet"`` (see :func:`dhsdk.render.path.make_renderer`).
        device: ``"auto" | "cpu" | "cuda"``; chosen once, with the frame path: on ``"cuda"``
            frames render on the GPU (:mod:`dhsdk.render.device_path`); ``"auto"`` stays on
            the CPU where a piece of the GPU path is missing.
        crop_size: mouth crop side in pixels for the warp renderer, or ``"auto"``: the side
            the mouth crop has on screen, up to 256 (:func:`~dhsdk.render.path.auto_crop_size`).
        openness_gain: scales the predicted lip motion (1 = as predicted).
        a2k_path: an a2k ONNX model; when None, the one the avatar's manifest names as
            ``a2k_model`` (``dhsdk train a2k-adapt --avatar``), else the shipped default.
        smoothing: temporal smoothing of the target lips in [0, 1] (0 = off), per stream and
            per render (:class:`~dhsdk.render.smoothing.LipControls`).
        size: (width, height) to render at natively: the avatar's base frames are fitted to it
            once each (:class:`~dhsdk.pipeline.fit.FittedAvatar`), so streams pay no resize
            per frame; the avatar's own size when None.

    Attributes:
        path: the :class:`~dhsdk.render.path.FramePath` (shared by every stream of this LipSync).
        device: where frames render (``"cpu"`` or ``"cuda"``).
    """

    def __init__(self, avatar: Any, mouth: str = "auto", device: str = "auto", crop_size: int | str = "auto",
                 openness_gain: float = 1.0, a2k_path: str | None = None, smoothing: float = 0.0,
                 size: tuple[int, int] | None = None):
        from dhsdk.device import resolve_device
        from dhsdk.models.a2k_runner import A2K
        from dhsdk.render.path import make_frame_path
        from dhsdk.render.smoothing import LipControls

        LipControls(smoothing, openness_gain)  # the same checks, with the same messages, now
        if size is not None and tuple(size) != (avatar.width, avatar.height):
            from dhsdk.pipeline.fit import FittedAvatar

            avatar = FittedAvatar(avatar, size)
        self.avatar = avatar
        self.openness_gain = float(openness_gain)
        self.smoothing = float(smoothing)
        adapted = getattr(avatar, "manifest", {}).get("a2k_model")  # bundle-relative (synthetic avatars: none)
        self.a2k = A2K.load(a2k_path or (Path(avatar.path) / adapted if adapted else None),
                            device=resolve_device(device))
        if hasattr(avatar, "preload"):
            avatar.preload()  # decode the idle loop's base frames in the background meanwhile
        self.path = make_frame_path(avatar, mouth, device, crop_size)
        self.device = self.path.device
        self.geometry = self.path.geometry
        self.renderer = self.path.renderer
        self.crop_size = self.geometry.crop_size
        self.stage_ms = self.path.stage_ms

    def mouth_state(self, fps: float | None = None, seed: int = 0) -> "MouthState":
        """A new per-stream render state (lip smoothing, resting micro-motion) for frames at
        ``fps`` (the avatar's when None): each stream or render owns one."""
        from dhsdk.render.state import MouthState

        return MouthState(self.geometry.neutral_lips, float(fps or self.avatar.fps), self.openness_gain,
                          self.smoothing, seed=seed)

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
        levels = frame_energy_db(pcm, SAMPLE_RATE, fps, total)
        return _Plan(pcm, fps, total, levels, speech_activity(levels, fps))

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

    def target_lips(self, delta: np.ndarray, weight: float, k: int = 0) -> np.ndarray:
        """Target lips of output frame ``k`` with no smoothing (a stream's or render's own
        :meth:`mouth_state` also smooths them over time).

        Args:
            delta: (40, 2) a2k lip deltas from the neutral mouth.
            weight: speech activity in [0, 1]: from the resting mouth (0) to the speech-driven
                ``neutral + gain * delta`` (1).
            k: output frame index (the resting mouth's micro-motion moves with it).

        Returns:
            (40, 2) float32, canonical units.
        """
        from dhsdk.render.state import blend_lips

        rest = self.mouth_state(self.avatar.fps).rest(k)
        return blend_lips(rest, self.geometry.neutral_lips, delta, weight, self.openness_gain)

    def fit(self, size: tuple[int, int] | None) -> "CoverFit | None":
        """The output resizer for ``size`` (width, height): scale to cover, crop around the face;
        None when ``size`` is None or the avatar's own."""
        from dhsdk.pipeline.fit import cover_fit

        if size is None or tuple(size) == (self.avatar.width, self.avatar.height):
            return None
        return cover_fit(self.avatar, size)

    def _deltas(self, plan: "_Plan") -> Iterator[np.ndarray]:
        """The plan's a2k deltas, (k, 40, 2) at a time, :data:`CHUNK_S` seconds of audio per
        chunk, ``plan.total`` frames in all (the same values as ``a2k.predict`` on the whole)."""
        stream = self.a2k.stream(plan.fps)
        step, done = int(CHUNK_S * SAMPLE_RATE), 0
        for a in range(0, len(plan.pcm), step):
            out = stream.push(plan.pcm[a:a + step])[:plan.total - done]
            done += len(out)
            yield out
        out = stream.flush()[:plan.total - done]
        done += len(out)
        yield out
        if done < plan.total:
            yield np.zeros((plan.total - done, 40, 2), np.float32)

    def _targets(self, plan: "_Plan", opening: np.ndarray | None = None) -> Iterator[tuple[int, np.ndarray]]:
        """(k, (40, 2) target lips) of every output frame, in order; ``opening[k]`` records the
        target's mouth opening."""
        state, k = self.mouth_state(plan.fps), 0
        for deltas in self._deltas(plan):
            for delta in deltas:
                lips = state(k, delta, float(plan.weights[k]))
                if opening is not None:
                    opening[k] = mouth_opening(lips)
                yield k, lips
                k += 1

    def _frames(self, plan: "_Plan", size: tuple[int, int] | None,
                opening: np.ndarray | None = None) -> Iterator[VideoFrame]:
        fit = self.fit(size)
        targets = self._targets(plan, opening)
        while True:
            batch = [t for _, t in zip(range(BATCH), targets)]
            if not batch:
                return
            bases = [self.avatar.idle_index(k) for k, _ in batch]
            images = self.path.render(bases, np.stack([lips for _, lips in batch]))
            for (k, _), image in zip(batch, images):
                a, b = (int(round(j * SAMPLE_RATE / plan.fps)) for j in (k, k + 1))
                seg = plan.pcm[a:b]
                seg = np.pad(seg, (0, b - a - len(seg)))
                yield VideoFrame(image=image if fit is None else fit(image), audio=seg, sample_rate=SAMPLE_RATE,
                                 pts=k / plan.fps, index=k, speaking=bool(plan.weights[k] > 0))

    def frame(self, base_index: int, lips: np.ndarray | None = None) -> np.ndarray:
        """Render one output frame.

        Args:
            base_index: avatar base frame to start from.
            lips: (40, 2) target lips in the canonical frame; None: the avatar's neutral
                closed mouth.

        Returns:
            (H, W, 3) uint8 RGB (a new array).
        """
        target = self.geometry.neutral_lips if lips is None else lips
        return self.path.render([base_index], np.asarray(target, np.float32)[None])[0]

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
        opening = np.zeros(plan.total, np.float32)
        thumbs: list[tuple[np.ndarray, int]] = []
        count = speech = 0
        with FileSink(out) as sink:
            for f in progress(self._frames(plan, size, opening), total=plan.total, desc="render", unit="frame",
                              enabled=show_progress):
                sink.write(f)
                count += 1
                speech += f.speaking
                if f.index in picks:
                    thumbs.append((f.image, f.index))
        summary = RenderSummary(out, count, len(plan.pcm) / SAMPLE_RATE, time.perf_counter() - start, speech)
        if contact:
            self._contact_sheet(contact, plan, opening, thumbs, size, title=str(summary))
        return summary

    def _contact_sheet(self, path: str | Path, plan: "_Plan", opening: np.ndarray,
                       thumbs: list[tuple[np.ndarray, int]], size: tuple[int, int] | None, title: str) -> None:
        from dhsdk.pipeline.contact import face_box, save_contact_sheet

        times = np.arange(plan.total) / plan.fps
        shown = []
        fit = self.fit(size)
        for image, k in thumbs:
            base = self.avatar.idle_index(k)
            affine = self.geometry.crop_affine[base].astype(np.float64)
            if fit is not None:
                affine = compose_affine(fit.affine, affine)
            x0, y0, x1, y1 = face_box(affine, self.crop_size, image.shape)
            shown.append((image[y0:y1, x0:x1], f"{times[k]:.2f} s  open {opening[k]:.2f}"))
        save_contact_sheet(path, shown, times, plan.levels, opening, [times[k] for _, k in thumbs], title=title)


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
    """An utterance prepared for rendering: PCM, frame count, levels and activity per frame."""

    pcm: np.ndarray       # (n,) float32 16 kHz
    fps: float
    total: int            # T video frames
    levels: np.ndarray    # (T,) float32 dBFS per frame
    weights: np.ndarray   # (T,) float32 speech activity
