"""Multi-band blending against the direct per-band formula, and what it is for: no seam."""
from __future__ import annotations

import cv2
import numpy as np

from dhsdk.swap.blend import levels_for, multiband


def _two_pyramids(fg, bg, mask, levels):
    """Burt-Adelson with both Laplacian pyramids (the textbook form), float64 reference."""
    gf, gb, gm = [fg], [bg], [mask]
    for _ in range(levels):
        gf.append(cv2.pyrDown(gf[-1]))
        gb.append(cv2.pyrDown(gb[-1]))
        gm.append(cv2.pyrDown(gm[-1]))
    out = gm[-1][..., None] * gf[-1] + (1 - gm[-1][..., None]) * gb[-1]
    for k in range(levels - 1, -1, -1):
        size = (gf[k].shape[1], gf[k].shape[0])
        lf = gf[k] - cv2.pyrUp(gf[k + 1], dstsize=size)
        lb = gb[k] - cv2.pyrUp(gb[k + 1], dstsize=size)
        out = cv2.pyrUp(out, dstsize=size) + gm[k][..., None] * lf + (1 - gm[k][..., None]) * lb
    return out


def test_matches_two_pyramid_blend():
    rng = np.random.default_rng(0)
    fg = rng.uniform(0, 255, (96, 128, 3))
    bg = rng.uniform(0, 255, (96, 128, 3))
    mask = np.zeros((96, 128))
    mask[20:70, 30:100] = 1.0
    got = multiband(fg.astype(np.float32), bg.astype(np.float32), mask.astype(np.float32), 4)
    np.testing.assert_allclose(got, _two_pyramids(fg, bg, mask, 4), atol=1e-2)   # float32 pyramids


def test_no_step_at_the_border():
    """Two flat images of different colour, hard mask: a paste jumps by the full difference at
    the border, the blend spreads it so no two neighbouring pixels differ by more than a few
    grey levels."""
    fg = np.full((128, 128, 3), 200, np.float32)
    bg = np.full((128, 128, 3), 100, np.float32)
    mask = np.zeros((128, 128), np.float32)
    mask[:, 64:] = 1.0
    out = multiband(fg, bg, mask, levels_for(128))
    assert np.abs(np.diff(out[64, :, 0])).max() < 12.0
    assert abs(out[64, 5, 0] - 100) < 2 and abs(out[64, 122, 0] - 200) < 2
    assert levels_for(64) == 3 and levels_for(10) == 2
