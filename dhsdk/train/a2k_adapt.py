"""Per-person adaptation of a2k: fine-tune the shipped weights on one person's own talking
footage, so an avatar's mouth moves the way that person's does.

``dhsdk train a2k-adapt --video talking.mp4 [--avatar DIR | --out PATH] [--minutes M] [--steps N]``

**Data** (:func:`measure_clip`). The video is decoded once by the avatar analysis pass
(:func:`dhsdk.avatar.analyze.analyze`: mediapipe mesh, smoothed face track) and its audio taken
at 16 kHz. For every video frame t:

- target: the tracked lips in the canonical face frame minus the neutral mouth, (40, 2)
  canonical deltas, exactly what the a2k runner predicts. The neutral is the avatar's own with
  ``--avatar`` (so LipSync's ``neutral + delta`` reproduces the measured lips on that avatar),
  else the clip's (:meth:`~dhsdk.avatar.track.FaceTrack.neutral_lips`). The network predicts
  K = 6 lip-shape coefficients (:mod:`dhsdk.models.lipshape`), so each target is projected onto
  that basis by least squares (:func:`project`); the part of the measured motion no
  coefficients can express is reported as the floor of the error (``projection_floor``).
- input: the mel window the run-time runner uses for frame t at the video's fps
  (:func:`dhsdk.models.a2k_runner.mel_windows`), from the clean audio or one of
  :data:`AUGMENTED` copies with gain, EQ tilt and noise (as in the base data), so the model is
  not tied to one microphone.

Frames where the mesh lost the face are left out (their tracked lips are interpolated).

**Training** (:func:`adapt`): :func:`dhsdk.train.a2k.fit` from the shipped weights, small
learning rate, a few hundred steps. Held out: the contiguous end of the clip holding
:data:`VAL_SHARE` of its speech; training frames stop a mel window before it, so no training
input overlaps a held-out one. The weights with the lowest held-out keypoint error are kept
(the shipped ones included: adaptation never makes the held-out error worse), with an early
stop. An interrupted run resumes from ``<output>.ckpt`` (one of another video or neutral mouth
is ignored and overwritten); it is removed when the export succeeds.

**Output**: ONNX with the shipped model's I/O (``mel`` (B, 80, 29) -> ``deltas`` (B, 40, 2)),
checked against torch with ONNX Runtime; with ``--avatar``, ``a2k.onnx`` in the bundle named by
``"a2k_model"`` in its manifest, with the metrics as ``"a2k_metrics"``
(:class:`~dhsdk.pipeline.lipsync.LipSync` then uses it).
"""
from __future__ import annotations

import argparse
import hashlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from dhsdk.audio import SAMPLE_RATE, log_mel
from dhsdk.errors import InputError
from dhsdk.geometry import mouth_opening, mouth_width
from dhsdk.models import lipshape
from dhsdk.models.a2k_runner import DEFAULT_PATH, FUTURE, PAST, frame_count, mel_centre, mel_windows
from dhsdk.pipeline.activity import frame_energy_db, speech_activity
from dhsdk.eval.lipsync import pearson
from dhsdk.train.augment import augment

MIN_SPEECH_S = 10.0    # seconds of speech with the face visible needed to adapt (held-out share included)
AUTO_MIN_SPEECH_S = 20.0   # ... for `dhsdk avatar create` to adapt on its own
AUTO_MIN_GAIN = 0.02   # relative held-out error drop an automatic adaptation must bring to be kept
AUTO_CORR_SLACK = 0.01  # ... while its held-out opening r drops by no more than this (the r of a
                        # few seconds' tail moves by about as much from run to run)
VAL_SHARE = 0.2        # share of the clip's speech frames in the held-out tail
AUGMENTED = 2          # augmented copies of the audio besides the clean one
BATCH = 128            # frames per optimiser step
RUNS = 4               # ... and runs of consecutive frames (the recipe's sequence loss)
# ONNX Runtime vs torch on the same float32 graph differ by summation order only (~1e-6 here);
# 1e-4 canonical units is 1e-4 of the eye distance, far below a pixel: more means a broken export.
ONNX_TOL = 1e-4
A2K_FILE = "a2k.onnx"  # the adapted model's name in an avatar bundle
RECORD = ("record 1-3 minutes of yourself talking naturally to the camera, face visible and well "
          "lit, with the microphone on")


