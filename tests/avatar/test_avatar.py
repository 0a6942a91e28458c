"""The Avatar facade's geometry: canonical_to_crop, crop_affine and to_canonical agree with one
another, the neutral lips land in the mask's full-weight region of the crop, the mask is 0 on
the crop border and smooth, and the reference crop holds the reference lips."""
from __future__ import annotations

import numpy as np
import pytest

from dhsdk.avatar import mouth_region
from dhsdk.geometry import apply_affine, compose_affine, mouth_opening

SIZES = (128, 256)


@pytest.fixture(scope="module", params=["video", pytest.param("photo", marks=pytest.mark.slow)])
def avatar(request):
    """The moving clip's avatar, and (slow: built on first use) the default photo avatar."""
    if request.param == "photo":
        return request.getfixturevalue("default_avatar")
    return request.getfixturevalue("moving_avatar")[0]


@pytest.mark.parametrize("size", SIZES)
def test_crop_affine_inverts_the_canonical_chain(avatar, size):
    """crop_affine[i] (crop -> frame) after to_canonical[i] (frame -> canonical) after
    canonical_to_crop (canonical -> crop) is the identity, for every frame."""
    to_crop = avatar.canonical_to_crop(size)
    crop_affine = avatar.crop_affine(size)
    assert crop_affine.shape == (avatar.num_frames, 2, 3) and crop_affine.dtype == np.float32
    corners = np.array([[0, 0], [size - 1, 0], [size - 1, size - 1], [0, size - 1]], np.float64)
    for i in range(0, avatar.num_frames, 7):
        back = apply_affine(to_crop, apply_affine(avatar.to_canonical[i], apply_affine(crop_affine[i], corners)))
        assert np.abs(back - corners).max() < 1e-2 * size / 128   # float32 affines at frame coordinates


def test_crop_affine_is_cached_and_read_only(avatar):
    a = avatar.crop_affine(128)
    assert avatar.crop_affine(128) is a and not a.flags.writeable
    assert avatar.mouth_mask(128) is avatar.mouth_mask(128)


@pytest.mark.parametrize("size", SIZES)
def test_crop_holds_the_face_at_one_size(avatar, size):
    """The crop is CROP_EXTENT eye distances wide on every frame: its pixel size follows the face."""
    crop_affine = avatar.crop_affine(size).astype(np.float64)
    px_per_crop_px = np.sqrt(np.abs(np.linalg.det(crop_affine[:, :, :2])))
    eye = 1.0 / np.sqrt(np.abs(np.linalg.det(avatar.to_canonical[:, :, :2])))   # frame px per canonical unit
    assert px_per_crop_px == pytest.approx(eye * mouth_region.CROP_EXTENT / size, rel=1e-4)


@pytest.mark.parametrize("size", SIZES)
def test_neutral_lips_land_in_the_full_weight_mask(avatar, size):
    to_crop = avatar.canonical_to_crop(size)
    mask = avatar.mouth_mask(size)
    lips = apply_affine(to_crop, avatar.neutral_lips)
    assert lips.min() > 0 and lips.max() < size - 1
    ix = np.round(lips).astype(int)
    assert mask[ix[:, 1], ix[:, 0]].min() == pytest.approx(1.0)
    # The footage's own lips, mapped per frame: the corners and lower lip at full weight too.
    # The upper lip of an open smile (the astronaut's) is raised to within ~0.1 eye distances
    # of the nose, where the nostril guard's ramp begins (measured weight 0.74-0.97): only >= 0.7.
    for i in range(0, avatar.num_frames, 11):
        _assert_lips_in_mask(mask, apply_affine(compose_affine(to_crop, avatar.to_canonical[i]), avatar.lips[i]))


LOWER_AND_CORNERS = list(range(0, 11)) + list(range(20, 31))


def _assert_lips_in_mask(mask: np.ndarray, lips: np.ndarray) -> None:
    ix = np.round(lips).astype(int)
    w = mask[ix[:, 1], ix[:, 0]]
    assert w[LOWER_AND_CORNERS].min() > 0.99, w
    assert w.min() > 0.7, w


@pytest.mark.parametrize("size", SIZES)
def test_mask_is_zero_on_the_border_and_smooth(avatar, size):
    mask = avatar.mouth_mask(size)
    assert mask.shape == (size, size) and mask.dtype == np.float32
    assert 0.0 <= mask.min() and mask.max() == pytest.approx(1.0)
    border = np.concatenate([mask[0], mask[-1], mask[:, 0], mask[:, -1]])
    assert border.max() == 0.0
    # the smoothstep ramp is FEATHER canonical units wide: its steepest step is 1.5 / ramp px
    ramp_px = mouth_region.FEATHER * size / mouth_region.CROP_EXTENT
    step = max(np.abs(np.diff(mask, axis=0)).max(), np.abs(np.diff(mask, axis=1)).max())
    assert step <= 1.5 / ramp_px * 1.6   # 1.6: the L2 distance transform's 5x5 approximation
    assert (mask == 1).mean() > 0.15     # a real region, not a sliver


def test_mask_covers_the_chin_but_not_the_nose(avatar):
    """The nose tip (mesh 1) is outside the mask, the lower lip's middle well inside it."""
    size = 256
    to_crop = avatar.canonical_to_crop(size)
    mask = avatar.mouth_mask(size)
    i = avatar.idle_loop.start
    nose = apply_affine(compose_affine(to_crop, avatar.to_canonical[i]), avatar.landmarks[i][[1]])[0]
    x, y = np.round(nose).astype(int)
    if 0 <= x < size and 0 <= y < size:
        assert mask[y, x] == 0.0


def test_reference_crop(avatar):
    crop, lips = avatar.reference_crop(256)
    assert crop.shape == (256, 256, 3) and crop.dtype == np.uint8
    assert lips.shape == (40, 2) and lips.min() > 0 and lips.max() < 255
    _assert_lips_in_mask(avatar.mouth_mask(256), lips)
    assert crop.std() > 10   # a real image, not a flat fill
    # the reference is the most open mouth of the material (the astronaut shows her teeth)
    assert mouth_opening(lips) > 0


def test_frames_are_the_base_frames(avatar):
    f = avatar.frame(0)
    assert f.shape == (avatar.height, avatar.width, 3) and not f.flags.writeable
    with pytest.raises(IndexError):
        avatar.frame(avatar.num_frames)
    avatar.preload()
    assert avatar.idle_index(0) == avatar.idle_loop.start
