"""Every frame's mouth is the SDK's (issue 14): on an avatar made from real talking footage the
footage's own lip motion never reaches the output, and the renderer holds up on a nodding head.

- GRID (real talking footage, ../shared/data): 3 s of silence then 3 s of another sentence's
  speech. The face mesh, run on the OUTPUT frames, finds the mouth closed (inner-lip gap below
  the avatar's closed-mouth threshold) in >= 95 % of the silent frames, although the footage
  talks in them; during speech the measured opening follows the rendered target, not the
  footage's mouth.
- A head rolling +-25 degrees (the default avatar's photo rotated per frame, with its exact
  geometry): the seam energy at the blend boundary and the error of the mouth's position, both
  measured on the output, stay within the bounds of the same photo held still.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from dhsdk.geometry import LIP_IDS, apply_affine, image_to_canonical, invert_affine, mouth_opening

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "avatar"))
import avatar_material as gen  # noqa: E402

GRID_CLIP = "bbaf2n"  # "bin blue at f two now": the presenter talks through most of the clip
SPEECH_CLIP = "bbal6n"


def canonical_lips(mesh, image: np.ndarray) -> np.ndarray | None:
    """(40, 2) lips the face mesh finds in ``image``, canonical units (None: no face)."""
    lm = mesh.landmarks(image)
    return None if lm is None else apply_affine(image_to_canonical(lm), lm[list(LIP_IDS)])


@pytest.fixture(scope="module")
def grid_avatar(shared_data, tmp_path_factory):
    """An avatar made with ``dhsdk avatar create`` from a talking GRID clip (360x288; where the
    review asks for more pixels, the clip upscaled 2x, which it accepts)."""
    import av
    import cv2

    from dhsdk.avatar import Avatar
    from dhsdk.cli import main

    out = tmp_path_factory.mktemp("grid")
    clip = shared_data / "grid_s1" / f"{GRID_CLIP}.mp4"
    if main(["avatar", "create", str(clip), "-o", str(out / "raw"), "--quiet"]) == 0:
        return Avatar.load(out / "raw", device="cpu")
    with av.open(str(clip)) as c:
        frames = [cv2.resize(f.to_ndarray(format="rgb24"), None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
                  for f in c.decode(video=0)]
    gen.write_video(out / "x2.mp4", frames, 25.0)
    assert main(["avatar", "create", str(out / "x2.mp4"), "-o", str(out / "x2"), "--quiet"]) == 0
    return Avatar.load(out / "x2", device="cpu")


def test_silence_is_closed_and_speech_follows_the_new_audio_on_talking_footage(grid_avatar, shared_data):
    from dhsdk.audio import load_audio
    from dhsdk.avatar.face import FaceMesh478
    from dhsdk.pipeline.lipsync import LipSync

    avatar = grid_avatar
    sync = LipSync(avatar, mouth="warp", device="cpu")
    speech = load_audio(shared_data / "grid_s1" / f"{SPEECH_CLIP}.mp4")[:3 * 16000]
    pcm = np.concatenate([np.zeros(3 * 16000, np.float32), speech])
    plan = sync._plan(pcm, None, None, None)
    target = np.zeros(plan.total, np.float32)
    images = [f.image for f in sync._frames(plan, None, target)]
    with FaceMesh478(static=False) as mesh:
        gap = np.array([mouth_opening(canonical_lips(mesh, im)) for im in images])
    footage = np.array([mouth_opening(sync.geometry.base_lips[avatar.idle_index(k)]) for k in range(len(images))])
    silent, speaking = plan.weights == 0, plan.weights >= 1
    closed = avatar.closed_threshold  # the avatar's closed mouth (dhsdk/avatar/mouth_state.py)
    assert silent.sum() >= 70 and speaking.sum() >= 50
    # The footage talks in the silent part (without the SDK's mouth it would show): ...
    assert np.mean(footage[silent] >= closed) > 0.2
    # ... the output does not.
    assert np.mean(gap[silent] < closed) >= 0.95, gap[silent]
    # During speech the mouth measured on the output follows the target rendered from the new
    # audio, and not the footage's own mouth.
    follows = np.corrcoef(gap[speaking], target[speaking])[0, 1]
    footage_corr = np.corrcoef(gap[speaking], footage[speaking])[0, 1]
    assert follows > 0.6 and footage_corr < follows - 0.4, (follows, footage_corr)
    assert gap[speaking].max() > 2 * closed  # it really opens


class RotatingPhoto:
    """The default avatar's photo rolling by ``degrees[k]`` about the face at frame k, with its
    exact geometry (the photo's track moved by the known rotation): the avatar interface the
    render stage reads, and no tracker in the way."""

    def __init__(self, avatar, degrees: np.ndarray):
        import cv2

        self._avatar = avatar
        self.path, self.fps, self.mouth_model = avatar.path, avatar.fps, "warp"
        self.width, self.height = avatar.width, avatar.height
        photo, centre = avatar.frame(0), apply_affine(invert_affine(avatar.to_canonical[0]), [0.0, 0.8])
        self.rotation = np.stack([cv2.getRotationMatrix2D(tuple(centre), float(d), 1.0) for d in degrees])
        self._frames = [cv2.warpAffine(photo, m, (self.width, self.height), flags=cv2.INTER_LINEAR,
                                       borderMode=cv2.BORDER_REFLECT101) for m in self.rotation]
        self.num_frames = len(degrees)
        self.to_canonical = np.stack([avatar.to_canonical[0] @ np.vstack([invert_affine(m), [0, 0, 1]])
                                      for m in self.rotation])
        self.lips = np.stack([apply_affine(m, avatar.lips[0]) for m in self.rotation]).astype(np.float32)
        self.landmarks = np.stack([apply_affine(m, avatar.landmarks[0]) for m in self.rotation]).astype(np.float32)
        self.neutral_lips = avatar.neutral_lips

    def frame(self, index: int) -> np.ndarray:
        return self._frames[index]

    def idle_index(self, k: int) -> int:
        return k % self.num_frames

    def crop_affine(self, size: int) -> np.ndarray:
        from dhsdk.avatar.mouth_region import crop_to_frame

        to_crop = self.canonical_to_crop(size)
        return np.stack([crop_to_frame(to_crop, m) for m in self.to_canonical]).astype(np.float32)

    def __getattr__(self, name: str):  # canonical_to_crop, mouth_mask, reference_crop: the photo's
        return getattr(self._avatar, name)


def _nod_measures(photo_avatar, rendered_by=None) -> tuple[np.ndarray, np.ndarray]:
    """Render 2 s of a mouth opening wide and closing; per frame: the seam energy ratio (gradient
    energy on the mask's feather band, output crop over source crop) and the mouth-position error
    (mean distance of the 40 lip points the face mesh finds on the output to where the frame's
    geometry puts the target lips, eye distances). ``rendered_by``: render on this avatar view
    instead (a broken geometry, to see the measures catch it)."""
    from dhsdk import kernels
    from dhsdk.avatar.face import FaceMesh478
    from dhsdk.pipeline.lipsync import LipSync

    sync = LipSync(rendered_by or photo_avatar, mouth="warp", device="cpu")
    n, size = photo_avatar.num_frames, sync.crop_size
    delta = np.zeros((n, 40, 2), np.float32)
    delta[:, 1:10, 1] = delta[:, 21:30, 1] = (0.12 * (1 - np.cos(np.arange(n) * 2 * np.pi / 8)))[:, None]
    lips = np.stack([sync.target_lips(d, 1.0, k) for k, d in enumerate(delta)])
    images = sync.path.render(list(range(n)), lips)
    affines, mask = photo_avatar.crop_affine(size), photo_avatar.mouth_mask(size)
    band = (mask > 0.05) & (mask < 0.6)

    def grad(image, k):
        crop = kernels.crop(np.ascontiguousarray(image), affines[k][None], size)[0]
        gy, gx = np.gradient(crop.astype(np.float32).mean(-1))
        return np.hypot(gx, gy)[band].mean()

    seam = np.array([grad(im, k) / grad(photo_avatar.frame(k), k) for k, im in enumerate(images)])
    error = []
    with FaceMesh478(static=True) as mesh:
        for k, im in enumerate(images):
            found = mesh.landmarks(im)[list(LIP_IDS)]
            want = apply_affine(invert_affine(photo_avatar.to_canonical[k]), lips[k])
            eye = 1.0 / np.hypot(*photo_avatar.to_canonical[k][:, 0])
            error.append(np.linalg.norm(found - want, axis=1).mean() / eye)
    return seam, np.array(error)


def test_a_head_rolling_25_degrees_renders_like_a_still_head():
    from dhsdk.avatar import Avatar

    avatar = Avatar.default(device="cpu")
    n = 24
    nod = RotatingPhoto(avatar, 25.0 * np.sin(np.arange(n) * 2 * np.pi / n))
    still = RotatingPhoto(avatar, np.zeros(n))
    seam_nod, err_nod = _nod_measures(nod)
    seam_still, err_still = _nod_measures(still)
    # No seam: the bound test_lipsync uses, and no worse than on the still head (compositing with
    # the frame-0 crop affine, or with the frame-0 canonical map, measured 1.19 and 1.25 at p90
    # here, the still head 1.01).
    assert np.median(seam_still) < 1.5
    assert np.percentile(seam_nod, 90) < np.percentile(seam_still, 90) + 0.05
    # The mouth sits where the frame's geometry puts the target lips, as well as on the still
    # head (the broken variants above: median 0.037 and 0.050 eye distances, the still head 0.025).
    assert np.median(err_still) < 0.05
    assert np.median(err_nod) < np.median(err_still) + 0.01 and err_nod.max() < err_still.max() + 0.015