@dataclass
class AdaptOptions:
    """Knobs of :func:`adapt`.

    Attributes:
        steps: maximum optimiser steps.
        minutes: wall-clock bound on training.
        lr: peak learning rate (the base model trains at 2e-3 from scratch).
        every: steps between validations and checkpoints.
        patience: validations without a lower held-out error before stopping.
        seed: RNG seed (augmentation, batches).
    """

    steps: int = 600
    minutes: float = 10.0
    lr: float = 3e-4
    every: int = 25
    patience: int = 6
    seed: int = 0


@dataclass
class Clip:
    """One person's talking clip, measured per video frame (T frames with audio under them).

    Attributes:
        path: the video.
        fps: its frame rate.
        mels: (F, 80) float32 log-mel at 100 Hz of the clean audio, then of each augmented copy.
        centres: (T,) int64 mel frame of each video frame (the runner's mapping at ``fps``).
        deltas: (T, 40, 2) float32 measured canonical lip deltas from ``neutral``.
        coeffs: (T, K) float32 their least-squares lip-shape coefficients.
        neutral: (40, 2) float32 the neutral mouth, canonical units.
        face: (T,) bool the mesh found the face in the frame.
        speech: (T,) bool speech activity under the frame (LipSync's definition: the level, so
            a noisy room's silence may count; it decides which frames are trained and held out).
        voiced: (T,) bool speech by the material review's voice-activity detector
            (:func:`dhsdk.avatar.audio_quality.measure_audio`): what "seconds of speech" counts.
    """

    path: Path
    fps: float
    mels: list[np.ndarray]
    centres: np.ndarray
    deltas: np.ndarray
    coeffs: np.ndarray
    neutral: np.ndarray
    face: np.ndarray
    speech: np.ndarray
    voiced: np.ndarray

    @property
    def usable_s(self) -> float:
        """Seconds of voiced speech with the face visible (the review's count of speech)."""
        return float((self.face & self.voiced).sum() / self.fps)

    def windows(self, frames: np.ndarray, copy: int = 0) -> np.ndarray:
        """(B, 80, 29) float32 model inputs of video frames ``frames`` from audio ``copy`` (0: clean)."""
        return mel_windows(self.mels[copy], 0, self.centres[frames])


def project(deltas: np.ndarray) -> np.ndarray:
    """Least-squares lip-shape coefficients of canonical lip deltas.

    Args:
        deltas: (..., 40, 2) canonical deltas from the neutral mouth.

    Returns:
        (..., K) float32 coefficients ``c`` minimising ``|| c @ basis - deltas ||^2`` over the 80
        coordinates (:func:`dhsdk.models.lipshape.basis`, which has full rank K).
    """
    b = lipshape.basis().reshape(lipshape.K, -1).astype(np.float64)
    flat = np.asarray(deltas, np.float64).reshape(-1, b.shape[1])
    c = np.linalg.lstsq(b.T, flat.T, rcond=None)[0].T
    return c.reshape(np.shape(deltas)[:-2] + (lipshape.K,)).astype(np.float32)


def measure_clip(video: str | Path, neutral: np.ndarray | None = None, seed: int = 0,
                 show_progress: bool = True) -> Clip:
    """Decode, track and measure a talking video (see the module docstring).

    Args:
        video: the person talking, with sound.
        neutral: (40, 2) canonical neutral mouth to measure deltas from (an avatar's); the
            clip's own when None.
        seed: augmentation seed.
        show_progress: progress bar while analysing.

    Raises:
        InputError: missing file, a photo, no audio track, no face, or under
            :data:`MIN_SPEECH_S` of speech with the face visible (the message says what to record).
    """
    from dhsdk.avatar.analyze import analyze
    from dhsdk.avatar.material import open_material

    path = Path(video)
    if not path.is_file():
        raise InputError(f"video not found: {path} (to adapt a2k, {RECORD})")
    material = open_material(path)
    if material.info.kind == "image":
        raise InputError(f"{path} is a photo: adapting a2k learns lip motion from a talking video with its "
                         f"sound; {RECORD}")
    if not material.info.has_audio:
        raise InputError(f"{path} has no audio track: a2k learns lip motion from the sound under each "
                         f"frame; {RECORD}")
    analysis = analyze(material, show_progress=show_progress)
    if analysis.audio is None:
        raise InputError(f"{path}: its audio track could not be decoded; export the video again with "
                         f"AAC or Opus audio")
    if analysis.track is None:
        raise InputError(f"no face was found in any frame of {path}; {RECORD}")
    clip = clip_from_track(path, analysis.track, analysis.audio, neutral, seed)
    usable = clip.usable_s
    if usable < MIN_SPEECH_S:
        raise InputError(f"{path} has {usable:.1f} s of speech with the face visible (face found in "
                         f"{clip.face.mean():.0%} of frames, voiced speech under {clip.voiced.mean():.0%}); adapting a2k "
                         f"needs >= {MIN_SPEECH_S:g} s: {RECORD}")
    return clip


