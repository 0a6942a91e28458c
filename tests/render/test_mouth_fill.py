"""The warp renderer's teeth bank on a real photo's mouth (the astronaut, teeth showing): the
redness key finds her teeth and nothing in a closed mouth, the per-column band covers her
teeth and stops at her lower lip, and the bank's colours follow the frame."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("mediapipe")

from warp_fixtures import astronaut, target  # noqa: E402

from dhsdk.geometry import INNER  # noqa: E402
from dhsdk.render.mouth_fill import MouthBank, redness, teeth_key, teeth_lut  # noqa: E402
from dhsdk.render.warp import WarpRenderer  # noqa: E402

S = 160


@pytest.fixture(scope="module")
def face() -> dict:
    return astronaut(S)


def test_the_key_separates_her_teeth_from_her_lips(face: dict) -> None:
    key = teeth_key(face["crop"], face["lips"])
    assert 0.0 < key[0] < key[1]
    import cv2

    crop = face["crop"].astype(np.float64)
    bright = crop @ [0.299, 0.587, 0.114] > 200           # inside her mouth: her teeth
    m = np.zeros((S, S), np.uint8)
    cv2.fillPoly(m, [np.rint(face["lips"][INNER]).astype(np.int32)], 1)
    inner = m > 0
    assert (redness(crop[inner & bright]) < 0.5 * sum(key)).mean() > 0.9
    cv2.fillPoly(m, [np.rint(face["lips"][:20]).astype(np.int32)], 2)
    cv2.fillPoly(m, [np.rint(face["lips"][INNER]).astype(np.int32)], 0)
    assert (redness(crop[m == 2]) > 0.5 * sum(key)).mean() > 0.8        # her lips are not teeth


def test_a_closed_mouth_has_no_teeth(face: dict) -> None:
    lips = face["lips"]
    closed_lips = target(lips, S)
    closed = WarpRenderer(face["mask"], lips, face["crop"], lips).render(face["crop"], lips, closed_lips)
    assert teeth_key(closed, closed_lips) == (0.0, 0.0)
    assert not teeth_lut(closed, closed_lips, (0.0, 0.0)).any()
    bank = MouthBank(closed, closed_lips, face["mask"])
    assert bank.key == (0.0, 0.0) and not bank.lut.any()


def test_the_band_covers_her_teeth_and_stops_at_her_lip(face: dict) -> None:
    lips, crop = face["lips"], face["crop"]
    key = teeth_key(crop, lips)
    lut = teeth_lut(crop, lips, key)
    cols = np.flatnonzero(lut[:, 1] > lut[:, 0])
    centre = int(round(0.5 * (lips[25, 0] + lips[35, 0])))
    assert cols.min() < centre < cols.max()
    top, bottom = lut[centre]
    assert top <= lips[35, 1] + 1.0                                      # from her upper lip ...
    assert bottom <= lips[25, 1] + 1.0                                   # ... not into her lower lip
    rows = np.arange(int(np.ceil(top)), int(bottom) + 1)
    assert (redness(crop[rows, centre].astype(np.float64)) < 0.5 * sum(key)).mean() > 0.6
    bank = MouthBank(crop, lips, face["mask"])
    assert redness(bank.teeth) < key[0] and bank.teeth.mean() > 180   # her own teeth's colour


def test_colours_follow_the_frame(face: dict) -> None:
    bank = MouthBank(face["crop"], face["lips"], face["mask"])
    same = bank.colours(face["crop"])
    assert np.allclose(same.gain, 1.0) and np.allclose(same.offset, 0.0, atol=1e-6)
    dark = bank.colours((face["crop"] * 0.7).astype(np.uint8))
    assert (np.array(dark.teeth) < 0.8 * np.array(same.teeth)).all()
    assert (np.array(dark.cavity) <= np.array(same.cavity)).all()
