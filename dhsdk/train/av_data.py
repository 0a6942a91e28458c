"""Real audio-visual speech for a2k: talking clips -> 16 kHz audio + the lips measured in every frame.

Each clip is decoded once, its face tracked with the project's own face-mesh tracker
(:class:`dhsdk.avatar.track.FaceTracker`), and its lips taken **per frame, unsmoothed**: the
track's zero-phase One-Euro smoothing is right for head pose but erases lip closures (a GRID
"b" measures 0.00 eye distances raw and 0.03 smoothed), so the raw mesh's 40 lip points are
mapped into the canonical face frame by the *smoothed* per-frame pose. The neutral mouth is
the clip's own (the median of its most closed quarter of frames, gap closed), as an avatar's is.

Word timings come with the clip when a GRID ``.align`` file sits beside it (``start end word``
in 1/25000 s); the phones are then force-aligned to those words with pocketsphinx
(:func:`dhsdk.audio.phones.align`). Measuring is slow (the mesh, ~40 ms a frame here), so each
clip's result is cached as ``.npz`` under ``<cache>/a2k-av/`` keyed by the file's sha256.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dhsdk.geometry import LIP_IDS, apply_affine, mouth_opening

# The GRID mp4s play their audio 64 ms late: 1024 samples of AAC encoder priming that the files
# do not tell players to skip (the first ~1040 samples lie at -70..-110 dB, below the room's
# -40 dB). Cut, the loudness envelope's correlation with the lips peaks at lag 0 (r 0.49 -> 0.58
# over 100 clips) and p/b/m closures line up with the aligned phones.
GRID_AUDIO_SKIP = 1024
NEUTRAL_SHARE = 0.25         # the most closed quarter of a clip's frames defines its neutral mouth


@dataclass
class AVClip:
    """One talking clip, measured.

    Attributes:
        name: the file's stem.
        fps: video frame rate.
        pcm: (n,) float32 16 kHz mono soundtrack.
        lips: (T, 40, 2) float32 lips per frame in the canonical face frame (NaN where the mesh
            found no face).
        neutral: (40, 2) float32 the clip's neutral closed mouth, canonical units.
        words: (start s, end s, word) of each spoken word ("sil" excluded); empty if unknown.
        phones: (start s, end s, ARPAbet label) force-aligned to ``words``; empty if unknown.
    """

    name: str
    fps: float
    pcm: np.ndarray
    lips: np.ndarray
    neutral: np.ndarray
    words: list[tuple[float, float, str]]
    phones: list[tuple[float, float, str]]

    @property
    def found(self) -> np.ndarray:
        """(T,) bool: the face was found in the frame."""
        return ~np.isnan(self.lips[:, 0, 0])

    @property
    def deltas(self) -> np.ndarray:
        """(T, 40, 2) float32 measured lips minus the neutral (what a2k predicts)."""
        return (self.lips - self.neutral).astype(np.float32)

    @property
    def opening(self) -> np.ndarray:
        """(T,) float32 inner-lip gap per frame, eye distances (NaN where no face)."""
        return mouth_opening(self.lips).astype(np.float32)


def neutral_of(lips: np.ndarray) -> np.ndarray:
    """(40, 2) float32 neutral closed mouth of per-frame canonical lips (NaN frames ignored)."""
    from dhsdk.render.smoothing import scale_opening

    lips = lips[~np.isnan(lips[:, 0, 0])]
    k = max(1, int(np.ceil(NEUTRAL_SHARE * len(lips))))
    closed = lips[np.argsort(mouth_opening(lips))[:k]]
    return scale_opening(np.median(closed, axis=0).astype(np.float32), 0.0)


def raw_canonical_lips(track) -> np.ndarray:
    """(T, 40, 2) float32 a track's unsmoothed lips under its smoothed pose (NaN where lost).

    Args:
        track: a :class:`dhsdk.avatar.track.FaceTrack`.
    """
    raw = track.raw[:, list(LIP_IDS)].astype(np.float64)
    out = np.stack([apply_affine(m, p) for m, p in zip(track.to_canonical, raw)])
    return out.astype(np.float32)


def measure(path: str | Path) -> AVClip:
    """Decode ``path``, track its face and measure its lips (no cache; see :func:`load`).

    Raises:
        InputError: not a video with sound, or no face in any frame.
    """
    from dhsdk.audio import load_audio
    from dhsdk.audio.phones import align
    from dhsdk.avatar.material import open_material
    from dhsdk.avatar.track import FaceTracker
    from dhsdk.errors import InputError
    from dhsdk.eval.closure import read_grid_words

    path = Path(path)
    material = open_material(path)
    if material.info.kind == "image" or not material.info.has_audio:
        raise InputError(f"{path} is not a video with sound: real audio-visual data needs both")
    tracker = FaceTracker(material.info.fps, scale=1.0)
    for frame in material.frames():
        tracker.update(frame)
    track = tracker.finish()
    lips = raw_canonical_lips(track)
    if not (~np.isnan(lips[:, 0, 0])).any():
        raise InputError(f"no face was found in any frame of {path}")
    pcm = load_audio(path)
    align_file = path.with_suffix(".align")
    words = read_grid_words(align_file) if align_file.is_file() else []
    phones = [(p.start, p.end, p.label) for p in align(pcm, " ".join(w for *_, w in words))] if words else []
    return AVClip(path.stem, float(track.fps), pcm, lips, neutral_of(lips), words, phones)


def _save(clip: AVClip, dest: Path) -> None:
    from dhsdk.atomic import atomic_file

    meta = {"name": clip.name, "fps": clip.fps, "words": clip.words, "phones": clip.phones}
    with atomic_file(dest) as tmp:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, pcm=clip.pcm, lips=clip.lips, neutral=clip.neutral,
                                meta=np.frombuffer(json.dumps(meta).encode(), np.uint8))


def _read(src: Path) -> AVClip:
    with np.load(src) as z:
        meta = json.loads(bytes(z["meta"]).decode())
        return AVClip(meta["name"], meta["fps"], z["pcm"], z["lips"], z["neutral"],
                      [tuple(w) for w in meta["words"]], [tuple(p) for p in meta["phones"]])


def skip_audio(clip: AVClip, samples: int) -> AVClip:
    """``clip`` with the first ``samples`` of its soundtrack cut (a file whose audio plays late by
    that much), its phones moved with the sound; lips and words (timed on the picture) stay."""
    if samples <= 0:
        return clip
    dt = samples / 16000
    phones = [(max(0.0, s - dt), e - dt, lab) for s, e, lab in clip.phones if e - dt > 0]
    return AVClip(clip.name, clip.fps, clip.pcm[samples:], clip.lips, clip.neutral, clip.words, phones)


def load(paths: list[Path], cache: Path | None = None, show_progress: bool = True,
         audio_skip: int = 0) -> list[AVClip]:
    """Measured clips, from the cache where a clip was measured before.

    Args:
        paths: talking clips with sound (GRID ``.align`` files beside them are read).
        cache: cache folder; ``<dhsdk cache>/a2k-av`` when None.
        show_progress: progress bar over clips.
        audio_skip: samples of late audio to cut from each clip (:func:`skip_audio`;
            :data:`GRID_AUDIO_SKIP` for the GRID files).
    """
    from dhsdk.paths import cache_root, file_sha256
    from dhsdk.progress import progress

    cache = Path(cache) if cache is not None else cache_root() / "a2k-av"
    cache.mkdir(parents=True, exist_ok=True)
    clips = []
    for path in progress(paths, total=len(paths), desc="measure lips", unit="clip", enabled=show_progress):
        key = cache / f"{Path(path).stem}-{file_sha256(path)[:16]}.npz"
        if not key.is_file():
            _save(measure(path), key)
        clips.append(skip_audio(_read(key), audio_skip))
    return clips