def clip_from_track(path: str | Path, track: Any, pcm: np.ndarray, neutral: np.ndarray | None = None,
                    seed: int = 0, quality: Any = None) -> Clip:
    """A :class:`Clip` from a face track and the soundtrack under it (no length check).

    The targets are the lips measured in each frame, unsmoothed, under the track's smoothed pose
    (:func:`dhsdk.train.av_data.raw_canonical_lips`: the track's own smoothing would erase the
    closures a2k must learn).

    Args:
        path: the video (its name goes into the report and the checkpoint key).
        track: its :class:`~dhsdk.avatar.track.FaceTrack`.
        pcm: (n,) float32 16 kHz soundtrack.
        neutral: (40, 2) canonical neutral mouth (an avatar's); the clip's own when None.
        seed: augmentation seed.
        quality: ``pcm``'s :class:`~dhsdk.avatar.audio_quality.AudioQuality` when already
            measured (the material review's); measured here when None.
    """
    from dhsdk.avatar.audio_quality import measure_audio
    from dhsdk.train.av_data import neutral_of, raw_canonical_lips

    fps = track.fps
    n = min(len(track.lips), frame_count(len(pcm), fps))
    face = track.found[:n]
    speech = speech_activity(frame_energy_db(pcm, SAMPLE_RATE, fps, n), fps) > 0.5
    voiced = (quality or measure_audio(pcm)).speech_at(fps, n)
    lips = raw_canonical_lips(track)[:n]
    neutral = neutral_of(lips) if neutral is None else np.asarray(neutral, np.float32)
    deltas = np.where(face[:, None, None], lips - neutral, 0.0).astype(np.float32)
    rng = np.random.default_rng(seed)
    copies = [augment(pcm, rng, speed=False) for _ in range(AUGMENTED)]   # frame-aligned: no speed change
    mels = [log_mel(pcm)] + [log_mel(c.pcm, c.warp) for c in copies]
    return Clip(Path(path), fps, mels, mel_centre(np.arange(n), fps), deltas, project(deltas), neutral, face, speech,
                voiced)


def split(clip: Clip) -> tuple[np.ndarray, np.ndarray]:
    """(training frames, held-out frames), both with the face found.

    Held out: the contiguous end of the clip from the frame where its last :data:`VAL_SHARE` of
    speech frames begins. Training frames end where their mel window would reach into the
    first held-out frame's window.
    """
    spoken = np.flatnonzero(clip.face & clip.speech)
    start = spoken[min(len(spoken) - 1, int(len(spoken) * (1.0 - VAL_SHARE)))]
    t = np.arange(len(clip.face))
    train = clip.face & (clip.centres + FUTURE < clip.centres[start] - PAST)
    return t[train], t[clip.face & (t >= start)]


def metrics(pred: np.ndarray, clip: Clip, frames: np.ndarray) -> dict[str, float]:
    """Quality of predicted deltas against the measured ones.

    Args:
        pred: (B, 40, 2) predicted canonical deltas of video frames ``frames``.

    Returns:
        ``keypoint_err_over_mouth_width``: mean point distance over the neutral mouth's width;
        ``opening_corr`` / ``width_corr``: Pearson r of the inner-lip gap / the corner distance,
        predicted vs measured.
    """
    measured = clip.deltas[frames]
    width = float(mouth_width(clip.neutral))
    lips_p, lips_m = clip.neutral + pred, clip.neutral + measured
    return {"keypoint_err_over_mouth_width": float(np.linalg.norm(pred - measured, axis=-1).mean() / width),
            "opening_corr": pearson(mouth_opening(lips_p), mouth_opening(lips_m)),
            "width_corr": pearson(mouth_width(lips_p), mouth_width(lips_m))}


