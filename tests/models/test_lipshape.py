"""Lip-shape basis: neutral template matches the canonical mouth; coefficients act as named."""
import numpy as np

from dhsdk.geometry import CORNERS, INNER_BOTTOM, INNER_TOP
from dhsdk.models.lipshape import COEFFS, K, basis, coeffs_to_deltas, template


def test_template_and_zero():
    t = template()
    np.testing.assert_allclose(t[list(CORNERS)], [[-0.51, 0.87], [0.51, 0.87]], atol=1e-6)
    assert t[INNER_TOP, 1] == t[INNER_BOTTOM, 1]  # closed
    assert np.all(coeffs_to_deltas(np.zeros(K)) == 0)


def test_coefficients_do_what_they_say():
    t, b = template(), basis()
    c = dict(zip(COEFFS, b))
    opened = t + c["jaw_open"]
    assert opened[INNER_BOTTOM, 1] - opened[INNER_TOP, 1] > 0.3
    width = lambda p: p[CORNERS[1], 0] - p[CORNERS[0], 0]  # noqa: E731
    assert width(t + c["spread"]) > width(t) > width(t + c["round"])
    assert (t + c["upper_raise"])[15, 1] < t[15, 1]
    np.testing.assert_allclose(coeffs_to_deltas(np.eye(K)[[0, 2]]).sum(0), c["jaw_open"] + c["round"], atol=1e-6)
