"""dhsdk.fonts: Chinese text in the PNG sheets renders with real glyphs, not empty boxes."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from dhsdk.fonts import sheet_fonts, use_sheet_fonts

TEXT = "这件连衣裙今天只要199元"


def draw(title: str, fonts: bool) -> tuple[np.ndarray, list[str]]:
    """The title drawn alone on a small figure: (grey image, matplotlib warnings)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(4, 0.6), dpi=100)
    fig.suptitle(title, fontsize=14)
    if fonts:
        use_sheet_fonts(fig)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.canvas.draw()
    image = np.asarray(fig.canvas.buffer_rgba())[..., :3].mean(axis=2)
    plt.close(fig)
    return image, [str(w.message) for w in caught]


def test_chinese_text_gets_real_glyphs():
    if len(sheet_fonts()) < 2:
        pytest.skip("no CJK font installed (bash scripts/install-system-deps.sh installs fonts-wqy-microhei)")
    boxes, missing = draw(TEXT, fonts=False)
    glyphs, none_missing = draw(TEXT, fonts=True)
    assert any("missing from font" in m for m in missing)          # the bug: DejaVu alone has no CJK
    assert not any("missing from font" in m for m in none_missing)
    # Every missing glyph is the same empty box, so two different words look alike; real glyphs differ.
    assert np.array_equal(draw("连衣裙", fonts=False)[0], draw("保温杯", fonts=False)[0])
    assert not np.array_equal(draw("连衣裙", fonts=True)[0], draw("保温杯", fonts=True)[0])
    assert not np.array_equal(boxes, glyphs)


def test_latin_text_keeps_the_default_font():
    plain, _ = draw("review PASS 25 fps", fonts=False)
    same, _ = draw("review PASS 25 fps", fonts=True)
    assert np.array_equal(plain, same)