def _batches(clip: Clip, frames: np.ndarray, rng: np.random.Generator) -> Iterator[tuple[np.ndarray, ...]]:
    """Endless batches over ``frames``, each from one audio copy, in the form the recipe trains
    on (:func:`dhsdk.train.a2k.batch_loss`): mel windows (B, 80, 29) and coefficient targets
    (B, K) of random frames, then :data:`RUNS` runs of :data:`~dhsdk.train.a2k.SEQ_FRAMES`
    consecutive frames (when the clip has such runs), so adapting keeps the model following
    sentences, not just the average mouth."""
    from dhsdk.train.a2k import SEQ_FRAMES

    inside = np.zeros(len(clip.face), bool)
    inside[frames] = True
    whole = np.convolve(inside, np.ones(SEQ_FRAMES, int), "valid") == SEQ_FRAMES   # run start -> all inside
    starts = np.flatnonzero(whole)
    while True:
        copy = int(rng.integers(len(clip.mels)))
        pick = rng.choice(frames, BATCH)
        batch = (clip.windows(pick, copy), clip.coeffs[pick])
        if len(starts):
            runs = (rng.choice(starts, RUNS)[:, None] + np.arange(SEQ_FRAMES)).ravel()
            batch += (clip.windows(runs, copy), clip.coeffs[runs])
        yield batch


def _checkpoint_key(clip: Clip) -> str:
    """What a checkpoint must have been trained on to be resumed: the video's bytes and the neutral."""
    from dhsdk.paths import file_sha256

    return f"{file_sha256(clip.path)}:{hashlib.sha256(clip.neutral.tobytes()).hexdigest()}"


def adapt(clip: Clip, out: str | Path, opts: AdaptOptions = AdaptOptions()) -> dict[str, Any]:
    """Fine-tune the shipped a2k on ``clip`` and export the best weights to ``out``.

    Args:
        clip: from :func:`measure_clip`.
        out: ONNX path (written atomically; its directory must exist).
        opts: :class:`AdaptOptions`.

    Returns:
        The report: ``before`` / ``after`` :func:`metrics` on the held-out frames (shipped and
        adapted ONNX, both run with ONNX Runtime), ``projection_floor`` (the keypoint error of
        the measured deltas' own least-squares projection: about the lowest any a2k model reaches), ``steps``,
        ``train_frames``, ``val_frames``, ``speech_s``, ``onnx_max_abs_diff``, ``seconds``.
    """
    import torch

    from dhsdk.models.a2k import from_onnx
    from dhsdk.models.a2k_runner import A2K
    from dhsdk.train.a2k import FitState, Schedule, fit

    start = time.monotonic()
    out = Path(out)
    train_frames, val_frames = split(clip)
    val_x = clip.windows(val_frames)
    before = metrics(A2K.load(DEFAULT_PATH).infer(val_x), clip, val_frames)
    val_in, val_target = torch.from_numpy(val_x), torch.from_numpy(clip.deltas[val_frames])
    width = float(mouth_width(clip.neutral))

    def validate(model) -> float:
        return float((model(val_in) - val_target).norm(dim=-1).mean()) / width

    model, state = from_onnx(DEFAULT_PATH), FitState()
    ckpt, key = out.with_name(out.name + ".ckpt"), _checkpoint_key(clip)
    if ckpt.is_file():
        saved = torch.load(ckpt, map_location="cpu", weights_only=False)
        if saved.get("key") == key:
            model.load_state_dict(saved["model"])
            state = FitState(**saved["state"])

    def save(model, state: FitState) -> None:
        from dhsdk.atomic import atomic_file

        with atomic_file(ckpt) as tmp:
            torch.save({"key": key, "model": model.state_dict(), "state": vars(state)}, tmp)

    schedule = Schedule(opts.steps, opts.minutes, opts.lr, warmup=20, every=opts.every, patience=opts.patience)
    rng = np.random.default_rng([opts.seed, state.step])
    model, state = fit(model, _batches(clip, train_frames, rng), schedule, validate, state, save, desc="a2k adapt")
    pred, diff = export_checked(model, out, val_x)
    ckpt.unlink(missing_ok=True)
    floor = np.linalg.norm(lipshape.coeffs_to_deltas(clip.coeffs[val_frames]) - clip.deltas[val_frames], axis=-1)
    return {"video": clip.path.name, "fps": clip.fps, "speech_s": clip.usable_s,
            "train_frames": int(len(train_frames)), "val_frames": int(len(val_frames)), "steps": state.step,
            "before": before, "after": metrics(pred, clip, val_frames),
            "projection_floor": float(floor.mean() / width), "onnx_max_abs_diff": diff,
            "seconds": time.monotonic() - start}


