"""Automated review of a merchant's material: every check has a threshold, a measured value,
a verdict, a one-line reason and a fix a person can act on.

Verdicts: ``pass``; ``warn`` (the avatar works, but a named aspect will be worse);
``fail`` (the avatar would be bad: creation refuses it); ``skip`` (does not apply, e.g.
duration for a photo). The thresholds are module constants, stated with their units, so a
reviewer can see exactly why something failed. They are calibrated on real talking footage
(50 GRID clips, sun.mp4 and yongen.mp4 in ``../shared/data``; held against 10 other GRID clips
in tests/avatar/test_real_material.py) and on generated material with known faults and known
head motion (tests/avatar/test_review.py).

Talking footage is the normal case: the lips moving is information for per-person training
(``lip_motion``), not a fault, and nods and turns the renderer follows (up to +-30 deg) warn at
most. What makes an avatar unusable still fails, with the reason and the fix: no face or a
second one, a file that does not decode, a face too small, dark or blurred, a covered mouth.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dhsdk.avatar.analyze import Analysis
from dhsdk.avatar.audio_quality import AudioQuality, measure_audio
from dhsdk.avatar.idle import MIN_LOOP_S
from dhsdk.avatar.mouth_state import closed_threshold, lips_moving
from dhsdk.avatar.track import tracking_noise

# (warn below, fail below) unless noted; units in the names.
DURATION_S = (10.0, MIN_LOOP_S)  # fail: shorter than the shortest idle loop
SHORT_SIDE_PX = (720, 240)       # the output has the material's size; GRID's 360x288 warns
FACE_PX = (160.0, 100.0)         # GRID faces: 121-145 px (warn)
FPS = (24.0, 15.0)
ONE_FACE_SHARE = 0.98           # fail below
SHARPNESS = (60.0, 20.0)        # variance of Laplacian, face at 128 px (GRID 103-140, sun, yongen pass)
BRIGHTNESS = (0.25, 0.85, 0.10, 0.95)   # warn outside [a, b], fail outside [c, d] (mean face luma 0..1)
CLIPPED_SHARE = (0.05, 0.20)    # warn above, fail above: highlights or shadows on the face
OCCLUDED_SHARE = (0.02, 0.10)   # warn above, fail above: mouth hidden (hand, microphone)
LIP_CONTRAST_SHARE = 0.5        # a frame's mouth is hidden when its lip-skin contrast is below this share
                                # of the clip's typical (75th percentile); visible mouths stay above 0.66
                                # of it (GRID talking: 0.76, generated nods of +-35 deg: 0.66), covered ones ~0
LIP_CONTRAST_MIN = 1.5          # Cr units: a clip whose typical lips are no redder than the skin
POSE_DEG = (20.0, 40.0)         # warn above, fail above: largest head turn from frontal (yaw) or nod
                                # from the clip's rest (pitch), 5th..95th percentile; the renderer
                                # follows +-30 deg (GRID <= 13 deg, yongen 14, sun 5; generated nods
                                # of +-25 / +-35 deg read 22 / 31)
JITTER = (0.010, 0.025)         # warn above, fail above: tracking noise around the head's smooth motion,
                                # eye distances (GRID 0.003-0.008, sun 0.003, yongen 0.005, generated
                                # +-25..35 deg nods and turns 0.004-0.008)
LIP_MOTION_SHARE = 0.25         # speech frames with the lips moving, below which the voice is not the
                                # footage's own (GRID: 65-100 %)
CLOSED_SHARE = 0.10             # warn below: share of closed-mouth frames
SMILE_SHARE = 0.5               # warn above: share of frames with a held wide smile
TRAIN_S = (180.0, 30.0)         # pass from 3 min (full model), warn from 30 s (lite), below: warn too
SNR_DB = 20.0                   # warn below (the audio only feeds per-person training: it never fails)
CLIPPING = 0.001                # warn above: share of clipped samples
REVERB_S = 0.6                  # warn above
ECHO = 0.4                      # warn above
SPEECH_SHARE = 0.3              # warn below
# Geometry of a frontal face for the head-pose estimate (mediapipe's 3-D mesh of the frontal
# astronaut photo). Pitch, in eye-to-mouth heights: the nose tip's height below the eye line, its
# depth in front of the eyes, the mouth corners' depth behind them. Yaw: the nose tip's depth in
# front of the outer eye corners, in spans between those corners.
NOSE_HEIGHT, NOSE_DEPTH, MOUTH_DEPTH = 0.73, -0.72, 0.08
NOSE_FORWARD = 0.45


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
        audio_quality: the soundtrack's measurements (a video with sound), which later steps reuse.
    """

    source: str
    kind: str
    checks: list[Check]
    info: dict[str, Any]
    audio_quality: AudioQuality | None = None

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

    Roll from the eye line. Pitch (chin down positive) from the nose tip's height between the
    eye line and the mouth corners, a share ``r`` of it: a face nodding by ``p`` shows
    ``r = (NOSE_HEIGHT - NOSE_DEPTH tan p) / (1 - MOUTH_DEPTH tan p)`` under an orthographic
    camera. Yaw (towards image-right positive) from the nose tip's offset from the middle of the
    outer eye corners, a share ``s`` of their span: ``s = f(p) tan y``, where ``f(p)`` is how
    far the nose tip stands in front of the eye corners once nodded (``NOSE_FORWARD`` when
    frontal; it shrinks as the chin goes down). Both are inverted here, pitch first. On the
    exact projections of the rotated 3-D mesh of a frontal face, nods and turns up to +-35 deg
    read within 2.8 deg, alone or together, as long as the chin is no more than 25 deg down;
    a turn made while nodding further down reads low (the nose tip comes level with the eyes),
    and no turn reads more than 2.7 deg high. Faces whose proportions differ from the model read
    a constant offset in pitch (the real clips: -13..-3 deg when frontal), which is why the
    review measures nods from the clip's rest pose.
    """
    lm = np.asarray(landmarks)[:, [33, 263, 1, 61, 291]].astype(np.float64)   # only what is used: tracks are long
    left, right, nose, mouth = lm[:, 0], lm[:, 1], lm[:, 2], 0.5 * (lm[:, 3] + lm[:, 4])
    eye_vec = right - left
    roll = np.degrees(np.arctan2(eye_vec[:, 1], eye_vec[:, 0]))
    width = np.linalg.norm(eye_vec, axis=1)
    axis = eye_vec / width[:, None]
    mid = 0.5 * (left + right)
    down = np.stack([-axis[:, 1], axis[:, 0]], 1)
    span = ((mouth - mid) * down).sum(1)
    ratio = ((nose - mid) * down).sum(1) / np.maximum(span, 1e-6)
    pitch = np.arctan((NOSE_HEIGHT - ratio) / (NOSE_DEPTH - ratio * MOUTH_DEPTH))
    # the nose tip's depth in front of the eyes after the nod (kept from vanishing near 45 deg down)
    forward = NOSE_FORWARD * np.maximum(np.cos(pitch) + NOSE_HEIGHT / NOSE_DEPTH * np.sin(pitch), 0.3)
    yaw = np.degrees(np.arctan(((nose - mid) * axis).sum(1) / width / forward))
    return np.stack([yaw, np.degrees(pitch), roll], 1)


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
        status = _grade(seconds, *DURATION_S)
        more = {"pass": "", "warn": f"; {DURATION_S[0]:g} s or more gives a longer idle loop that repeats less visibly",
                "fail": f": the idle loop needs at least {DURATION_S[1]:g} s"}[status]
        out.append(Check("duration", status, seconds, f">= {DURATION_S[0]:g} s",
                         f"{seconds:.1f} s of footage ({stats.decoded} frames){more}",
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
    status = _grade(short, *SHORT_SIDE_PX)
    more = {"pass": "", "warn": ": the output video has this size; 720p or 1080p material gives a sharp HD stream",
            "fail": f": too small to stream (short side under {SHORT_SIDE_PX[1]} px)"}[status]
    out.append(Check("resolution", status, float(short), f"short side >= {SHORT_SIDE_PX[0]} px",
                     f"{w}x{h}{src}{more}", "record at 720p or 1080p"))
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
        status = _grade(px, *FACE_PX)
        more = {"pass": "", "warn": f"; {FACE_PX[0]:g} px or more gives a sharper mouth and teeth",
                "fail": f", needs >= {FACE_PX[1]:g} px ({FACE_PX[0]:g} px or more for a sharp mouth)"}[status]
        out.append(Check("face_size", status, px, f">= {FACE_PX[0]:g} px", f"face is {px:.0f} px tall{more}",
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


def _mouth_checks(a: Analysis, quality: AudioQuality | None) -> list[Check]:
    video = a.material.info.kind == "video"
    track = a.track
    if track is None:
        return [Check(n, "skip", None, "", "no face") for n in
                ("mouth_visible", "head_pose", "jitter", "lip_motion", "neutral_mouth")]
    gap = track.lip_gap
    if video:
        return [_mouth_visible(a), _head_pose(track.landmarks), _jitter(a), _lip_motion(a, gap, quality),
                _neutral_mouth(a, gap)]
    yaw = float(np.abs(head_pose_deg(track.landmarks[:1])[0, 0]))
    return [Check("mouth_visible", "pass", 1.0, "lips found", "lips found by the face mesh"),
            Check("head_pose", _grade(yaw, 15.0, 30.0, higher_is_better=False), yaw, "<= 15 deg",
                  f"head turned {yaw:.0f} deg from frontal", "use a frontal photo"),
            Check("jitter", "skip", None, "", "a photo: no tracking jitter"),
            Check("lip_motion", "skip", None, "", "a photo: the mouth does not move"),
            _neutral_mouth(a, gap)]


def _mouth_visible(a: Analysis) -> Check:
    """Hidden mouths by the lips' colour against the skin (:func:`dhsdk.avatar.analyze.lip_contrast`):
    shape-free, so talking, smiling and nodding mouths stay visible."""
    contrast = a.measures["lip_contrast"]
    typical = float(np.nanpercentile(contrast, 75)) if np.isfinite(contrast).any() else math.nan
    threshold = f"mouth hidden in <= {100 * OCCLUDED_SHARE[0]:.0f} % of frames"
    fix = "keep hands, microphone and products away from the mouth"
    if not typical >= LIP_CONTRAST_MIN:
        return Check("mouth_visible", "warn", None, threshold,
                     "the lips cannot be told from the skin by their colour (grey footage, or the mouth covered "
                     "throughout): the review cannot see whether the mouth is visible", fix)
    ok = contrast >= LIP_CONTRAST_SHARE * typical   # NaN (lips not sampled) counts as hidden
    hidden = ~ok | ~a.track.found
    share = float(hidden.mean())
    return Check("mouth_visible", _grade(share, *OCCLUDED_SHARE, higher_is_better=False), share, threshold,
                 f"mouth hidden or not found in {100 * share:.1f} % of frames", fix, _worst(contrast, hidden))


def _head_pose(landmarks: np.ndarray) -> Check:
    """The largest turn from frontal (yaw) and nod from the clip's rest (pitch), 5th..95th
    percentile: in-plane tilt (roll) is not graded, the canonical frame follows it exactly."""
    pose = head_pose_deg(landmarks)
    lo, hi = np.percentile(pose, [5, 95], axis=0)
    rest = float(np.median(pose[:, 1]))
    turn = float(max(abs(lo[0]), abs(hi[0])))
    nod = float(max(hi[1] - rest, rest - lo[1]))
    worst = max(turn, nod)
    status = _grade(worst, *POSE_DEG, higher_is_better=False)
    more = {"pass": "",
            "warn": f": the renderer follows up to +-30 deg; the mouth is best within +-{POSE_DEG[0]:g} deg",
            "fail": f": beyond what the renderer follows (+-{POSE_DEG[1]:g} deg)"}[status]
    return Check("head_pose", status, worst, f"within +-{POSE_DEG[0]:g} deg",
                 f"head turns up to {turn:.0f} deg from frontal and nods up to {nod:.0f} deg{more}",
                 f"face the camera; keep nods and turns within +-{POSE_DEG[0]:g} deg",
                 _worst(pose, (np.abs(pose[:, 0]) > POSE_DEG[0]) | (np.abs(pose[:, 1] - rest) > POSE_DEG[0])))


def _jitter(a: Analysis) -> Check:
    """Tracking noise of the raw (unsmoothed) track, around the head's own smooth motion."""
    track = a.track
    if track.found.sum() <= 3:
        return Check("jitter", "skip", None, "", "too few tracked frames")
    raw = track.raw[track.found]
    # outer eye corners are 1.44 eye distances apart in the canonical frame
    eye = float(np.median(np.linalg.norm(raw[:, 263] - raw[:, 33], axis=1))) / 1.44
    noise = tracking_noise(raw, eye, track.fps)
    return Check("jitter", _grade(noise, *JITTER, higher_is_better=False), noise, f"<= {JITTER[0]:g} eye distances",
                 f"tracked face scatters by {noise:.4f} eye distances from frame to frame",
                 "use a tripod or steady the camera, and light the face evenly so the tracker holds it")


