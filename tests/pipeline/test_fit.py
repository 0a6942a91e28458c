"""CoverFit: any output size, no distortion, the face kept in view."""
from __future__ import annotations

import numpy as np
import pytest

from dhsdk.pipeline.fit import CoverFit


def _disc(w: int, h: int, cx: float, cy: float, r: float) -> np.ndarray:
    ys, xs = np.mgrid[0:h, 0:w]
    img = np.zeros((h, w, 3), np.uint8)
    img[(xs - cx) ** 2 + (ys - cy) ** 2 <= r * r] = 255
    return img


@pytest.mark.parametrize("src,dst", [((768, 1024), (720, 1280)), ((768, 1024), (1080, 1920)),
                                     ((1280, 720), (720, 1280)), ((720, 1280), (1280, 720)),
                                     ((600, 800), (300, 400))])
def test_a_disc_stays_round_and_in_view(src, dst):
    w, h = src
    focus = (0.3 * w, 0.4 * h)
    fit = CoverFit(src, dst, focus)
    out = fit(_disc(w, h, *focus, r=0.08 * min(w, h)))
    assert out.shape == (dst[1], dst[0], 3)
    ys, xs = np.nonzero(out[..., 0] > 127)
    assert len(xs), "the focus point was cropped away"
    width, height = np.ptp(xs) + 1, np.ptp(ys) + 1
    assert abs(width / height - 1.0) < 0.05          # no stretching
    centre = fit.point(np.array(focus))
    assert np.allclose([xs.mean(), ys.mean()], centre, atol=1.5)   # point() maps like the image


def test_same_size_is_untouched():
    img = np.random.default_rng(0).integers(0, 256, (64, 48, 3), dtype=np.uint8)
    assert CoverFit((48, 64), (48, 64), (10, 10))(img) is img


def test_focus_near_an_edge_is_clamped_inside_the_frame():
    fit = CoverFit((1000, 1000), (500, 1000), (0.0, 500.0))
    x0, y0, ww, wh = fit.window
    assert x0 == 0 and ww == 500 and wh == 1000


def test_a_fitted_avatar_renders_at_the_output_size_what_resizing_the_render_gives():
    """LipSync(size=...) renders natively at the output size; the frame equals the native render
    resized (the two orders of resampling differ by a grey level or two, nothing more), and
    the base frame outside the mouth is exactly the fitted base frame."""
    from dhsdk.bench.synthetic import SyntheticAvatar
    from dhsdk.pipeline.fit import FittedAvatar
    from dhsdk.pipeline.lipsync import LipSync

    avatar = SyntheticAvatar(240, 320, frames=4)
    native = LipSync(avatar, mouth="warp", device="cpu")
    fitted = LipSync(avatar, mouth="warp", device="cpu", size=(180, 320))
    assert isinstance(fitted.avatar, FittedAvatar) and (fitted.avatar.width, fitted.avatar.height) == (180, 320)
    delta = np.zeros((40, 2), np.float32)
    delta[21:30, 1] = delta[1:10, 1] = 0.15
    lips = native.target_lips(delta, 1.0)
    want = native.fit((180, 320))(native.frame(2, lips))
    got = fitted.frame(2, lips)
    assert got.shape == (320, 180, 3)
    diff = np.abs(got.astype(int) - want)
    assert np.median(diff) == 0 and np.percentile(diff, 99) <= 3
    np.testing.assert_array_equal(fitted.avatar.frame(2), native.fit((180, 320))(avatar.frame(2)))
    # the fitted geometry maps the face where the fit moved it
    a = fitted.avatar.fit.affine
    from dhsdk.geometry import apply_affine, invert_affine

    np.testing.assert_allclose(apply_affine(invert_affine(fitted.avatar.to_canonical[1]), [0.0, 1.0]),
                               apply_affine(a, apply_affine(invert_affine(avatar.to_canonical[1]), [0.0, 1.0])),
                               atol=1e-6)