def export_checked(model: Any, out: str | Path, windows: np.ndarray) -> tuple[np.ndarray, float]:
    """Export ``model`` to ONNX at ``out`` (atomically) after checking it with ONNX Runtime.

    Args:
        model: the trained a2k network (:class:`~dhsdk.models.a2k.A2KNet` or :class:`~dhsdk.models.a2k.A2KEnsemble`).
        windows: (B, 80, 29) float32 mel windows to compare torch and ONNX Runtime on.

    Returns:
        ((B, 40, 2) ONNX Runtime deltas of ``windows``, max absolute difference to torch).

    Raises:
        RuntimeError: the export differs from torch by more than :data:`ONNX_TOL` (nothing is written).
    """
    import torch

    from dhsdk.atomic import atomic_file
    from dhsdk.models.a2k import export_onnx
    from dhsdk.models.a2k_runner import A2K

    with atomic_file(out) as tmp:
        export_onnx(model, tmp)
        pred = A2K.load(tmp).infer(windows)
        with torch.no_grad():
            diff = float(np.abs(pred - model.eval()(torch.from_numpy(windows)).numpy()).max())
        if diff > ONNX_TOL:
            raise RuntimeError(f"the exported a2k model differs from torch by {diff:.2g} (> {ONNX_TOL:g}); "
                               f"nothing was written to {out}")
    return pred, diff


def adapt_video(video: str | Path, opts: AdaptOptions = AdaptOptions(), out: str | Path | None = None,
                avatar: str | Path | None = None, show_progress: bool = True) -> tuple[Path, dict[str, Any]]:
    """Measure ``video``, adapt, and write the model.

    Args:
        video: the person talking, with sound.
        opts: :class:`AdaptOptions`.
        out: ONNX path; ``<video stem>.a2k.onnx`` in the current directory when neither
            ``out`` nor ``avatar`` is given.
        avatar: an avatar bundle of the same person: deltas are measured from its neutral mouth,
            ``a2k.onnx`` goes into it and its ``manifest.json`` gets ``"a2k_model"`` and
            ``"a2k_metrics"`` (written atomically).

    Returns:
        (the written ONNX path, the report of :func:`adapt`).
    """
    if out is not None and avatar is not None:
        raise InputError("give either an output path or an avatar bundle to write the adapted a2k into, not both")
    neutral = None
    if avatar is not None:
        from dhsdk.avatar import Avatar

        neutral = Avatar.load(avatar).neutral_lips
        out = Path(avatar) / A2K_FILE
    out = Path(out) if out is not None else Path(f"{Path(video).stem}.a2k.onnx")
    clip = measure_clip(video, neutral, opts.seed, show_progress)
    report = adapt(clip, out, opts)
    if avatar is not None:
        from dhsdk.avatar.bundle import update_manifest

        update_manifest(avatar, a2k_model=A2K_FILE, a2k_metrics=report)
    return out, report


def auto_options() -> AdaptOptions:
    """What :func:`auto_adapt` trains: 500 steps, at most 1.5 minutes (about 2 minutes in all for
    60 s of footage on 2 cores), validated every 25 steps."""
    return AdaptOptions(steps=500, minutes=1.5, every=25, patience=6)


