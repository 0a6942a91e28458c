"""WarpRenderer on a real photo's mouth (the astronaut, who smiles with her teeth showing):
identity, untouched pixels outside the contour, continuity in the keypoints, closing and
opening the mouth (her own teeth, also from a barely open reference), colour matching,
temporal stillness, bad input. How the rendered mouths read back through the face mesh:
test_warp_tracking.py."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("mediapipe")

from warp_fixtures import astronaut, target  # noqa: E402

from dhsdk.errors import InputError  # noqa: E402
from dhsdk.geometry import INNER, OUTER  # noqa: E402
from dhsdk.render.warp import WarpRenderer  # noqa: E402

S = 160  # smaller than the default 256: same code paths, faster tests


@pytest.fixture(scope="module")
def face() -> dict:
    return astronaut(S)


def renderer(face: dict, **kwargs) -> WarpRenderer:
    return WarpRenderer(face["mask"], face["lips"], face["crop"], face["lips"], **kwargs)


def polygon_mask(points: np.ndarray, erode: int = 0) -> np.ndarray:
    """(S, S) bool: pixels inside a polygon, optionally eroded by ``erode`` pixels."""
    import cv2

    m = np.zeros((S, S), np.uint8)
    cv2.fillPoly(m, [np.rint(points * 16).astype(np.int32)], 1, cv2.LINE_8, 4)
    if erode:
        m = cv2.erode(m, np.ones((2 * erode + 1, 2 * erode + 1), np.uint8))
    return m.astype(bool)


def teeth_like(img: np.ndarray) -> np.ndarray:
    """(S, S) bool: bright warm-white pixels, little red over green and green >= blue (teeth;
    on this photo bright lip pixels have R - G >= 32, teeth a median of 19, and the lips'
    specular highlight is pink: blue above green)."""
    f = img.astype(np.float64)
    return (f @ [0.299, 0.587, 0.114] > 170) & (f[..., 0] - f[..., 1] < 25) & (f[..., 1] >= f[..., 2])


def test_identity_returns_the_crop(face: dict) -> None:
    out = renderer(face).render(face["crop"], face["lips"], face["lips"])
    assert np.abs(out.astype(int) - face["crop"]).max() <= 1


def test_deterministic(face: dict) -> None:
    dst = target(face["lips"], S, jaw_open=0.7)
    assert np.array_equal(renderer(face).render(face["crop"], face["lips"], dst),
                          renderer(face).render(face["crop"], face["lips"], dst))


@pytest.mark.parametrize("coeffs", [{}, {"jaw_open": 1.0}, {"round": 1.0, "jaw_open": 0.3}, {"spread": 1.0}])
def test_pixels_outside_the_mask_are_unchanged(face: dict, coeffs: dict) -> None:
    out = renderer(face).render(face["crop"], face["lips"], target(face["lips"], S, **coeffs))
    outside = face["mask"] <= 0.0
    assert outside.mean() > 0.1
    assert np.array_equal(out[outside], face["crop"][outside])
    assert not np.array_equal(out, face["crop"])


def test_small_keypoint_changes_give_small_pixel_changes(face: dict) -> None:
    """Mean absolute pixel change per pixel of keypoint motion stays bounded (no jumps, no
    pasted patches) for target motions of 0.05 .. 0.4 px around several mouth shapes."""
    rng = np.random.default_rng(0)
    worst = 0.0
    for coeffs in ({}, {"jaw_open": 0.5}, {"jaw_open": 1.0}, {"round": 0.8, "jaw_open": 0.3}):
        base = target(face["lips"], S, **coeffs)
        r = renderer(face)
        ref = r.render(face["crop"], face["lips"], base).astype(np.float64)
        for step in (0.05, 0.1, 0.4):
            delta = rng.uniform(-step, step, base.shape).astype(np.float32)
            out = r.render(face["crop"], face["lips"], base + delta).astype(np.float64)
            worst = max(worst, np.abs(out - ref).mean() / np.abs(delta).max())
    # A mouth-sized region (~1/8 of the crop) whose pixels shift by <= 1 px per px of motion,
    # with image gradients of tens of levels per px, changes the crop mean by ~1-3 levels per
    # px (measured: <= 1.2); a discontinuity (a patch appearing) would cost tens per 0.05 px.
    assert worst < 2.5


def test_closing_an_open_mouth_leaves_no_teeth(face: dict) -> None:
    lips = face["lips"]
    assert teeth_like(face["crop"])[polygon_mask(lips[INNER])].mean() > 0.3   # she shows teeth
    closed = target(lips, S)
    out = renderer(face).render(face["crop"], lips, closed)
    assert teeth_like(out)[polygon_mask(closed[OUTER])].mean() < 0.01


def test_opening_a_closed_mouth_shows_the_teeth_bank(face: dict) -> None:
    lips = face["lips"]
    closed_lips = target(lips, S)
    closed = renderer(face).render(face["crop"], lips, closed_lips)
    wide = target(lips, S, jaw_open=1.0)
    out = renderer(face).render(closed, closed_lips, wide)      # teeth only from the reference
    inner = polygon_mask(wide[INNER], erode=1)
    assert inner.sum() > 200
    assert teeth_like(out)[inner].mean() > 0.15
    luma = out.astype(np.float64) @ [0.299, 0.587, 0.114]
    assert (luma[inner] < 60).mean() > 0.15                          # and a dark cavity


def test_a_slightly_open_reference_lends_its_teeth_to_a_wide_mouth(face: dict) -> None:
    """A reference only slightly open (GRID's is) still shows teeth: opened much wider than it,
    the mouth shows them hanging from the upper lip over a dark cavity, not a black slot."""
    lips = face["lips"]
    closed_lips = target(lips, S)
    closed = renderer(face).render(face["crop"], lips, closed_lips)
    slight_lips = target(lips, S, jaw_open=0.25)
    slight = renderer(face).render(face["crop"], lips, slight_lips)     # her own teeth, lips barely apart
    assert teeth_like(slight)[polygon_mask(slight_lips[INNER])].mean() > 0.1
    wide = target(lips, S, jaw_open=0.8)
    out = WarpRenderer(face["mask"], lips, slight, slight_lips).render(closed, closed_lips, wide)
    inner = polygon_mask(wide[INNER], erode=1)
    rows = np.nonzero(inner)[0]
    upper = inner & (np.arange(S)[:, None] < np.median(rows))
    assert teeth_like(out)[upper].mean() > 0.18                     # (before: 0.12)
    luma = out.astype(np.float64) @ [0.299, 0.587, 0.114]
    assert (luma[inner] < 90).mean() > 0.15                          # a cavity,
    assert (luma[inner] < 25).mean() < 0.05                          # not a black slot (before: 0.33)


def test_synthetic_teeth_without_a_teeth_bank(face: dict) -> None:
    """A reference with a closed mouth has no teeth to lend: the band is synthesised."""
    lips = face["lips"]
    closed_lips = target(lips, S)
    closed = renderer(face).render(face["crop"], lips, closed_lips)
    r = WarpRenderer(face["mask"], closed_lips, closed, closed_lips)
    wide = target(lips, S, jaw_open=1.0)
    out = r.render(closed, closed_lips, wide)
    inner = polygon_mask(wide[INNER], erode=1)
    luma = out.astype(np.float64) @ [0.299, 0.587, 0.114]
    assert (luma[inner] > 150).mean() > 0.15 and (luma[inner] < 60).mean() > 0.15


def test_colour_matching_follows_the_frame_lighting(face: dict) -> None:
    """Teeth taken from a bright reference are darkened to a darker frame's lighting."""
    lips = face["lips"]
    closed_lips = target(lips, S)
    closed = renderer(face).render(face["crop"], lips, closed_lips)
    dark = (closed.astype(np.float64) * 0.7).round().astype(np.uint8)
    wide = target(lips, S, jaw_open=1.0)
    inner = polygon_mask(wide[INNER], erode=1)
    bright_out = renderer(face).render(closed, closed_lips, wide)[inner].mean()
    matched = renderer(face).render(dark, closed_lips, wide)[inner].mean()
    unmatched = renderer(face, color_match=False).render(dark, closed_lips, wide)[inner].mean()
    assert abs(matched - 0.7 * bright_out) < 0.5 * abs(unmatched - 0.7 * bright_out)


def test_still_input_gives_an_exactly_still_mouth(face: dict) -> None:
    r = renderer(face, smoothing=0.7)
    dst = target(face["lips"], S, jaw_open=0.6)
    frames = [r.render(face["crop"], face["lips"], dst) for _ in range(4)]
    assert all(np.array_equal(frames[0], f) for f in frames[1:])


def test_smoothing_reduces_jitter(face: dict) -> None:
    rng = np.random.default_rng(1)
    dst = target(face["lips"], S, jaw_open=0.6)
    noisy = [dst + rng.normal(0, 0.4, dst.shape).astype(np.float32) for _ in range(12)]

    def jitter(r: WarpRenderer) -> float:
        frames = [r.render(face["crop"], face["lips"], d).astype(np.float64) for d in noisy]
        return float(np.mean([np.abs(a - b).mean() for a, b in zip(frames[4:], frames[5:])]))

    assert jitter(renderer(face, smoothing=0.8)) < 0.5 * jitter(renderer(face))


def test_openness_gain_opens_wider(face: dict) -> None:
    dst = target(face["lips"], S, jaw_open=0.5)
    dark = []
    for gain in (0.5, 1.0, 1.6):
        out = renderer(face, openness_gain=gain).render(face["crop"], face["lips"], dst)
        dark.append(int(((out.astype(np.float64) @ [0.299, 0.587, 0.114]) < 60).sum()))
    assert dark[0] < dark[1] < dark[2]


def test_bad_input_raises_value_error(face: dict) -> None:
    r = renderer(face)
    lips = face["lips"]
    nan = lips.copy()
    nan[3, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        r.render(face["crop"], lips, nan)
    with pytest.raises(ValueError, match="far outside"):
        r.render(face["crop"], lips + 10 * S, lips)
    with pytest.raises(ValueError, match=r"\(40, 2\)"):
        r.render(face["crop"], lips[:20], lips)
    with pytest.raises(ValueError, match=rf"\({S}, {S}, 3\)"):
        r.render(face["crop"][:-1], lips, lips)
    with pytest.raises(ValueError, match="uint8"):
        r.render(face["crop"].astype(np.float32), lips, lips)
    with pytest.raises(InputError, match="does not cover the mouth"):
        WarpRenderer(np.zeros((S, S), np.float32), lips, face["crop"], lips)


def test_from_avatar_on_the_avatar_api() -> None:
    from dhsdk.bench.synthetic import SyntheticAvatar
    from dhsdk.geometry import apply_affine

    avatar = SyntheticAvatar(240, 320, frames=4)
    r = WarpRenderer.from_avatar(avatar, size=128)
    assert r.crop_size == 128
    crop = np.random.default_rng(0).integers(0, 256, (128, 128, 3), dtype=np.uint8)
    src = apply_affine(avatar.canonical_to_crop(128), avatar.neutral_lips).astype(np.float32)
    dst = src.copy()
    dst[21:30, 1] += 12.0
    out = r.render(crop, src, dst)
    assert out.shape == crop.shape and out.dtype == np.uint8 and not np.array_equal(out, crop)
