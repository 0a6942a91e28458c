"""The mouth crop and mask on shapes with known answers: a square lower face, a crop centred
below the mouth, margins and feather in canonical units at any crop size."""
from __future__ import annotations

import numpy as np
import pytest

from dhsdk.avatar import mouth_region as mr
from dhsdk.geometry import apply_affine

# A 1.2 x 1.0 rectangle of "lower face" around the mouth, canonical units.
RECT = np.array([[-0.6, 0.5], [0.6, 0.5], [0.6, 1.5], [-0.6, 1.5]])


def test_crop_centre_is_below_the_mouth():
    lips = np.zeros((40, 2))
    lips[:20, 0] = np.linspace(-0.4, 0.4, 20)
    lips[:20, 1] = 1.0
    lips[20:] = 99.0  # inner ring is ignored
    assert mr.crop_centre(lips) == pytest.approx([0.0, 1.0 + mr.CROP_DROP])


@pytest.mark.parametrize("size", [64, 128, 257])
def test_canonical_to_crop_maps_the_extent_onto_the_crop(size):
    m = mr.canonical_to_crop(np.array([0.1, 1.0]), size)
    half = mr.CROP_EXTENT / 2
    pts = apply_affine(m, [[0.1, 1.0], [0.1 - half, 1.0 - half], [0.1 + half, 1.0 + half]])
    c = (size - 1) / 2
    assert pts[0] == pytest.approx([c, c])
    assert pts[2] - pts[1] == pytest.approx([size, size])   # extent units are `size` pixels


@pytest.mark.parametrize("size", [96, 256])
def test_mask_margin_and_feather(size):
    to_crop = mr.canonical_to_crop(np.array([0.0, 1.0]), size)
    mask = mr.mouth_mask(RECT, to_crop, size)
    px = size / mr.CROP_EXTENT
    # a row across the middle (y = 1.0): 0 outside the rectangle, rising over FEATHER after MARGIN
    row = mask[int(round(apply_affine(to_crop, [[0, 1.0]])[0, 1]))]
    x_edge = apply_affine(to_crop, [[-0.6, 1.0]])[0, 0]
    xs = np.arange(size)
    depth = (xs - x_edge) / px   # canonical units inside the left edge
    assert np.all(row[depth < mr.MARGIN - 0.02] == 0)
    assert np.all(row[(depth > mr.MARGIN + mr.FEATHER + 0.02) & (xs < size / 2)] == 1)
    ramp = (depth > mr.MARGIN + 0.02) & (depth < mr.MARGIN + mr.FEATHER - 0.02)
    assert np.all((row[ramp] > 0) & (row[ramp] < 1))
    assert np.all(np.diff(row[: size // 2]) >= -1e-6)   # monotone towards the middle


def test_mask_is_zero_at_the_crop_border_even_for_a_face_larger_than_the_crop():
    size = 128
    big = np.array([[-5.0, -5.0], [5.0, -5.0], [5.0, 5.0], [-5.0, 5.0]])
    mask = mr.mouth_mask(big, mr.canonical_to_crop(np.array([0.0, 1.0]), size), size)
    assert max(mask[0].max(), mask[-1].max(), mask[:, 0].max(), mask[:, -1].max()) == 0.0
    assert mask[size // 2, size // 2] == 1.0


def test_mask_scales_with_the_crop():
    """The same canonical shape gives the same mask at any size (resampled)."""
    import cv2

    small = mr.mouth_mask(RECT, mr.canonical_to_crop(np.array([0.0, 1.0]), 128), 128)
    large = mr.mouth_mask(RECT, mr.canonical_to_crop(np.array([0.0, 1.0]), 512), 512)
    down = cv2.resize(large, (128, 128), interpolation=cv2.INTER_AREA)
    # the distance transform quantises edges to a pixel: ~0.1 per pixel of the 128 px ramp on
    # the outline's pixels, 0.014 on average over the crop (measured)
    assert np.abs(down - small).mean() < 0.03