def auto_adapt(bundle_dir: str | Path, track: Any, pcm: np.ndarray | None, neutral: np.ndarray,
               source: str | Path, show_progress: bool = True, quality: Any = None) -> dict[str, Any]:
    """The per-person adaptation ``dhsdk avatar create`` runs on its own material.

    Adapts when the material has >= :data:`AUTO_MIN_SPEECH_S` of speech with the face visible,
    within about 2 minutes for 60 s of footage on 2 cores, and keeps the model (``a2k.onnx`` in
    ``bundle_dir``) only if the held-out tail's keypoint error drops by at least
    :data:`AUTO_MIN_GAIN` and its opening correlation drops by no more than :data:`AUTO_CORR_SLACK`.

    Args:
        bundle_dir: the bundle being built.
        track: the material's face track; pcm: its soundtrack (16 kHz) or None.
        neutral: (40, 2) the avatar's neutral mouth.
        source: the material (named in the report).
        quality: the soundtrack's :class:`~dhsdk.avatar.audio_quality.AudioQuality` from the
            material review (measured again when None).

    Returns:
        The report: ``adapted`` (bool), ``reason`` (one line for the user), and with an
        adaptation the numbers of :func:`adapt`. The caller records it in the manifest and names
        the model there when ``adapted``.
    """
    if pcm is None:
        return {"adapted": False, "reason": "the material has no sound: per-person lip adaptation needs the "
                                            "presenter talking with the microphone on"}
    clip = clip_from_track(source, track, pcm, neutral, quality=quality)
    if clip.usable_s < AUTO_MIN_SPEECH_S:
        return {"adapted": False, "speech_s": round(clip.usable_s, 1),
                "reason": f"{clip.usable_s:.0f} s of speech with the face visible; per-person lip adaptation needs "
                          f">= {AUTO_MIN_SPEECH_S:g} s (the shipped model is used)"}
    out = Path(bundle_dir) / A2K_FILE
    report = adapt(clip, out, auto_options())
    b, a = report["before"], report["after"]
    kept = (a["keypoint_err_over_mouth_width"] < (1 - AUTO_MIN_GAIN) * b["keypoint_err_over_mouth_width"]
            and a["opening_corr"] >= b["opening_corr"] - AUTO_CORR_SLACK)
    if not kept:
        out.unlink(missing_ok=True)
    verb = "kept" if kept else "not kept (the shipped model is used)"
    report.update(adapted=kept, reason=(
        f"adapted on {report['speech_s']:.0f} s of the presenter's speech: held-out error "
        f"{b['keypoint_err_over_mouth_width']:.4f} -> {a['keypoint_err_over_mouth_width']:.4f}, opening r "
        f"{b['opening_corr']:.2f} -> {a['opening_corr']:.2f}; {verb}"))
    return report


def add_arguments(p: argparse.ArgumentParser) -> None:
    """CLI flags of ``dhsdk train a2k-adapt``."""
    defaults = AdaptOptions()
    p.add_argument("--video", required=True, help="the person talking to the camera, with sound (1-3 min)")
    dest = p.add_mutually_exclusive_group()
    dest.add_argument("--avatar", help="avatar bundle of the same person: write a2k.onnx into it (LipSync uses it)")
    dest.add_argument("--out", help="ONNX output path (default: VIDEO_STEM.a2k.onnx here); use it with "
                                    "LipSync(..., a2k_path=PATH)")
    p.add_argument("--steps", type=int, default=defaults.steps, help="maximum optimiser steps")
    p.add_argument("--minutes", type=float, default=defaults.minutes, help="wall-time bound on training")
    p.add_argument("--seed", type=int, default=defaults.seed)


def run(args: argparse.Namespace) -> int:
    """Adapt, write, print the held-out numbers before and after."""
    path, r = adapt_video(args.video, AdaptOptions(steps=args.steps, minutes=args.minutes, seed=args.seed),
                          out=args.out, avatar=args.avatar)
    b, a = r["before"], r["after"]
    print(f"a2k adapted on {r['video']} ({r['speech_s']:.1f} s of speech; {r['train_frames']} training frames, "
          f"{r['val_frames']} held out at the end): {r['steps']} steps, trained in {r['seconds']:.0f} s\n"
          f"  held-out keypoint error / mouth width  {b['keypoint_err_over_mouth_width']:.4f} -> "
          f"{a['keypoint_err_over_mouth_width']:.4f} (floor {r['projection_floor']:.4f})\n"
          f"  mouth opening correlation              {b['opening_corr']:.3f} -> {a['opening_corr']:.3f}\n"
          f"  mouth width correlation                {b['width_corr']:.3f} -> {a['width_corr']:.3f}\n"
          f"wrote {path}")
    return 0
