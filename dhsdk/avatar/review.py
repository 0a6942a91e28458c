"""Automated review of a merchant's material: every check has a threshold, a measured value,
a verdict, a one-line reason and a fix a person can act on.

Verdicts: ``pass``; ``warn`` (the avatar works, but a named aspect will be worse);
``fail`` (the avatar would be bad: creation refuses it); ``skip`` (does not apply, e.g.
duration for a photo). The thresholds are module constants, stated with their units, so a
reviewer can see exactly why something failed. They were set on the real presenter clips in
the project's evaluation data and on generated material (see tests/avatar/test_review.py).
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dhsdk.avatar.analyze import Analysis
from dhsdk.avatar.track import anchor_jitter
from dhsdk.geometry import mouth_opening

# (warn below, fail below) unless noted; units in the names.
DURATION_S = (10.0, 3.0)
SHORT_SIDE_PX = (720, 360)
FACE_PX = (160.0, 100.0)
FPS = (24.0, 15.0)
ONE_FACE_SHARE = 0.98           # fail below
SHARPNESS = (60.0, 20.0)        # variance of Laplacian, face at 128 px
BRIGHTNESS = (0.25, 0.85, 0.10, 0.95)   # warn outside [a, b], fail outside [c, d] (mean face luma 0..1)
CLIPPED_SHARE = (0.05, 0.20)    # warn above, fail above: highlights or shadows on the face
OCCLUDED_SHARE = (0.02, 0.10)   # warn above, fail above: mouth hidden (hand, microphone)
POSE_RANGE_DEG = (20.0, 35.0)   # warn above, fail above: yaw/pitch/roll range (5th..95th pct)
JITTER = (0.015, 0.04)          # warn above, fail above: raw anchor RMS 2nd difference, eye distances
                                # (mediapipe on tripod footage here: 0.006-0.011)
MOUTH_MOTION = (0.06, 0.15)     # warn above, fail above: 10th..90th percentile range of the inner-lip gap, eye distances
CLOSED_SHARE = 0.10             # warn below: share of closed-mouth frames (gap < 0.05)
SMILE_SHARE = 0.5               # warn above: share of frames with a held wide smile
TRAIN_S = (180.0, 30.0)         # pass from 3 min (full model), warn from 30 s (lite), below: warn too
SNR_DB = (20.0, 10.0)
CLIPPING = (0.001, 0.01)        # warn above, fail above: share of clipped samples
REVERB_S = 0.6                  # warn above
ECHO = 0.4                      # warn above
SPEECH_SHARE = 0.3              # warn below


@dataclass
class Check:
    """One review check.

    Attributes:
        name: short id, e.g. ``"face_size"``.
        status: ``pass`` | ``warn`` | ``fail`` | ``skip``.
        value: the measured number (None when not measurable).
        threshold: what it was compared with, human-readable (e.g. ``">= 160 px"``).
        reason: one line a person understands ("face is 96 px tall, needs >= 160 px").
        fix: what to do about it (empty when passed).
        frames: a few frame indices that show the problem.
    """

    name: str
    status: str
    value: float | None
    threshold: str
    reason: str
    fix: str = ""
    frames: list[int] = field(default_factory=list)


@dataclass
class ReviewReport:
    """The review of one piece of material.

    Attributes:
        source: the material's path.
        kind: ``video`` or ``image``.
        checks: every :class:`Check`, in a fixed order.
        info: facts about the material (size, fps, frames, codec, rotation, seconds taken).
    """

    source: str
    kind: str
    checks: list[Check]
    info: dict[str, Any]

    @property
    def verdict(self) -> str:
        """``fail`` if any check failed, else ``warn`` if any warned, else ``pass``."""
        states = {c.status for c in self.checks}
        return "fail" if "fail" in states else "warn" if "warn" in states else "pass"

    @property
    def failures(self) -> list[Check]:
        """The failed checks."""
        return [c for c in self.checks if c.status == "fail"]

    def check(self, name: str) -> Check:
        """The check called ``name``."""
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(name)

    def summary(self) -> dict[str, Any]:
        """Compact form for the bundle manifest: verdict and name -> status."""
        return {"verdict": self.verdict, "checks": {c.name: c.status for c in self.checks}}

    def to_json(self) -> dict[str, Any]:
        """The whole report as JSON-ready data."""
        return {"source": self.source, "kind": self.kind, "verdict": self.verdict, "info": _jsonable(self.info),
                "checks": [_jsonable(asdict(c)) for c in self.checks]}

    def save(self, path: str | Path) -> None:
        """Write the JSON report."""
        Path(path).write_text(json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n")

    def text(self) -> str:
        """A human-readable table, one line per check plus its fix."""
        mark = {"pass": "PASS", "warn": "WARN", "fail": "FAIL", "skip": "skip"}
        lines = [f"review of {self.source} ({self.kind}): {self.verdict.upper()}"]
        for c in self.checks:
            lines.append(f"  {mark[c.status]}  {c.name:<16} {c.reason}")
            if c.fix and c.status in ("warn", "fail"):
                lines.append(f"        {'':<16} fix: {c.fix}")
        return "\n".join(lines)


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, (float, np.floating)):
        return None if not math.isfinite(float(x)) else round(float(x), 6)
    if isinstance(x, np.integer):
        return int(x)
    return x


def _grade(value: float, warn: float, fail: float, higher_is_better: bool = True) -> str:
    if higher_is_better:
        return "fail" if value < fail else "warn" if value < warn else "pass"
    return "fail" if value > fail else "warn" if value > warn else "pass"


def _worst(values: np.ndarray, bad: np.ndarray, k: int = 4) -> list[int]:
    idx = np.flatnonzero(bad)
    if len(idx) <= k:
        return [int(i) for i in idx]
    return [int(i) for i in idx[np.linspace(0, len(idx) - 1, k).round().astype(int)]]


def head_pose_deg(landmarks: np.ndarray) -> np.ndarray:
    """(N, 3) approximate yaw, pitch, roll in degrees from a (N, 478, 2) mesh.

    Roll from the eye line; yaw from the nose tip's offset between the outer eye corners;
    pitch from the nose tip's height between the eyes and the mouth, both relative to a
    frontal face (the 2-D ratios mapped through arcsin, good to a few degrees near frontal).
    """
    lm = np.asarray(landmarks, np.float64)
    left, right, nose, mouth = lm[:, 33], lm[:, 263], lm[:, 1], 0.5 * (lm[:, 61] + lm[:, 291])
    eye_vec = right - left
    roll = np.degrees(np.arctan2(eye_vec[:, 1], eye_vec[:, 0]))
    width = np.linalg.norm(eye_vec, axis=1)
    axis = eye_vec / width[:, None]
    mid = 0.5 * (left + right)
    yaw = np.degrees(np.arcsin(np.clip(2.0 * ((nose - mid) * axis).sum(1) / width, -1, 1)))
    down = np.stack([-axis[:, 1], axis[:, 0]], 1)
    span = ((mouth - mid) * down).sum(1)
    ratio = ((nose - mid) * down).sum(1) / np.maximum(span, 1e-6)
    pitch = np.degrees(np.arcsin(np.clip((ratio - 0.62) * 2.5, -1, 1)))
    return np.stack([yaw, pitch, roll], 1)


def _material_checks(a: Analysis) -> list[Check]:
    info, stats = a.material.info, a.material.stats
    video = info.kind == "video"
    out = []
    if stats.truncated(info):
        why = stats.error or f"decoded {stats.decoded} of {info.declared_frames} declared frames"
        out.append(Check("decodable", "fail", float(stats.decoded), "complete file",
                         f"the file is truncated or damaged: {why}",
                         "export or copy the video again; the file ended early"))
    else:
        out.append(Check("decodable", "pass", float(stats.decoded), "complete file",
                         f"decoded all {stats.decoded} frame{'s' if stats.decoded != 1 else ''}"))
    if video:
        seconds = stats.decoded / info.fps if info.fps else 0.0
        out.append(Check("duration", _grade(seconds, *DURATION_S), seconds, f">= {DURATION_S[0]:g} s",
                         f"{seconds:.1f} s of footage ({stats.decoded} frames)",
                         f"record at least {DURATION_S[0]:g} s (30 s or more lets the mouth model train)"))
        out.append(Check("fps", _grade(info.fps, *FPS), info.fps, f">= {FPS[0]:g} fps",
                         f"{info.fps:.2f} frames per second",
                         "record at 25 or 30 fps; low frame rates make the idle motion stutter"))
    else:
        out.append(Check("duration", "skip", None, "", "a photo: the idle motion is generated"))
        out.append(Check("fps", "skip", None, "", "a photo"))
    w, h = a.size
    short = min(w, h)
    src = f" (downscaled from {info.width}x{info.height})" if max(info.width, info.height) > max(w, h) else ""
    out.append(Check("resolution", _grade(short, *SHORT_SIDE_PX), float(short), f"short side >= {SHORT_SIDE_PX[0]} px",
                     f"{w}x{h}{src}", "record at 720p or 1080p"))
    return out


def _face_checks(a: Analysis) -> list[Check]:
    out = []
    sampled = a.faces >= 0
    counts = a.faces[sampled]
    one = float(np.mean(counts == 1)) if len(counts) else 0.0
    none_share = float(np.mean(counts == 0)) if len(counts) else 1.0
    many_share = float(np.mean(counts > 1)) if len(counts) else 0.0
    found_share = float(a.track.found.mean()) if a.track is not None else 0.0
    frames = np.flatnonzero(sampled)
    if a.track is None and (len(counts) == 0 or counts.max() == 0):
        reason, fix = "no face found in any frame", "the presenter's face must be in the shot, frontal and well lit"
    elif many_share > 0:
        reason = f"more than one face in {100 * many_share:.0f} % of sampled frames"
        fix = "only the presenter may be in the shot: crop the video or record again without other people"
    elif none_share > 0 or found_share < 1:
        missing = max(none_share, 1.0 - found_share)
        reason = f"no face in {100 * missing:.0f} % of frames"
        fix = "keep the face in the shot, unobstructed, for the whole clip"
    else:
        reason, fix = "exactly one face in every sampled frame", ""
    status = "pass" if one >= ONE_FACE_SHARE and found_share >= ONE_FACE_SHARE else "fail"
    bad = frames[counts != 1] if len(counts) else frames
    out.append(Check("one_face", status, one, f">= {100 * ONE_FACE_SHARE:.0f} % of frames", reason, fix,
                     _worst(bad, np.ones(len(bad), bool))))
    heights = a.face_height[np.isfinite(a.face_height)]
    if len(heights):
        px = float(np.median(heights))
        out.append(Check("face_size", _grade(px, *FACE_PX), px, f">= {FACE_PX[0]:g} px",
                         f"face is {px:.0f} px tall" + (f", needs >= {FACE_PX[0]:g} px" if px < FACE_PX[0] else ""),
                         "move the camera closer or record at 1080p so the face is at least "
                         f"{FACE_PX[0]:g} px tall"))
    else:
        out.append(Check("face_size", "fail", None, f">= {FACE_PX[0]:g} px", "no face to measure",
                         "the presenter's face must be in the shot"))
    return out


def _image_checks(a: Analysis) -> list[Check]:
    m = a.measures
    out = []
    sharp = m["sharpness"][np.isfinite(m["sharpness"])]
    if len(sharp):
        v = float(np.median(sharp))
        out.append(Check("sharpness", _grade(v, *SHARPNESS), v, f">= {SHARPNESS[0]:g}",
                         f"face sharpness {v:.0f} (variance of the Laplacian)",
                         "focus on the face, avoid motion blur and heavy compression; record at a higher bitrate",
                         _worst(m["sharpness"], m["sharpness"] < SHARPNESS[0])))
    else:
        out.append(Check("sharpness", "skip", None, "", "no face to measure"))
    b = float(np.median(m["brightness"]))
    lo_w, hi_w, lo_f, hi_f = BRIGHTNESS
    status = "fail" if not lo_f <= b <= hi_f else "warn" if not lo_w <= b <= hi_w else "pass"
    where = "face" if a.track is not None else "frame"
    dark = b < lo_w
    out.append(Check("exposure", status, b, f"mean {where} brightness in [{lo_w}, {hi_w}]",
                     f"{where} brightness {b:.2f} ({'too dark' if dark else 'too bright' if b > hi_w else 'good'})",
                     "add light on the face" if dark else "reduce the light or the exposure on the face",
                     _worst(m["brightness"], (m["brightness"] < lo_w) | (m["brightness"] > hi_w))))
    clipped = np.maximum(m["highlights"], m["shadows"])
    c = float(np.median(clipped))
    out.append(Check("clipping", _grade(c, *CLIPPED_SHARE, higher_is_better=False), c,
                     f"<= {100 * CLIPPED_SHARE[0]:.0f} % of face pixels",
                     f"{100 * float(np.median(m['highlights'])):.1f} % blown highlights, "
                     f"{100 * float(np.median(m['shadows'])):.1f} % crushed shadows on the {where}",
                     "soften the light (diffuser) and lower the exposure so skin keeps its detail",
                     _worst(clipped, clipped > CLIPPED_SHARE[0])))
    return out


def _mouth_checks(a: Analysis) -> list[Check]:
    video = a.material.info.kind == "video"
    track = a.track
    out = []
    if track is None:
        return [Check(n, "skip", None, "", "no face") for n in
                ("mouth_visible", "head_pose", "jitter", "mouth_still", "neutral_mouth")]
    desc = a.measures["mouth_desc"]
    if video and len(desc) > 2:
        ok = np.isfinite(desc).all(1)
        ref = np.median(desc[ok], axis=0) if ok.any() else np.zeros(desc.shape[1])
        dist = np.where(ok, np.abs(desc - ref).mean(1) if ok.any() else np.inf, np.inf)
        mad = np.median(np.abs(dist[ok] - np.median(dist[ok]))) if ok.any() else 0.0
        limit = max(0.35, float(np.median(dist[ok])) + 6.0 * float(mad)) if ok.any() else 0.0
        hidden = (dist > limit) | ~ok | ~track.found
        share = float(hidden.mean())
        out.append(Check("mouth_visible", _grade(share, *OCCLUDED_SHARE, higher_is_better=False), share,
                         f"mouth hidden in <= {100 * OCCLUDED_SHARE[0]:.0f} % of frames",
                         f"mouth hidden or not found in {100 * share:.1f} % of frames",
                         "keep hands, microphone and products away from the mouth",
                         _worst(dist, hidden)))
    else:
        out.append(Check("mouth_visible", "pass" if track.found.all() else "fail", 1.0, "lips found",
                         "lips found by the face mesh"))
    pose = head_pose_deg(track.landmarks)
    if video:
        spread = np.percentile(pose, 95, axis=0) - np.percentile(pose, 5, axis=0)
        worst = float(spread.max())
        axis = ("turn (yaw)", "nod (pitch)", "tilt (roll)")[int(np.argmax(spread))]
        out.append(Check("head_pose", _grade(worst, *POSE_RANGE_DEG, higher_is_better=False), worst,
                         f"range <= {POSE_RANGE_DEG[0]:g} deg",
                         f"head {axis} varies by {worst:.0f} deg",
                         "keep the head facing the camera; small natural movement is fine"))
    else:
        yaw = float(np.abs(pose[0, 0]))
        out.append(Check("head_pose", _grade(yaw, 15.0, 30.0, higher_is_better=False), yaw, "<= 15 deg",
                         f"head turned {yaw:.0f} deg from frontal", "use a frontal photo"))
    if video and track.found.sum() > 3:
        raw = track.raw[track.found].astype(np.float64)
        # outer eye corners are 1.44 eye distances apart in the canonical frame
        jit = anchor_jitter(raw, float(np.median(np.linalg.norm(raw[:, 263] - raw[:, 33], axis=1))) / 1.44)
        out.append(Check("jitter", _grade(jit, *JITTER, higher_is_better=False), jit,
                         f"<= {JITTER[0]:g} eye distances", f"tracked face shakes by {jit:.4f} eye distances per frame",
                         "use a tripod; avoid fast head movement"))
    else:
        out.append(Check("jitter", "skip", None, "", "a photo: no tracking jitter"))
    gap = mouth_opening(track.canonical_lips)
    if video:
        lo, hi = np.percentile(gap, [10, 90])
        motion = float(hi - lo)
        out.append(Check("mouth_still", _grade(motion, *MOUTH_MOTION, higher_is_better=False), motion,
                         f"lip-gap range <= {MOUTH_MOTION[0]:g} eye distances",
                         f"the inner-lip gap varies by {motion:.3f} eye distances "
                         f"({'mouth still or lightly moving' if motion <= MOUTH_MOTION[0] else 'the presenter talks in the footage'})",
                         "record the base video with the mouth closed or only lightly moving; the idle loop "
                         "shows this mouth in silence", _worst(gap, (gap < lo) | (gap > hi))))
    else:
        out.append(Check("mouth_still", "skip", None, "", "a photo: the mouth does not move"))
    closed = float(np.mean(gap < 0.05))
    smile = track.smile_share() if video else 0.0
    ok = closed >= CLOSED_SHARE and smile <= SMILE_SHARE
    reason = f"{100 * closed:.0f} % closed-mouth frames (median lip gap {float(np.median(gap)):.3f})"
    reason += f", a wide smile in {100 * smile:.0f} %" if video else ""
    if closed == 0:
        reason += ": the mouth is open at rest; speech closes it between words"
    out.append(Check("neutral_mouth", "pass" if ok else "warn", closed, f">= {100 * CLOSED_SHARE:.0f} % closed",
                     reason, "include a few seconds with the lips relaxed and closed (no smile)"
                     if video else "use a photo with the lips closed (a photo's open mouth is closed by the renderer)"))
    return out


def _audio_checks(a: Analysis) -> list[Check]:
    info = a.material.info
    video = info.kind == "video"
    seconds = a.frames / info.fps if video and info.fps else 0.0
    out = []
    if video:
        status = "pass" if seconds >= TRAIN_S[0] else "warn"
        out.append(Check("training_length", status, seconds, f">= {TRAIN_S[0]:g} s",
                         f"{seconds:.0f} s of footage for the per-person mouth model"
                         + ("" if seconds >= TRAIN_S[1] else ": too short to train one, the warp renderer will be used"),
                         "3-5 minutes of the presenter talking trains the full model; 30 s trains the lite one"))
    else:
        out.append(Check("training_length", "skip", None, "", "a photo: the weights-free warp renderer is used"))
    if not video:
        out.append(Check("audio", "skip", None, "", "a photo has no audio"))
        return out
    if a.audio is None:
        out.append(Check("audio", "warn", None, "audio track present",
                         "no audio track: fine for the warp renderer; per-person lip-sync training needs the voice",
                         "record with the microphone on if you want a per-person model"))
        return out
    from dhsdk.avatar.audio_quality import measure_audio

    q = measure_audio(a.audio)
    problems, status = [], "pass"

    def flag(bad: bool, worse: bool, text: str) -> None:
        nonlocal status
        if bad:
            problems.append(text)
            status = "fail" if worse else ("warn" if status == "pass" else status)

    snr_ok = math.isfinite(q.snr_db)
    flag(snr_ok and q.snr_db < SNR_DB[0], snr_ok and q.snr_db < SNR_DB[1], f"noisy (SNR {q.snr_db:.0f} dB)")
    flag(q.clipping_share > CLIPPING[0], q.clipping_share > CLIPPING[1], f"clipped ({100 * q.clipping_share:.2f} %)")
    flag(math.isfinite(q.reverb_s) and q.reverb_s > REVERB_S, False, f"reverberant (~{q.reverb_s:.2f} s)")
    flag(q.echo > ECHO, False, f"echo ({q.echo:.2f})")
    flag(q.speech_share < SPEECH_SHARE, False, f"little speech ({100 * q.speech_share:.0f} %)")
    detail = (f"SNR {q.snr_db:.0f} dB, {100 * q.speech_share:.0f} % speech, clipping {100 * q.clipping_share:.2f} %, "
              f"reverb {q.reverb_s:.2f} s")
    out.append(Check("audio", status, q.snr_db if snr_ok else None, f"SNR >= {SNR_DB[0]:g} dB, no clipping",
                     ("; ".join(problems) + f" ({detail})") if problems else detail,
                     "record in a quiet, soft-furnished room with the microphone close; lower the input gain"))
    return out


def review(analysis: Analysis) -> ReviewReport:
    """Run every check on an :class:`~dhsdk.avatar.analyze.Analysis`."""
    info = analysis.material.info
    checks = (_material_checks(analysis) + _face_checks(analysis) + _image_checks(analysis)
              + _mouth_checks(analysis) + _audio_checks(analysis))
    facts = {"width": info.width, "height": info.height, "fps": info.fps, "frames": analysis.frames,
             "declared_frames": info.declared_frames, "codec": info.codec, "rotation": info.rotation,
             "has_audio": info.has_audio, "analysis_seconds": round(analysis.seconds, 3)}
    return ReviewReport(str(info.path), info.kind, checks, facts)