def _lip_motion(a: Analysis, gap: np.ndarray, quality: AudioQuality | None) -> Check:
    """Speech with the lips moving: what per-person a2k adaptation learns from."""
    from dhsdk.train.a2k_adapt import MIN_SPEECH_S

    track = a.track
    fps = track.fps
    moving = lips_moving(gap, fps) & track.found
    threshold = f">= {MIN_SPEECH_S:g} s of speech with the lips moving"
    fix = ("record 1-3 minutes of yourself talking to the camera with the microphone on "
           f"(per-person a2k adaptation needs >= {MIN_SPEECH_S:g} s of speech)")
    if quality is None:
        seconds = float(moving.sum() / fps)
        said = (f"the lips move in {seconds:.1f} s of the footage, but it has no audio" if seconds >= 0.5 else
                "the lips do not move in the footage and it has no audio")
        return Check("lip_motion", "warn", seconds, threshold,
                     f"{said}: per-person a2k adaptation learns from talking footage with its sound", fix)
    speech = quality.speech_at(fps, len(gap)) & track.found
    seconds = float(speech.sum() / fps)
    share = float(moving[speech].mean()) if speech.any() else 0.0
    frames: list[int] = []
    if seconds == 0:
        reason, status = "no speech in the audio: per-person a2k adaptation learns from the voice", "warn"
    elif share < LIP_MOTION_SHARE:
        reason = (f"{seconds:.1f} s of speech, but the lips move in only {100 * share:.0f} % of it (a voice-over?): "
                  f"per-person a2k adaptation learns from lips moving with the voice")
        status, frames = "warn", _worst(gap, speech & ~moving)
    elif seconds < MIN_SPEECH_S:
        reason = (f"{seconds:.1f} s of speech with visible lip motion: per-person a2k adaptation needs "
                  f">= {MIN_SPEECH_S:g} s")
        status = "warn"
    else:
        reason = (f"{seconds:.1f} s of speech with visible lip motion: enough for per-person a2k adaptation "
                  f"(dhsdk train a2k-adapt)")
        status = "pass"
    return Check("lip_motion", status, seconds, threshold, reason, fix, frames)


