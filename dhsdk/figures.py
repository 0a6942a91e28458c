"""Saving the SDK's matplotlib figures (review, contact, eval and swap sheets, bench plots) as PNG.

One way for all of them: CJK-capable fonts on every text (:mod:`dhsdk.fonts`), a tight layout,
an atomic write (nothing at ``path`` until the PNG is complete) and the figure closed.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any


def save_png(fig: Any, path: str | Path, dpi: float = 100) -> Path:
    """Write the matplotlib figure ``fig`` to ``path`` as a PNG at ``dpi`` and close it.

    Returns:
        ``path`` as a Path.
    """
    import matplotlib.pyplot as plt

    from dhsdk.atomic import atomic_file
    from dhsdk.fonts import use_sheet_fonts

    use_sheet_fonts(fig)   # CJK text (names, speech) renders, not boxes
    # A CJK font without a bold face is drawn regular in bold titles: matplotlib says so on every
    # such text ("findfont: Failed to find font weight bold"), which is noise to the user.
    fonts_log = logging.getLogger("matplotlib.font_manager")
    level = fonts_log.level
    fonts_log.setLevel(logging.ERROR)
    try:
        fig.tight_layout()
        path = Path(path)
        with atomic_file(path) as tmp:
            fig.savefig(tmp, dpi=dpi, format="png")
    finally:
        fonts_log.setLevel(level)
        plt.close(fig)
    return path