def _neutral_mouth(a: Analysis, gap: np.ndarray) -> Check:
    """Closed-mouth frames (below the avatar's closed threshold), which give the silent mouth."""
    video = a.material.info.kind == "video"
    limit = closed_threshold(gap)
    closed = float(np.mean(gap < limit))
    smile = a.track.smile_share() if video else 0.0
    ok = closed >= CLOSED_SHARE and smile <= SMILE_SHARE
    reason = f"{100 * closed:.0f} % closed-mouth frames (lip gap < {limit:.3f}, median {float(np.median(gap)):.3f})"
    reason += f", a wide smile in {100 * smile:.0f} %" if video else ""
    if closed == 0:
        reason += (": the lips are parted throughout, so the silent mouth is the most closed shape with the lips "
                   "closed by the renderer")
    return Check("neutral_mouth", "pass" if ok else "warn", closed, f">= {100 * CLOSED_SHARE:.0f} % closed", reason,
                 "include a few seconds with the lips relaxed and closed (no smile): the silent mouth is then "
                 "the presenter's own" if video else
                 "use a photo with the lips closed (a photo's open mouth is closed by the renderer)")


def _audio_checks(a: Analysis, q: AudioQuality | None) -> list[Check]:
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
    if q is None:
        out.append(Check("audio", "warn", None, "audio track present",
                         "no audio track: fine for the warp renderer; per-person lip-sync training needs the voice",
                         "record with the microphone on if you want a per-person model"))
        return out
    snr_ok = math.isfinite(q.snr_db)
    problems = [text for bad, text in (
        (snr_ok and q.snr_db < SNR_DB, f"noisy (SNR {q.snr_db:.0f} dB)"),
        (q.clipping_share > CLIPPING, f"clipped ({100 * q.clipping_share:.2f} %)"),
        (math.isfinite(q.reverb_s) and q.reverb_s > REVERB_S, f"reverberant (~{q.reverb_s:.2f} s)"),
        (q.echo > ECHO, f"echo ({q.echo:.2f})"),
        (q.speech_share < SPEECH_SHARE, f"little speech ({100 * q.speech_share:.0f} %)")) if bad]
    detail = (f"SNR {q.snr_db:.0f} dB, {100 * q.speech_share:.0f} % speech, clipping {100 * q.clipping_share:.2f} %, "
              f"reverb {q.reverb_s:.2f} s")
    reason = (f"{'; '.join(problems)} ({detail}): per-person training learns less from it" if problems else detail)
    out.append(Check("audio", "warn" if problems else "pass", q.snr_db if snr_ok else None,
                     f"SNR >= {SNR_DB:g} dB, no clipping", reason,
                     "record in a quiet, soft-furnished room with the microphone close; lower the input gain"))
    return out


def review(analysis: Analysis) -> ReviewReport:
    """Run every check on an :class:`~dhsdk.avatar.analyze.Analysis`."""
    info = analysis.material.info
    quality = measure_audio(analysis.audio) if info.kind == "video" and analysis.audio is not None else None
    checks = (_material_checks(analysis) + _face_checks(analysis) + _image_checks(analysis)
              + _mouth_checks(analysis, quality) + _audio_checks(analysis, quality))
    facts = {"width": info.width, "height": info.height, "fps": info.fps, "frames": analysis.frames,
             "declared_frames": info.declared_frames, "codec": info.codec, "rotation": info.rotation,
             "has_audio": info.has_audio, "analysis_seconds": round(analysis.seconds, 3)}
    return ReviewReport(str(info.path), info.kind, checks, facts, quality)

